#pragma once

#include "Timeline.h"

#include <QList>

#include <optional>

namespace ledger {

// The first screen of a timeline, answered together: the account's history when it was
// (re)opened, the window (windowed mode) and the first page of rows (windowed or search).
struct TimelineStart
{
    std::optional<AccountHistory> history; // set when the account was (re)opened
    TimelineWindow window;
    QList<TimelineEntry> rows; // the first page (windowed) or the first search page
};

} // namespace ledger
