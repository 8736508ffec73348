#include "MigrationSet.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QRegularExpression>

#include <algorithm>

namespace ledger {

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
