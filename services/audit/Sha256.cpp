#include "Sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace ledger {

struct Sha256::Impl
{
    EVP_MD *md = nullptr;
    EVP_MD_CTX *ctx = nullptr;
};

Sha256::Sha256()
    : d(std::make_unique<Impl>())
{
    // Fetched once: the implicit fetch of EVP_sha256() on every init costs as much as the
    // hash of a short row.
    d->md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    d->ctx = EVP_MD_CTX_new();
    if (!d->md || !d->ctx)
        throw std::runtime_error("OpenSSL could not provide SHA-256");
    reset();
}

Sha256::~Sha256()
{
    EVP_MD_CTX_free(d->ctx);
    EVP_MD_free(d->md);
}

void Sha256::reset()
{
    if (EVP_DigestInit_ex(d->ctx, d->md, nullptr) != 1)
        throw std::runtime_error("SHA-256 initialisation failed");
}

void Sha256::add(const char *data, qsizetype size)
{
    if (size > 0 && EVP_DigestUpdate(d->ctx, data, size_t(size)) != 1)
        throw std::runtime_error("SHA-256 update failed");
}

QByteArray Sha256::result()
{
    QByteArray out(32, Qt::Uninitialized);
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(d->ctx, reinterpret_cast<unsigned char *>(out.data()), &length) != 1 ||
        length != 32)
        throw std::runtime_error("SHA-256 finalisation failed");
    return out;
}

QByteArray Sha256::hash(const QByteArray &data)
{
    Sha256 sha;
    sha.add(data);
    return sha.result();
}

} // namespace ledger
