#pragma once

#include "Error.h"

#include <optional>
#include <utility>
#include <variant>

namespace ledger {

// An expected-style result: a value or an Error. Services return these across thread and
// signal boundaries so that no exception ever crosses a signal or leaves a slot.
// Default-constructible (QFuture and QVariant want that); a default Result holds an
// Internal error, so forgetting to fill one in is visible rather than silently "ok".
template <class T> class [[nodiscard]] Result
{
public:
    Result()
        : m_value(Error::make(Error::Kind::Internal, QStringLiteral("no result was produced")))
    {}
    Result(T value)
        : m_value(std::in_place_index<0>, std::move(value))
    {}
    Result(Error error)
        : m_value(std::in_place_index<1>, std::move(error))
    {}

    bool ok() const { return m_value.index() == 0; }
    explicit operator bool() const { return ok(); }

    const T &value() const & { return std::get<0>(m_value); }
    T &value() & { return std::get<0>(m_value); }
    T &&value() && { return std::get<0>(std::move(m_value)); }
    const Error &error() const { return std::get<1>(m_value); }

private:
    std::variant<T, Error> m_value;
};

template <> class [[nodiscard]] Result<void>
{
public:
    Result() = default;
    Result(Error error)
        : m_error(std::move(error))
    {}
    static Result success() { return {}; }

    bool ok() const { return !m_error.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error &error() const { return *m_error; }

private:
    std::optional<Error> m_error;
};

using Status = Result<void>;

} // namespace ledger
