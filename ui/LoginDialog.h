#pragma once

#include "domain/Error.h"
#include "session/ConsoleSession.h"

#include <QDialog>
#include <QPointer>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace ledger {

class SecretStore;

// Sign-in: server profile, operator, and the operator's secret, typed or taken from the
// OS keychain ("remember on this computer"). The secret goes to the keychain or nowhere:
// never to QSettings, files or logs. Keychain and database calls are asynchronous.
//
// TLS: the mode in use is shown and explained under the server fields. A server that is
// not local gets verify-full unless the user chose otherwise for it; the mode and CA
// certificate chosen for a server are remembered per server (QSettings) after a sign-in.
class LoginDialog : public QDialog
{
    Q_OBJECT

public:
    LoginDialog(ConsoleSession *session, SecretStore *secrets, QWidget *parent = nullptr);

    // Pre-fills (e.g. from the command line); the operator field is locked on re-auth.
    void setProfile(const ServerProfile &profile);
    void setOperator(const QString &name, bool locked = false);
    // A secret handed over by the caller (the demo set-up pipes one in); used once.
    void setSecret(const QString &secret);
    void setMessage(const QString &text);
    void setRemember(bool remember);

    ServerProfile profile() const;
    QString operatorName() const;
    // The explanation of the TLS mode in use, as shown.
    QString tlsDescription() const;

    // A second session signed in with the same operator and secret at the same time, to its
    // own server: the reporting store's. Its outcome does not hold up the console's sign-in
    // (the Reports tab and the status bar say when it failed). Held weakly.
    void setCompanion(ConsoleSession *session, const ServerProfile &profile);

    // Starts sign-in as if the user pressed the button (tests, the demo).
    void signIn();

Q_SIGNALS:
    // The keychain answered the look-up of a stored secret for the server and operator in
    // the fields (GUI thread): found (the dialog offers it), or not (none stored, or no
    // keychain, which the dialog then says). An answer for fields changed meanwhile is
    // dropped unannounced; the look-up for the new fields answers instead.
    void storedSecretLookedUp(bool found);

private:
    void lookUpStoredSecret();
    void onSignedIn();
    void onFailed(const ledger::Error &error);
    void setBusy(bool busy);
    QString keychainKey() const;
    // The TLS mode and CA remembered for the server now in the fields, or the defaults.
    void applyRememberedTls();
    void describeTls();

    ConsoleSession *m_session;
    QPointer<ConsoleSession> m_companion;
    ServerProfile m_companionProfile;
    SecretStore *m_secrets;
    QLineEdit *m_host = nullptr;
    QSpinBox *m_port = nullptr;
    QLineEdit *m_database = nullptr;
    QComboBox *m_sslMode = nullptr;
    QLineEdit *m_caFile = nullptr;
    QLabel *m_tls = nullptr;
    QLineEdit *m_operator = nullptr;
    QLineEdit *m_secret = nullptr;
    QCheckBox *m_remember = nullptr;
    QLabel *m_message = nullptr;
    QDialogButtonBox *m_buttons = nullptr;
    QString m_storedSecret; // from the keychain, in memory while the dialog is open
    QString m_lookedUpKey;
    QString m_tlsServer; // the server whose TLS settings the fields show (ServerProfile::key)
    bool m_keychainAvailable = true;
    bool m_locked = false; // signing in again to a locked window: the server fields are fixed
};

} // namespace ledger
