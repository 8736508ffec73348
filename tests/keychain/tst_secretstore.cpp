// SecretStore against a real Secret Service (gnome-keyring in a private D-Bus session,
// LEDGER_KEYCHAIN_MODE=real), and with none at all (LEDGER_KEYCHAIN_MODE=none): then a
// clear error, and the secret is nowhere in plain text.

#include "SignalWait.h"
#include "keychain/SecretStore.h"

#include <QDirIterator>
#include <QFile>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>
#include <QUuid>

using namespace ledger;

namespace {

template <class T> T await(QFuture<T> future)
{
    // The event loop runs while waiting (D-Bus replies arrive through it).
    if (!test::waitForFinished(future, 60000))
        return T(
            Error::make(Error::Kind::Timeout, QStringLiteral("test: the future never settled")));
    return future.result();
}

QString mode()
{
    return qEnvironmentVariable("LEDGER_KEYCHAIN_MODE");
}

// Every file under the places where an app or Qt might write settings or data.
QStringList filesContaining(const QByteArray &needle)
{
    QStringList roots;
    for (auto location : {QStandardPaths::GenericConfigLocation,
                          QStandardPaths::GenericDataLocation, QStandardPaths::GenericCacheLocation,
                          QStandardPaths::AppConfigLocation, QStandardPaths::AppDataLocation})
        roots << QStandardPaths::writableLocation(location);
    roots << QDir::homePath() + QStringLiteral("/.config")
          << QDir::homePath() + QStringLiteral("/.local");
    roots.removeDuplicates();
    QStringList hits;
    for (const QString &root : roots) {
        QDirIterator it(root, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            QFile f(it.next());
            if (f.size() < qint64(10) * 1024 * 1024 && f.open(QIODevice::ReadOnly) &&
                f.readAll().contains(needle))
                hits << f.fileName();
        }
    }
    return hits;
}

} // namespace

class TestSecretStore : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void roundTrip()
    {
        if (mode() != QLatin1String("real"))
            QSKIP("needs a Secret Service: run through tests/support/with-secret-service.sh");
        SecretStore store(QStringLiteral("ledger-console-test"));
        const QString key =
            QStringLiteral("operator:alice@") + QUuid::createUuid().toString(QUuid::WithoutBraces);
        const QString secret =
            QStringLiteral("first-secret-") + QUuid::createUuid().toString(QUuid::WithoutBraces);

        // Nothing there yet.
        auto missing = await(store.read(key));
        QVERIFY(!missing.ok());
        QCOMPARE(missing.error().kind, Error::Kind::NotFound);

        QVERIFY2(await(store.write(key, secret)).ok(), "write failed");
        auto read = await(store.read(key));
        QVERIFY2(read.ok(), read.ok() ? "" : qPrintable(read.error().message));
        QCOMPARE(read.value(), secret);

        // Replace.
        const QString replaced = QStringLiteral("second-secret-ünïcødé-") +
                                 QUuid::createUuid().toString(QUuid::WithoutBraces);
        QVERIFY(await(store.write(key, replaced)).ok());
        QCOMPARE(await(store.read(key)).value(), replaced);

        // Other keys are separate.
        const QString other = key + QStringLiteral("-other");
        QCOMPARE(await(store.read(other)).error().kind, Error::Kind::NotFound);

        // Delete.
        QVERIFY(await(store.remove(key)).ok());
        QCOMPARE(await(store.read(key)).error().kind, Error::Kind::NotFound);

        // The keyring on disk is encrypted: the secrets appear in no file in plain text.
        QVERIFY2(filesContaining(secret.toUtf8()).isEmpty(),
                 qPrintable(filesContaining(secret.toUtf8()).join(QLatin1Char(' '))));
        QVERIFY(filesContaining(replaced.toUtf8()).isEmpty());
    }

    void callsDoNotBlockTheCaller()
    {
        if (mode() != QLatin1String("real"))
            QSKIP("needs a Secret Service");
        SecretStore store(QStringLiteral("ledger-console-test"));
        auto future = store.read(QStringLiteral("nonexistent-key"));
        // Returned at once, settled later through the event loop.
        QVERIFY(!future.isFinished());
        QCOMPARE(await(future).error().kind, Error::Kind::NotFound);
    }

    void noSecretServiceIsAClearErrorAndNothingIsStored()
    {
        if (mode() != QLatin1String("none"))
            QSKIP("runs as tst_secretstore_unavailable, without a Secret Service");
        SecretStore store(QStringLiteral("ledger-console-test"));
        store.setTimeout(std::chrono::seconds(20));
        const QString secret = QStringLiteral("never-in-plain-text-") +
                               QUuid::createUuid().toString(QUuid::WithoutBraces);
        const auto written = await(store.write(QStringLiteral("operator:bob"), secret));
        QVERIFY(!written.ok());
        QVERIFY2(written.error().kind == Error::Kind::Io ||
                     written.error().kind == Error::Kind::Timeout,
                 qPrintable(written.error().message));
        QVERIFY2(written.error().message.contains(QLatin1String("keychain"), Qt::CaseInsensitive),
                 qPrintable(written.error().message));
        const auto read = await(store.read(QStringLiteral("operator:bob")));
        QVERIFY(!read.ok());
        QVERIFY(read.error().kind != Error::Kind::NotFound || !read.error().message.isEmpty());
        QVERIFY2(filesContaining(secret.toUtf8()).isEmpty(),
                 qPrintable(filesContaining(secret.toUtf8()).join(QLatin1Char(' '))));
    }

    void timesOutInsteadOfHanging()
    {
        if (mode() != QLatin1String("real"))
            QSKIP("needs a Secret Service");
        SecretStore store(QStringLiteral("ledger-console-test"));
        store.setTimeout(std::chrono::milliseconds(0)); // nothing answers within 0 ms
        const auto r = await(store.read(QStringLiteral("any")));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().kind, Error::Kind::Timeout);
        QVERIFY(r.error().message.contains(QLatin1String("did not answer")));
    }
};

QTEST_GUILESS_MAIN(TestSecretStore)
#include "tst_secretstore.moc"
