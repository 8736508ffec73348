#pragma once

#include <QHash>
#include <QList>
#include <QSet>

namespace ledger {

// The bookkeeping of a model that loads its rows in pages by position when a view asks for
// them: the pages here (at most maxPages, least recently used evicted first), the pages on
// their way (at most maxInFlight at once), the pages asked for while those are busy (the
// most recent maxWanted wishes; older ones were scrolled past) and the pages that failed
// (not asked again until clear()). The model sends the queries; this decides which.
template <typename Row> class PageCache
{
public:
    PageCache(int maxInFlight, int maxWanted)
        : m_maxInFlight(maxInFlight)
        , m_maxWanted(maxWanted)
    {}

    void clear()
    {
        m_pages.clear();
        m_lru.clear();
        m_pending.clear();
        m_failed.clear();
        m_wanted.clear();
    }
    // Drops what is on its way or wished for (their answers will be ignored); the pages
    // here stay until clear().
    void forgetRequests()
    {
        m_pending.clear();
        m_wanted.clear();
    }
    void setMaxPages(int pages) { m_maxPages = pages; }
    int size() const { return int(m_pages.size()); }
    bool hasPending() const { return !m_pending.isEmpty(); }
    bool isFailed(qint64 page) const { return m_failed.contains(page); }

    // The page if it is here, marked most recently used.
    const QList<Row> *use(qint64 page)
    {
        const auto it = m_pages.constFind(page);
        if (it == m_pages.constEnd())
            return nullptr;
        if (m_lru.isEmpty() || m_lru.last() != page) {
            m_lru.removeOne(page);
            m_lru.append(page);
        }
        return &*it;
    }
    // The page if it is here, without marking it.
    const QList<Row> *peek(qint64 page) const
    {
        const auto it = m_pages.constFind(page);
        return it == m_pages.constEnd() ? nullptr : &*it;
    }

    // A view wants the page: true when the caller should send for it now (then it counts as
    // on its way); false when it is here, on its way, failed, or remembered for later.
    bool request(qint64 page)
    {
        if (m_pending.contains(page) || m_failed.contains(page) || m_pages.contains(page))
            return false;
        if (m_pending.size() >= m_maxInFlight) {
            m_wanted.removeOne(page);
            m_wanted.append(page);
            while (m_wanted.size() > m_maxWanted)
                m_wanted.removeFirst(); // scrolled past: nobody looks there any more
            return false;
        }
        m_pending.insert(page);
        return true;
    }

    void arrived(qint64 page, const QList<Row> &rows)
    {
        m_pending.remove(page);
        m_pages.insert(page, rows);
        m_lru.removeOne(page);
        m_lru.append(page);
        while (m_pages.size() > m_maxPages && m_lru.size() > 1)
            m_pages.remove(m_lru.takeFirst());
    }
    void failed(qint64 page)
    {
        m_pending.remove(page);
        m_failed.insert(page);
    }

    // Remembered pages that may be sent now, the most recent wish first; each counts as on
    // its way once returned.
    QList<qint64> takeSendable()
    {
        QList<qint64> out;
        while (m_pending.size() < m_maxInFlight && !m_wanted.isEmpty()) {
            const qint64 page = m_wanted.takeLast();
            if (!m_pages.contains(page) && !m_pending.contains(page) && !m_failed.contains(page)) {
                m_pending.insert(page);
                out.append(page);
            }
        }
        return out;
    }

private:
    const int m_maxInFlight;
    const int m_maxWanted;
    int m_maxPages = 40;
    QHash<qint64, QList<Row>> m_pages;
    QList<qint64> m_lru; // least recently used first
    QSet<qint64> m_pending;
    QSet<qint64> m_failed;
    QList<qint64> m_wanted; // most recent last
};

} // namespace ledger
