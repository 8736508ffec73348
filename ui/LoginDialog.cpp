#include "LoginDialog.h"

#include "async/WhenReady.h"
#include "keychain/SecretStore.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
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
    m_sslMode = new QComboBox(this);
    m_sslMode->addItems({QStringLiteral("prefer"), QStringLiteral("require"),
                         QStringLiteral("verify-full"), QStringLiteral("disable")});
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
    form->addRow(tr("&Operator:"), m_operator);
    form->addRow(tr("S&ecret:"), m_secret);
    layout->addLayout(form);
    layout->addWidget(m_remember);
    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("message"));
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_message);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("&Sign in"));
    layout->addWidget(m_buttons);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &LoginDialog::signIn);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_operator, &QLineEdit::editingFinished, this, &LoginDialog::lookUpStoredSecret);
    connect(m_session, &ConsoleSession::signedIn, this, &LoginDialog::onSignedIn);
    connect(m_session, &ConsoleSession::signInFailed, this, &LoginDialog::onFailed);

    // The profile, never a secret, is remembered between runs.
    QSettings settings;
    ServerProfile p;
    p.host = settings.value(QStringLiteral("signin/host"), p.host).toString();
    p.port = settings.value(QStringLiteral("signin/port"), p.port).toInt();
    p.database = settings.value(QStringLiteral("signin/database"), p.database).toString();
    p.sslMode = settings.value(QStringLiteral("signin/sslmode"), p.sslMode).toString();
    setProfile(p);
    setOperator(settings.value(QStringLiteral("signin/operator")).toString());
}

void LoginDialog::setProfile(const ServerProfile &profile)
{
    m_host->setText(profile.host);
    m_port->setValue(profile.port);
    m_database->setText(profile.database);
    m_sslMode->setCurrentText(profile.sslMode);
}

void LoginDialog::setOperator(const QString &name, bool locked)
{
    m_operator->setText(name);
    m_operator->setReadOnly(locked);
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
    });
}

void LoginDialog::setBusy(bool busy)
{
    for (QWidget *w : std::initializer_list<QWidget *>{m_host, m_port, m_database, m_sslMode,
                                                       m_operator, m_secret, m_remember})
        w->setEnabled(!busy && (w != m_remember || m_keychainAvailable));
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
    const QString secret = m_secret->text().isEmpty() ? m_storedSecret : m_secret->text();
    if (secret.isEmpty()) {
        m_message->setText(tr("Type your secret."));
        return;
    }
    setBusy(true);
    m_session->signIn(profile(), operatorName(), secret);
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
    settings.setValue(QStringLiteral("signin/sslmode"), p.sslMode);
    settings.setValue(QStringLiteral("signin/operator"), operatorName());
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
