#pragma once

#include "domain/Result.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>

namespace ledger {

// One migration file, NNNN_name.sql.
struct Migration
{
    int version = 0;
    QString name; // file name without the .sql suffix, e.g. "0001_roles_and_schemas"
    QByteArray sql;
    QString sha256; // lowercase hex of the file's bytes
    // Checksums the same migration had before an edit of its comments alone (a database
    // migrated then still matches): see kEarlierTexts in MigrationSet.cpp.
    QStringList earlierSha256;
};

// The ordered, validated list of migrations shipped with a build.
class MigrationSet
{
public:
    // Reads every *.sql file of a directory (a Qt resource path such as
    // ":/sql/migrations" or a real one). Refuses names that do not follow NNNN_name.sql,
    // duplicate versions and gaps, so that order is never ambiguous.
    static Result<MigrationSet> fromDirectory(const QString &path);
    static Result<MigrationSet> builtIn(); // the migrations compiled into this binary

    // For tests: build from explicit files (still validated).
    static Result<MigrationSet> fromList(QList<Migration> migrations);

    const QList<Migration> &migrations() const { return m_migrations; }
    int latestVersion() const { return m_migrations.isEmpty() ? 0 : m_migrations.last().version; }

private:
    QList<Migration> m_migrations;
};

} // namespace ledger
