#include "ServerProfile.h"

#include <QDir>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace ledger {

bool ServerProfile::isSocketDirectory(const QString &host)
{
    return host.startsWith(QLatin1Char('/')) || host.startsWith(QLatin1Char('@'));
}

bool ServerProfile::isLocalHost(const QString &host)
{
    const QString h = host.trimmed();
    if (h.isEmpty())
        return false;
    if (isSocketDirectory(h) || h.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0)
        return true;
    const QByteArray text = h.toLatin1();
    in_addr v4{};
    if (inet_pton(AF_INET, text.constData(), &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    if (inet_pton(AF_INET6, text.constData(), &v6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&v6))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
    }
    return false;
}

QString ServerProfile::defaultSslMode(const QString &host)
{
    return isLocalHost(host) ? QStringLiteral("prefer") : QStringLiteral("verify-full");
}

QStringList ServerProfile::sslModes()
{
    return {QStringLiteral("verify-full"), QStringLiteral("verify-ca"), QStringLiteral("require"),
            QStringLiteral("prefer"), QStringLiteral("disable")};
}

QString ServerProfile::effectiveSslMode() const
{
    return sslMode.isEmpty() ? defaultSslMode(host) : sslMode;
}

QString ServerProfile::effectiveRootCert() const
{
    return sslRootCert.isEmpty() ? QDir::homePath() + QStringLiteral("/.postgresql/root.crt")
                                 : sslRootCert;
}

QString ServerProfile::key() const
{
    return QStringLiteral("%1:%2/%3").arg(host).arg(port).arg(database);
}

} // namespace ledger
