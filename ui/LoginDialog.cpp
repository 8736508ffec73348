#include "LoginDialog.h"

#include "async/WhenReady.h"
#include "keychain/SecretStore.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

namespace ledger {

LoginDialog::LoginDialog(ConsoleSession *session, SecretStore *secrets, QWidget *parent)
    : QDialog(parent)
    , m_session(session)
    , m_secrets(secrets)
{
    setObjectName(QStringLiteral("LoginDialog"));
    setWindowTitle(tr("Sign in — Ledger Console"));
    auto *layout = new QVBoxLayout(this);
    auto *form = new QFormLayout;
    m_host = new QLineEdit(this);
    m_host->setObjectName(QStringLiteral("host"));
    m_host->setToolTip(tr("Server host name, or the directory of its Unix socket"));
    m_port = new QSpinBox(this);
    m_port->setRange(1, 65535);
    m_database = new QLineEdit(this);
    m_database->setObjectName(QStringLiteral("database"));
    m_sslMode = new QComboBox(this);
    m_sslMode->setObjectName(QStringLiteral("sslMode"));
    m_sslMode->addItems(ServerProfile::sslModes());
    m_sslMode->setAccessibleName(tr("TLS mode"));
    m_caFile = new QLineEdit(this);
    m_caFile->setObjectName(QStringLiteral("caFile"));
    m_caFile->setPlaceholderText(tr("~/.postgresql/root.crt"));
    m_caFile->setToolTip(
        tr("The CA certificate that vouches for the server (verify-full, verify-ca)"));
    m_tls = new QLabel(this);
    m_tls->setObjectName(QStringLiteral("tlsDescription"));
    m_tls->setWordWrap(true);
    m_tls->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_tls->setContentsMargins(0, 2, 0, 8);
    m_operator = new QLineEdit(this);
    m_operator->setObjectName(QStringLiteral("operator"));
    m_secret = new QLineEdit(this);
    m_secret->setObjectName(QStringLiteral("secret"));
    m_secret->setEchoMode(QLineEdit::Password);
    m_remember =
        new QCheckBox(tr("&Remember the secret on this computer (in the system keychain)"), this);
    m_remember->setObjectName(QStringLiteral("remember"));
    form->addRow(tr("&Server:"), m_host);
    form->addRow(tr("&Port:"), m_port);
    form->addRow(tr("&Database:"), m_database);
    form->addRow(tr("&TLS:"), m_sslMode);
    form->addRow(tr("&CA certificate:"), m_caFile);
    form->addRow(m_tls);
    form->addRow(tr("&Operator:"), m_operator);
    form->addRow(tr("S&ecret:"), m_secret);
    layout->addLayout(form);
    layout->addWidget(m_remember);
    m_message = new QLabel(this);
    // Plain text: it shows values from the database (or messages quoting them).
    m_message->setTextFormat(Qt::PlainText);
    m_message->setObjectName(QStringLiteral("message"));
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_message);
    // Wide enough for the TLS explanation to wrap into a few lines.
    setMinimumWidth(fontMetrics().averageCharWidth() * 72);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("&Sign in"));
    layout->addWidget(m_buttons);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &LoginDialog::signIn);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_operator, &QLineEdit::editingFinished, this, &LoginDialog::lookUpStoredSecret);
    // The stored secret belongs to one operator on one server: another server, another look-up.
    connect(m_host, &QLineEdit::editingFinished, this, &LoginDialog::lookUpStoredSecret);
    connect(m_port, &QSpinBox::editingFinished, this, &LoginDialog::lookUpStoredSecret);
    connect(m_database, &QLineEdit::editingFinished, this, &LoginDialog::lookUpStoredSecret);
    // Another server: its own remembered TLS settings, or the default for its host.
    connect(m_host, &QLineEdit::editingFinished, this, &LoginDialog::applyRememberedTls);
    connect(m_port, &QSpinBox::editingFinished, this, &LoginDialog::applyRememberedTls);
    connect(m_database, &QLineEdit::editingFinished, this, &LoginDialog::applyRememberedTls);
    connect(m_sslMode, &QComboBox::currentTextChanged, this, &LoginDialog::describeTls);
    connect(m_caFile, &QLineEdit::textChanged, this, &LoginDialog::describeTls);
    connect(m_host, &QLineEdit::textChanged, this, &LoginDialog::describeTls);
    connect(m_session, &ConsoleSession::signedIn, this, &LoginDialog::onSignedIn);
    connect(m_session, &ConsoleSession::signInFailed, this, &LoginDialog::onFailed);

    // The profile, never a secret, is remembered between runs; its TLS settings per server
    // (setProfile looks them up). An older global "signin/sslmode" is not used: it would
    // weaken the default for a server on the network.
    QSettings settings;
    ServerProfile p;
    p.host = settings.value(QStringLiteral("signin/host"), p.host).toString();
    p.port = settings.value(QStringLiteral("signin/port"), p.port).toInt();
    p.database = settings.value(QStringLiteral("signin/database"), p.database).toString();
    setProfile(p);
    setOperator(settings.value(QStringLiteral("signin/operator")).toString());
}

namespace {

QString tlsSettingsGroup(const ServerProfile &p)
{
    // One group per server; "/" would nest groups.
    return QStringLiteral("signin/tls/") +
           QString::fromLatin1(p.key().toUtf8().toPercentEncoding());
}

} // namespace

void LoginDialog::setProfile(const ServerProfile &profile)
{
    m_host->setText(profile.host);
    m_port->setValue(profile.port);
    m_database->setText(profile.database);
    if (profile.sslMode.isEmpty()) {
        m_tlsServer.clear();
        applyRememberedTls();
    } else {
        m_sslMode->setCurrentText(profile.sslMode);
        m_caFile->setText(profile.sslRootCert);
        m_tlsServer = this->profile().key();
    }
    describeTls();
}

void LoginDialog::applyRememberedTls()
{
    const ServerProfile p = profile();
    // Leaving a field (editingFinished) is no reason to undo the user's choice: only another
    // server is.
    if (p.key() == m_tlsServer)
        return;
    m_tlsServer = p.key();
    QSettings settings;
    settings.beginGroup(tlsSettingsGroup(p));
    const QString mode = settings.value(QStringLiteral("sslmode")).toString();
    m_sslMode->setCurrentText(
        ServerProfile::sslModes().contains(mode) ? mode : ServerProfile::defaultSslMode(p.host));
    m_caFile->setText(settings.value(QStringLiteral("sslrootcert")).toString());
    settings.endGroup();
    describeTls();
}

void LoginDialog::describeTls()
{
    const ServerProfile p = profile();
    // Paths in the home directory as "~/...", as people write them.
    QString caFile = p.effectiveRootCert();
    if (const QString home = QDir::homePath(); caFile.startsWith(home + QLatin1Char('/')))
        caFile = QLatin1Char('~') + caFile.mid(home.size());
    const QString mode = p.effectiveSslMode();
    const bool socket = ServerProfile::isSocketDirectory(p.host);
    const bool local = ServerProfile::isLocalHost(p.host);
    m_caFile->setEnabled(!socket && mode != QLatin1String("disable"));
    QString text;
    if (socket) {
        text = tr("TLS mode %1: not used on a local socket; the connection does not leave this "
                  "computer.")
                   .arg(mode);
    } else if (mode == QLatin1String("verify-full")) {
        text = tr("TLS mode verify-full: encrypted, and the server must prove it is %1 with a "
                  "certificate signed by the CA in %2.")
                   .arg(p.host, caFile);
    } else if (mode == QLatin1String("verify-ca")) {
        text = tr("TLS mode verify-ca: encrypted; the server's certificate must be signed by the "
                  "CA in %1, but its name is not checked.")
                   .arg(caFile);
    } else if (mode == QLatin1String("require")) {
        text = tr("TLS mode require: encrypted, but the server's identity is not checked: a "
                  "machine in between could pose as the server.");
    } else if (mode == QLatin1String("prefer")) {
        text = tr("TLS mode prefer: encrypted only if the server offers it, and the server's "
                  "identity is not checked.");
    } else {
        text = tr("TLS mode disable: not encrypted; the secret and the data cross the network "
                  "in the clear.");
    }
    const bool weak = !socket && !local && mode != QLatin1String("verify-full") &&
                      mode != QLatin1String("verify-ca");
    if (weak)
        text += QLatin1Char(' ') + tr("For a server on the network, use verify-full.");
    m_tls->setText(text);
    m_tls->setStyleSheet(weak ? QStringLiteral("color: #b03a2e;") : QString());
    // A form row spanning both columns does not ask a wrapped label for its height at the
    // width it gets, so the lines past the first were cut off: the label asks for the
    // height it needs at the dialog's narrowest (wider, it needs no more).
    const QMargins margins = layout()->contentsMargins();
    m_tls->setMinimumHeight(
        m_tls->heightForWidth(minimumWidth() - margins.left() - margins.right()));
}

QString LoginDialog::tlsDescription() const
{
    return m_tls->text();
}

void LoginDialog::setOperator(const QString &name, bool locked)
{
    m_operator->setText(name);
    m_operator->setReadOnly(locked);
    // Signing in again to a locked window: the same operator on the same server, as secure
    // as before. Only the secret is asked for (a stored one is for exactly that server).
    m_locked = locked;
    m_host->setReadOnly(locked);
    m_port->setReadOnly(locked);
    m_database->setReadOnly(locked);
    m_sslMode->setEnabled(!locked);
    m_caFile->setReadOnly(locked);
    if (!name.isEmpty())
        lookUpStoredSecret();
}

void LoginDialog::setSecret(const QString &secret)
{
    m_secret->setText(secret);
}

void LoginDialog::setRemember(bool remember)
{
    m_remember->setChecked(remember && m_keychainAvailable);
}

void LoginDialog::setMessage(const QString &text)
{
    m_message->setText(text);
}

ServerProfile LoginDialog::profile() const
{
    ServerProfile p;
    p.host = m_host->text().trimmed();
    p.port = m_port->value();
    p.database = m_database->text().trimmed();
    p.sslMode = m_sslMode->currentText();
    p.sslRootCert = m_caFile->text().trimmed();
    return p;
}

QString LoginDialog::operatorName() const
{
    return m_operator->text().trimmed();
}

QString LoginDialog::keychainKey() const
{
    const ServerProfile p = profile();
    return QStringLiteral("%1@%2:%3/%4").arg(operatorName(), p.host).arg(p.port).arg(p.database);
}

void LoginDialog::lookUpStoredSecret()
{
    if (!m_secrets || operatorName().isEmpty() || m_lookedUpKey == keychainKey())
        return;
    const QString key = m_lookedUpKey = keychainKey();
    m_storedSecret.clear();
    m_secret->setPlaceholderText(QString());
    whenReady(m_secrets->read(key), this, [this, key](const Result<QString> &r) {
        if (key != keychainKey())
            return; // the fields changed meanwhile
        if (r) {
            m_storedSecret = r.value();
            m_secret->setPlaceholderText(tr("stored in this computer's keychain"));
            m_remember->setChecked(true);
        } else if (r.error().kind != Error::Kind::NotFound) {
            // No keychain (or it refused): typing still works; nothing is stored anywhere.
            m_keychainAvailable = false;
            m_remember->setChecked(false);
            m_remember->setEnabled(false);
            m_remember->setToolTip(r.error().message);
            m_message->setText(r.error().message);
        }
        Q_EMIT storedSecretLookedUp(r.ok());
    });
}

void LoginDialog::setBusy(bool busy)
{
    for (QWidget *w : std::initializer_list<QWidget *>{m_host, m_port, m_database, m_sslMode,
                                                       m_caFile, m_operator, m_secret, m_remember})
        w->setEnabled(!busy && (w != m_remember || m_keychainAvailable) &&
                      (w != m_sslMode || !m_locked));
    if (!busy)
        describeTls(); // (the CA field only where it applies)
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(!busy);
    if (busy)
        m_message->setText(tr("Signing in…"));
}

void LoginDialog::signIn()
{
    if (operatorName().isEmpty()) {
        m_message->setText(tr("Type your operator name."));
        return;
    }
    // A stored secret goes only to the server and operator it was stored for: if a field
    // changed since it was looked up, it is not sent (and the new key is looked up).
    const bool storedIsForThis = m_lookedUpKey == keychainKey();
    if (!storedIsForThis) {
        m_storedSecret.clear();
        m_secret->setPlaceholderText(QString());
        lookUpStoredSecret();
    }
    const QString secret = m_secret->text().isEmpty() ? m_storedSecret : m_secret->text();
    if (secret.isEmpty()) {
        m_message->setText(tr("Type your secret."));
        return;
    }
    setBusy(true);
    m_session->signIn(profile(), operatorName(), secret);
    if (m_companion)
        m_companion->signIn(m_companionProfile, operatorName(), secret);
}

void LoginDialog::setCompanion(ConsoleSession *session, const ServerProfile &profile)
{
    m_companion = session;
    m_companionProfile = profile;
}

void LoginDialog::onSignedIn()
{
    if (!isVisible())
        return;
    QSettings settings;
    const ServerProfile p = profile();
    settings.setValue(QStringLiteral("signin/host"), p.host);
    settings.setValue(QStringLiteral("signin/port"), p.port);
    settings.setValue(QStringLiteral("signin/database"), p.database);
    settings.setValue(QStringLiteral("signin/operator"), operatorName());
    settings.beginGroup(tlsSettingsGroup(p));
    settings.setValue(QStringLiteral("sslmode"), p.sslMode);
    settings.setValue(QStringLiteral("sslrootcert"), p.sslRootCert);
    settings.endGroup();
    if (m_secrets && m_keychainAvailable) {
        if (m_remember->isChecked() && !m_secret->text().isEmpty())
            m_secrets->write(keychainKey(),
                             m_secret->text()); // asynchronous; the dialog need not wait
        else if (!m_remember->isChecked() && !m_storedSecret.isEmpty())
            m_secrets->remove(keychainKey());
    }
    m_secret->clear();
    m_storedSecret.clear();
    m_lookedUpKey.clear();
    setBusy(false);
    m_message->clear();
    accept();
}

void LoginDialog::onFailed(const ledger::Error &error)
{
    if (!isVisible())
        return;
    setBusy(false);
    m_message->setText(error.message);
    m_message->setToolTip(error.detail);
    m_secret->selectAll();
    m_secret->setFocus();
}

} // namespace ledger
