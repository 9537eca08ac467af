"""``Instant``: an aware ``datetime`` that also carries nanoseconds.

behest's timestamps (chrono's ``DateTime<Utc>``) have nanosecond precision and behest stamps most rows with all
nine fraction digits; Python's ``datetime`` stops at microseconds. An ``Instant`` is a ``datetime`` subclass with
one more field, ``nanosecond`` (0-999, the nanoseconds past ``microsecond``, as in pandas' ``Timestamp``), so
records keep the full value while code that expects a ``datetime`` keeps working:

- comparisons, sorting and hashing use the full precision (an ``Instant`` equals a plain ``datetime`` only when
  its ``nanosecond`` is 0);
- adding or subtracting a ``timedelta`` keeps the nanoseconds; the difference of two instants is a ``timedelta``
  (microsecond resolution, like every ``timedelta``; ``epoch_ns`` gives the exact difference in integers);
- ``astimezone`` and ``replace`` keep the nanoseconds; ``isoformat`` prints nine fraction digits when they are
  not zero; pickling and copying keep them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Self, overload

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _restore(state: tuple[Any, ...], nanosecond: int) -> Instant:
    """Unpickle an ``Instant`` (``datetime``'s own state plus the nanoseconds)."""
    return Instant(*state, nanosecond=nanosecond)


def nanosecond_of(value: datetime) -> int:
    """The nanoseconds past the microsecond of ``value``: its ``nanosecond`` for an ``Instant``, else 0."""
    # an Instant made by datetime's own C code (arithmetic results before this class re-wraps them) has no slot value
    return getattr(value, "_nanosecond", 0) if isinstance(value, Instant) else 0


class Instant(datetime):
    """A ``datetime`` with nanoseconds (``nanosecond``, 0-999, past ``microsecond``).

    Build one like a ``datetime`` with an extra keyword (``Instant(2026, 1, 2, tzinfo=UTC, nanosecond=789)``), from a
    ``datetime`` (``Instant.from_datetime(dt, nanosecond=789)``) or from integer nanoseconds since the Unix epoch
    (``Instant.from_epoch_ns(n)``, UTC).
    """

    __slots__ = ("_nanosecond",)
    _nanosecond: int

    def __new__(cls, *args: Any, nanosecond: int = 0, **kwargs: Any) -> Self:
        """A ``datetime`` built from ``args``/``kwargs`` as ``datetime(...)`` takes them, plus ``nanosecond``."""
        if isinstance(nanosecond, bool) or not isinstance(nanosecond, int) or not 0 <= nanosecond <= 999:
            raise ValueError(f"nanosecond must be an integer in 0..999, got {nanosecond!r}")
        self = super().__new__(cls, *args, **kwargs)
        self._nanosecond = nanosecond
        return self

    @classmethod
    def from_datetime(cls, value: datetime, nanosecond: int | None = None) -> Self:
        """``value`` as an ``Instant``; ``nanosecond`` defaults to ``value``'s own (0 for a plain ``datetime``)."""
        ns = nanosecond_of(value) if nanosecond is None else nanosecond
        if isinstance(value, cls) and type(value) is cls and ns == nanosecond_of(value):
            return value
        return cls(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            value.tzinfo,
            fold=value.fold,
            nanosecond=ns,
        )

    @classmethod
    def from_epoch_ns(cls, ns: int) -> Self:
        """The UTC instant ``ns`` nanoseconds after 1970-01-01T00:00:00Z."""
        us, rest = divmod(ns, 1000)
        return cls.from_datetime(_EPOCH + timedelta(microseconds=us), rest)

    @property
    def nanosecond(self) -> int:
        """Nanoseconds past ``microsecond`` (0-999)."""
        return nanosecond_of(self)

    @property
    def epoch_ns(self) -> int:
        """Nanoseconds since 1970-01-01T00:00:00Z (the value must be aware)."""
        return (datetime.__sub__(self, _EPOCH) // _US) * 1000 + self.nanosecond

    # --- arithmetic keeps the nanoseconds ------------------------------------------------------------------

    def __add__(self, other: timedelta) -> Self:
        result = datetime.__add__(self, other)
        if result is NotImplemented:
            return result
        return type(self).from_datetime(result, self.nanosecond)

    __radd__ = __add__

    @overload  # type: ignore[override]
    def __sub__(self, other: timedelta) -> Self: ...
    @overload
    def __sub__(self, other: datetime) -> timedelta: ...
    def __sub__(self, other: timedelta | datetime) -> Self | timedelta:
        result = datetime.__sub__(self, other)
        if isinstance(result, datetime):
            return type(self).from_datetime(result, self.nanosecond)
        return result

    def astimezone(self, tz: Any = None) -> Self:
        """``datetime.astimezone``, keeping the nanoseconds."""
        return type(self).from_datetime(datetime.astimezone(self, tz), self.nanosecond)

    def replace(self, *args: Any, nanosecond: int | None = None, **kwargs: Any) -> Self:
        """``datetime.replace``, keeping the nanoseconds unless ``nanosecond`` is given."""
        ns = self.nanosecond if nanosecond is None else nanosecond
        return type(self).from_datetime(datetime.replace(self, *args, **kwargs), ns)

    # --- comparisons use the full precision ----------------------------------------------------------------

    def _same_microsecond(self, other: datetime) -> bool:
        return datetime.__eq__(self, other) is True

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, datetime):
            return NotImplemented
        return self._same_microsecond(other) and self.nanosecond == nanosecond_of(other)

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, datetime):
            return NotImplemented
        return not self.__eq__(other)

    def __lt__(self, other: date) -> bool:
        if not isinstance(other, datetime):
            return NotImplemented
        if self._same_microsecond(other):
            return self.nanosecond < nanosecond_of(other)
        return datetime.__lt__(self, other)

    def __le__(self, other: date) -> bool:
        if not isinstance(other, datetime):
            return NotImplemented
        if self._same_microsecond(other):
            return self.nanosecond <= nanosecond_of(other)
        return datetime.__le__(self, other)

    def __gt__(self, other: date) -> bool:
        if not isinstance(other, datetime):
            return NotImplemented
        if self._same_microsecond(other):
            return self.nanosecond > nanosecond_of(other)
        return datetime.__gt__(self, other)

    def __ge__(self, other: date) -> bool:
        if not isinstance(other, datetime):
            return NotImplemented
        if self._same_microsecond(other):
            return self.nanosecond >= nanosecond_of(other)
        return datetime.__ge__(self, other)

    def __hash__(self) -> int:
        base = datetime.__hash__(self)
        return base if self.nanosecond == 0 else hash((base, self.nanosecond))

    # --- text and pickling -----------------------------------------------------------------------------------

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        """``datetime.isoformat``; with ``timespec="auto"`` and nanoseconds present, nine fraction digits."""
        if timespec != "auto" or self.nanosecond == 0:
            return datetime.isoformat(self, sep, timespec)
        text = datetime.isoformat(self, sep, "microseconds")
        head, offset = text[: 26 + len(sep) - 1], text[26 + len(sep) - 1 :]
        return f"{head}{self.nanosecond:03d}{offset}"

    def __str__(self) -> str:
        return self.isoformat(" ")

    def __repr__(self) -> str:
        base = datetime.__repr__(self)
        if self.nanosecond == 0:
            return base.replace("datetime.datetime(", "Instant(", 1)
        return base.replace("datetime.datetime(", "Instant(", 1)[:-1] + f", nanosecond={self.nanosecond})"

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        state = datetime.__reduce_ex__(self, protocol)[1]
        return (_restore, (state, self.nanosecond))

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__reduce_ex__(2)


__all__ = ["Instant", "nanosecond_of"]
