#include "MigrationSet.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QRegularExpression>

#include <algorithm>

namespace ledger {

namespace {

// Applied migrations never change: the Migrator refuses a database whose migration's
// checksum differs from the file's. An edit of comments alone is the one exception, and
// each is listed here with the checksum of the text before it, so that a database migrated
// before the edit is still accepted. Never list a change of anything but comments.
struct EarlierText
{
    const char *name;
    const char *sha256;
};
constexpr EarlierText kEarlierTexts[] = {
    // Step 10: comments that sent readers to the design notes outside the repository now
    // point at CONTRIBUTING.md ("Architecture").
    {"0001_roles_and_schemas", "16c452864405f8c1f6221b7cdb8bffa06a440fb1d76f5c583110e173ec732f6e"},
    {"0004_ledger_core", "17ebf104ca777aad9f12e015704c8c25922d685c6f7b41849624bd69ee588477"},
    {"0007_access_sessions", "0b49a54ee1c6446a720b5d3349d6d4bf7a4ca1b5c03621f1deff076b98eac972"},
    {"0016_reporting_balance_buckets",
     "96392a0868e05fd5249c09d62cc3e0a433094cb1b8bc00e9f078eb9dac32fa23"},
    {"0020_least_privilege", "52149ddbad3b218fbd37a2b2bbe7acd9be2cdf7f14699f07a905f441dbd0b0b7"},
};

} // namespace

Result<MigrationSet> MigrationSet::fromList(QList<Migration> migrations)
{
    std::sort(migrations.begin(), migrations.end(),
              [](const Migration &a, const Migration &b) { return a.version < b.version; });
    int expected = 1;
    for (const Migration &m : migrations) {
        if (m.version != expected) {
            return Error::make(
                Error::Kind::Input,
                m.version < expected
                    ? QStringLiteral("Two migrations carry version %1 (%2). Give each file its "
                                     "own number.")
                          .arg(m.version)
                          .arg(m.name)
                    : QStringLiteral("Migration %1 is missing (the next file is %2). Versions "
                                     "must run 1, 2, 3, ... without gaps.")
                          .arg(expected)
                          .arg(m.name));
        }
        ++expected;
    }
    MigrationSet set;
    set.m_migrations = std::move(migrations);
    return set;
}

Result<MigrationSet> MigrationSet::fromDirectory(const QString &path)
{
    QDir dir(path);
    if (!dir.exists())
        return Error::make(Error::Kind::NotFound,
                           QStringLiteral("Migration directory %1 does not exist.").arg(path));
    static const QRegularExpression pattern(QStringLiteral(R"(^(\d{4})_([a-z0-9_]+)\.sql$)"));
    QList<Migration> list;
    const QStringList names = dir.entryList({QStringLiteral("*.sql")}, QDir::Files, QDir::Name);
    for (const QString &file : names) {
        const auto match = pattern.match(file);
        if (!match.hasMatch())
            return Error::make(Error::Kind::Input,
                               QStringLiteral("Migration file %1 is not named NNNN_name.sql "
                                              "(four digits, lowercase name).")
                                   .arg(file));
        QFile f(dir.filePath(file));
        if (!f.open(QIODevice::ReadOnly))
            return Error::make(
                Error::Kind::Io,
                QStringLiteral("Cannot read migration %1: %2").arg(file, f.errorString()));
        Migration m;
        m.version = match.captured(1).toInt();
        m.name = file.chopped(4);
        m.sql = f.readAll();
        m.sha256 = QString::fromLatin1(
            QCryptographicHash::hash(m.sql, QCryptographicHash::Sha256).toHex());
        for (const EarlierText &e : kEarlierTexts)
            if (m.name == QLatin1String(e.name))
                m.earlierSha256 << QString::fromLatin1(e.sha256);
        list.append(std::move(m));
    }
    if (list.isEmpty())
        return Error::make(Error::Kind::NotFound,
                           QStringLiteral("No migrations found in %1.").arg(path));
    return fromList(std::move(list));
}

Result<MigrationSet> MigrationSet::builtIn()
{
    // The .qrc lives in the static resources library; make sure it is registered.
    return fromDirectory(QStringLiteral(":/sql/migrations"));
}

} // namespace ledger
