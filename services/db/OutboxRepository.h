#pragma once

#include <QDateTime>
#include <QList>
#include <QString>

namespace ledger {

class Connection;

// The outbox (migration 0051): postings, reversal decisions and reconciliation decisions as
// the audit chain numbers them, handed to a relay that publishes them to Kafka and records
// how far the broker acknowledged. Throw DbException.
namespace OutboxRepository {

// One relay of a name at a time: held by this connection until it closes (LG098 when another
// holds it).
void claim(Connection &connection, const QString &relay);

struct Message
{
    qint64 seq = 0; // the audit chain number of the event it comes from
    QString id;     // stable: "audit:<seq>/<n>", for consumers to deduplicate
    QByteArray key; // the account code for postings, else "<object type>:<object id>"
    QByteArray payload;
};

struct Pending
{
    QList<Message> messages; // in chain order
    qint64 upto = 0;         // how far the call looked: record it once all are acknowledged
};

// The messages after the relay's position (at most `events` audit events' worth).
Pending pending(Connection &connection, const QString &relay, const QString &topic, int events);

// Records that everything up to `upto` is published (`messages` of them this time).
void acknowledge(Connection &connection, const QString &relay, const QString &topic, qint64 upto,
                 int messages);

struct RelayStatus
{
    QString relay;
    QString topic;
    qint64 publishedSeq = 0;
    qint64 messages = 0;
    QDateTime updatedAt;
    qint64 behind = 0; // events sealed since its position that it publishes
};
QList<RelayStatus> status(Connection &connection);

} // namespace OutboxRepository

} // namespace ledger
