#pragma once

#include <QString>
#include <QStringList>

namespace ledger {

// Where the console signs in: the server, the database and how the connection is secured;
// never a user or a secret (QSettings may keep a profile, one per server).
struct ServerProfile
{
    QString host = QStringLiteral("localhost"); // a host name, an IP address, or a socket directory
    int port = 5432;
    QString database = QStringLiteral("ledger");
    // libpq's sslmode: verify-full, verify-ca, require, prefer or disable. Empty: the default
    // for the host (defaultSslMode).
    QString sslMode;
    // CA certificates that vouch for the server (verify-ca, verify-full). Empty: libpq's usual
    // place, ~/.postgresql/root.crt.
    QString sslRootCert;

    // A Unix socket directory (an absolute path; "@name" for the abstract namespace).
    static bool isSocketDirectory(const QString &host);
    // Local: a socket directory, "localhost", or a loopback address (127.0.0.0/8, ::1). The
    // connection never leaves the machine, so TLS adds little there.
    static bool isLocalHost(const QString &host);
    // verify-full for every server that is not local (a server must prove who it is before
    // it sees a secret); prefer for local ones.
    static QString defaultSslMode(const QString &host);
    // The TLS modes the console offers, strongest first.
    static QStringList sslModes();

    QString effectiveSslMode() const;  // sslMode, or the default for the host
    QString effectiveRootCert() const; // sslRootCert, or ~/.postgresql/root.crt
    // Identifies the server for remembered settings and the keychain: "host:port/database".
    QString key() const;
};

} // namespace ledger
