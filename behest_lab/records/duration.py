"""``LongDuration``: a tool execution duration longer than a Python ``timedelta`` holds.

behest's ``Duration`` is written as whole milliseconds up to ``u64::MAX`` (and its SQL stores clamp it to
``i64::MAX``); a ``timedelta`` stops at 999,999,999 days (86,399,999,999,999,999 ms). A longer value read from behest
becomes a ``LongDuration``: a ``timedelta`` equal to ``timedelta.max`` for arithmetic, carrying the exact count in
``milliseconds``, which is what is written back. Two long durations are equal when their milliseconds are.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Self

#: Milliseconds in ``timedelta.max``, truncated: the longest duration a plain ``timedelta`` holds.
TIMEDELTA_MAX_MS = timedelta.max // timedelta(milliseconds=1)


class LongDuration(timedelta):
    """``timedelta.max`` that remembers the exact whole ``milliseconds`` (more than ``TIMEDELTA_MAX_MS``)."""

    __slots__ = ("_milliseconds",)
    _milliseconds: int

    def __new__(cls, milliseconds: int) -> Self:
        """A duration of ``milliseconds`` (an integer above ``TIMEDELTA_MAX_MS``)."""
        if isinstance(milliseconds, bool) or not isinstance(milliseconds, int) or milliseconds <= TIMEDELTA_MAX_MS:
            raise ValueError(f"a LongDuration is longer than {TIMEDELTA_MAX_MS} ms, got {milliseconds!r}")
        m = timedelta.max
        self = super().__new__(cls, m.days, m.seconds, m.microseconds)
        self._milliseconds = milliseconds
        return self

    @property
    def milliseconds(self) -> int:
        """The exact whole milliseconds."""
        return self._milliseconds

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LongDuration):
            return self._milliseconds == other._milliseconds
        if isinstance(other, timedelta):
            return False  # a plain timedelta is always shorter
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(("LongDuration", self._milliseconds))

    def __repr__(self) -> str:
        return f"LongDuration(milliseconds={self._milliseconds})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (LongDuration, (self._milliseconds,))


def milliseconds_of(value: timedelta) -> int:
    """Whole milliseconds of ``value``, truncated (Rust's ``Duration::as_millis``); exact for a ``LongDuration``."""
    if isinstance(value, LongDuration):
        return value.milliseconds
    return value // timedelta(milliseconds=1)


def from_milliseconds(ms: int) -> timedelta:
    """A ``timedelta`` of ``ms`` whole milliseconds, or a ``LongDuration`` when it is longer than one holds."""
    if ms > TIMEDELTA_MAX_MS:
        return LongDuration(ms)
    return timedelta(milliseconds=ms)


__all__ = ["TIMEDELTA_MAX_MS", "LongDuration", "from_milliseconds", "milliseconds_of"]
