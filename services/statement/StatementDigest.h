#pragma once

#include <QByteArray>
#include <QString>

namespace ledger {

struct Statement;

// The content digest of a statement (Step 8): SHA-256 over a canonical encoding of what the
// ledger held for the account and period, so that a statement can be re-derived later and
// compared whatever file format it was issued in. Plain computation, any thread.
//
// Canonical encoding, version 1 (a change to it is a new version with a new tag):
//
//   encoding = field*        every value is one netstring field:
//   field    = length ":" bytes ","
//              length: the number of bytes, in decimal ASCII without leading zeros
//              ("0:," is the empty field); bytes: the value's UTF-8 encoding
//
// Values, in this order:
//   1  "ledger.statement.v1"            the tag
//   2  account code                     text
//   3  currency                         text (ISO 4217 code as given)
//   4  exponent                         integer
//   5  from                             time
//   6  to                               time
//   7  time zone                        text ("UTC" or the IANA name as given)
//   8  known-at                         time
//   9  opening balance                  integer (minor units)
//  10  closing balance                  integer
//  11  credits total                    integer (positive amounts summed)
//  12  debits total                     integer (negative amounts summed, as a positive number)
//  13  number of lines                  integer
//  then for every line, in the statement's order, 10 values:
//      entry id, transaction id, booked at (time), value at (time), amount (integer),
//      balance after (integer), reference (text), description (text), kind (text),
//      reversed transaction id (integer, 0 when the line is not a reversal)
//
//   integer: decimal ASCII, '-' before negative values, no '+', no leading zeros ("0")
//   time:    UTC, ISO 8601 with microseconds and 'Z': "2024-03-01T09:30:00.123000Z";
//            an invalid (null) time is the empty field
//   text:    the string's UTF-8 bytes exactly as held (no trimming, no normalisation)
//
// Every field carries its length and every record has a fixed number of fields after a
// count, so two different statements never share an encoding.
//
// Not covered: the issue (institution, issued by, issued at, reference, sequence number,
// message id), the account's name and kind (a renamed account does not restate its
// statements) and each line's account sequence number (recorded order, shown nowhere).
class StatementDigest
{
public:
    // The encoding above (tests, and anyone reimplementing it elsewhere).
    static QByteArray canonicalEncoding(const Statement &statement);

    // SHA-256 of the encoding, 64 lowercase hex digits. Streams: no copy of the encoding.
    static QString hex(const Statement &statement);
};

} // namespace ledger
