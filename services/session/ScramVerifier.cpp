#include "ScramVerifier.h"

#include <QByteArray>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace ledger::ScramVerifier {

namespace {

QByteArray randomBytes(int n)
{
    QByteArray out(n, Qt::Uninitialized);
    if (RAND_bytes(reinterpret_cast<unsigned char *>(out.data()), n) != 1)
        qFatal("ledger: the system's random number generator failed");
    return out;
}

QByteArray hmacSha256(const QByteArray &key, const QByteArray &data)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.constData(), int(key.size()),
         reinterpret_cast<const unsigned char *>(data.constData()), size_t(data.size()), out,
         &length);
    return QByteArray(reinterpret_cast<const char *>(out), int(length));
}

} // namespace

Result<QString> compute(const QString &password, int iterations)
{
    if (password.isEmpty())
        return Error::make(Error::Kind::Input, QStringLiteral("The password is empty."));
    for (const QChar c : password) {
        if (c.unicode() < 0x21 || c.unicode() > 0x7e)
            return Error::make(Error::Kind::Input,
                               QStringLiteral("Secrets may hold only printable ASCII characters "
                                              "(letters, digits and punctuation, no spaces)."));
    }
    if (iterations < 4096)
        return Error::make(Error::Kind::Input,
                           QStringLiteral("A SCRAM verifier needs at least 4096 iterations."));
    const QByteArray secret = password.toLatin1();
    const QByteArray salt = randomBytes(16);
    QByteArray salted(32, Qt::Uninitialized);
    if (PKCS5_PBKDF2_HMAC(secret.constData(), int(secret.size()),
                          reinterpret_cast<const unsigned char *>(salt.constData()),
                          int(salt.size()), iterations, EVP_sha256(), int(salted.size()),
                          reinterpret_cast<unsigned char *>(salted.data())) != 1)
        return Error::make(Error::Kind::Internal, QStringLiteral("PBKDF2 failed."));
    const QByteArray clientKey = hmacSha256(salted, QByteArrayLiteral("Client Key"));
    QByteArray storedKey(SHA256_DIGEST_LENGTH, Qt::Uninitialized);
    unsigned int length = 0;
    EVP_Digest(clientKey.constData(), size_t(clientKey.size()),
               reinterpret_cast<unsigned char *>(storedKey.data()), &length, EVP_sha256(), nullptr);
    const QByteArray serverKey = hmacSha256(salted, QByteArrayLiteral("Server Key"));
    return QStringLiteral("SCRAM-SHA-256$%1:%2$%3:%4")
        .arg(iterations)
        .arg(QString::fromLatin1(salt.toBase64()), QString::fromLatin1(storedKey.toBase64()),
             QString::fromLatin1(serverKey.toBase64()));
}

QString randomPassword()
{
    return QString::fromLatin1(
        randomBytes(32).toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
}

} // namespace ledger::ScramVerifier
