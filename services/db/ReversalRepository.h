#pragma once

#include "domain/Reversal.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <functional>

namespace ledger {

class Connection;

// Reversal requests and decisions (maker-checker). Every rule (reason codes, four eyes,
// one pending request per transaction, expiry, the preview digest, idempotent keys, the
// audit event in the same transaction) is the database's (migrations 0004, 0021, 0026);
// this layer carries requests and results. Synchronous; throws DbException. Each call is
// one database transaction.
namespace ReversalRepository {

// The corrected posting as the JSON ledger.request_reversal takes (exact decimal strings).
QByteArray rebookJson(const RebookDraft &rebook);

// Sends a request (ledger.request_reversal). The same clientKey from the same operator gives
// the first request's id (and LG053 if that key was used for a different request).
qint64 request(Connection &connection, const ReversalDraft &draft);
// The same with the rebook as JSON text, sent as it is (ledgerctl --rebook FILE, tests).
qint64 request(Connection &connection, qint64 transactionId, const QString &reasonCode,
               const QString &note, const QByteArray &rebookJson = {},
               const QString &clientKey = {});

// What the draft would post, without writing anything but the "reversal.preview_asked"
// audit event (ledger.reversal_preview_draft): mirror, rebook, net, balances before and
// after, and refused = true where a no-negative account would go below zero. Bad drafts
// (unknown reason, a rebook that does not fit its reason, a transaction already reversed)
// throw as request() would.
ReversalPreview previewDraft(Connection &connection, const ReversalDraft &draft);
// The same with the rebook as JSON text, sent as it is.
ReversalPreview previewDraft(Connection &connection, qint64 transactionId,
                             const QString &reasonCode, const QByteArray &rebookJson);

// The preview a supervisor is shown before deciding (ledger.reversal_preview; audited).
ReversalPreview preview(Connection &connection, qint64 requestId);

// Approves what `previewDigest` names (LG038 otherwise). clientKey: the same key gives the
// first decision's result (replayed = true); another decision of the request is LG035.
ReversalDecision approve(Connection &connection, qint64 requestId, const QString &previewDigest,
                         const QString &note = {}, const QString &clientKey = {});
// Rejects; the note is required (LG030).
ReversalDecision reject(Connection &connection, qint64 requestId, const QString &note,
                        const QString &clientKey = {});
// Withdraws a pending request; only its requester may (LG054).
ReversalDecision withdraw(Connection &connection, qint64 requestId, const QString &note,
                          const QString &clientKey = {});
// Records the expiry of every pending request past its time (ledger.expire_reversals): one
// decision row and one audit event each. Returns what it expired.
QList<ReversalDecision> expire(Connection &connection);

// The most requests one bulk decision takes (the most one inbox query selects).
inline constexpr int kMaxBulkRequests = 10000;

// Decides many requests, each in its own database transaction with its own audit event
// (key: batchKey + ":" + request id, so a rerun of the same batch decides nothing twice;
// batchKey is required: ReversalService::newClientKey(); 1 to 80 of the client key's
// characters) and at most kMaxBulkRequests requests; otherwise it throws (Input) before
// deciding any. No requests: nothing is decided or recorded.
// Approvals name the digest of the request's preview as the server computes it now. A
// refused item is reported in its outcome; the others go on. One "reversal.bulk_decided"
// audit event lists the outcome. `progress` is called after each item.
QList<BulkDecisionOutcome> decideMany(Connection &connection, const QList<qint64> &requestIds,
                                      bool approve, const QString &note, const QString &batchKey,
                                      const std::function<void(int done)> &progress = {});

// The approvals inbox / "my requests": one page of the query's rows, sorted by the server,
// and the number of rows matching.
ReversalInboxPage inbox(Connection &connection, const ReversalInboxQuery &query, int offset,
                        int limit);
// The same rows' ids only, up to `limit` (for "select all matching" in bulk decisions).
QList<qint64> inboxIds(Connection &connection, const ReversalInboxQuery &query, int limit);
// Requests in one state ("" for all), newest first (ledgerctl reversal list).
QList<ReversalRequestRow> list(Connection &connection, const QString &state = {}, int limit = 1000);

QList<ReasonCode> reasonCodes(Connection &connection);

// The default time a pending request lives before it expires (access.settings).
qint64 requestLifetimeSeconds(Connection &connection);

} // namespace ReversalRepository

} // namespace ledger
