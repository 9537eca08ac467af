"""behest's wire conventions: UUIDv7 ids, serde timestamps, serde_json number formatting.

Pure functions, no pydantic: the models in this package and the stores both use them.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import numpy as np

from behest_lab.records.instant import Instant, nanosecond_of

_uuid_lock = threading.Lock()
_last_ms = -1
_last_seq = 0


def uuid7(ms: int | None = None, rand: bytes | None = None) -> UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits.

    Without arguments, ids made in one process are strictly increasing: within one millisecond the 12-bit
    ``rand_a`` field counts up (RFC 9562 method 1), so sorting by id sorts by creation.
    ``ms`` and ``rand`` (10 bytes) make the id deterministic, for seeded sample data.
    """
    global _last_ms, _last_seq
    if ms is None:
        with _uuid_lock:
            now = time.time_ns() // 1_000_000
            if now <= _last_ms:
                _last_seq += 1
                if _last_seq > 0xFFF:  # counter exhausted: borrow the next millisecond
                    _last_ms += 1
                    _last_seq = 0
                now = _last_ms
            else:
                _last_ms = now
                _last_seq = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave headroom to count up
            seq = _last_seq
        tail = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (now << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | tail
        return UUID(int=value)
    if rand is None:
        rand = os.urandom(10)
    if len(rand) != 10:
        raise ValueError("rand must be 10 bytes")
    if not 0 <= ms < 1 << 48:
        raise ValueError("ms must fit in 48 bits")
    r = int.from_bytes(rand, "big")
    rand_a = (r >> 68) & 0xFFF
    rand_b = r & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return UUID(int=value)


def utcnow() -> Instant:
    """Timezone-aware now in UTC (what behest's ``Utc::now()`` gives, at microsecond precision)."""
    return Instant.from_datetime(datetime.now(UTC))


def _fraction(value: datetime) -> str:
    """The fraction as chrono writes it: nothing, or 3, 6 or 9 digits (only as many groups of three as needed)."""
    ns = value.microsecond * 1000 + nanosecond_of(value)
    if ns == 0:
        return ""
    if ns % 1_000_000 == 0:
        return f".{ns // 1_000_000:03d}"
    if ns % 1000 == 0:
        return f".{ns // 1000:06d}"
    return f".{ns:09d}"


def _seconds(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of an aware value in UTC, the year always four digits (zero-padded)."""
    v = value.astimezone(UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"


def format_timestamp(value: datetime) -> str:
    """RFC 3339 with ``Z``, fraction digits only as needed in groups of three (chrono's serde output)."""
    return _seconds(value) + _fraction(value) + "Z"


def format_timestamp_sql(value: datetime) -> str:
    """The shape behest's SQLite backend writes (``to_rfc3339()``): ``+00:00`` offset, 0/3/6/9 fraction digits."""
    return _seconds(value) + _fraction(value) + "+00:00"


_RFC3339 = re.compile(
    r"^([+-]?\d{4,})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$"
)


def parse_timestamp(text: str) -> Instant:
    """Parse an RFC 3339 timestamp with a required offset, keeping nanoseconds; the result is in UTC.

    Raises:
        ValueError: ``text`` is not such a timestamp, or it names an instant outside what a Python ``datetime``
            holds (years 1-9999, no leap second ``:60``); the message says which.
    """
    m = _RFC3339.match(text.strip())
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp with an offset: {text!r}")
    year, month, day, hour, minute, second, frac, z, sign, oh, om = m.groups()
    if not 1 <= int(year) <= 9999 or year[0] in "+-":
        raise ValueError(f"timestamp {text!r}: year {int(year)} is outside the years 1-9999 a Python datetime holds")
    if second == "60":
        raise ValueError(f"timestamp {text!r} is a leap second, which a Python datetime cannot hold")
    digits = (frac or "").ljust(9, "0")[:9]
    if z:
        tz = UTC
    else:
        offset = timedelta(hours=int(oh), minutes=int(om))
        tz = timezone(offset if sign == "+" else -offset)
    try:
        dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), int(digits[:6]), tz)
        return Instant.from_datetime(dt.astimezone(UTC), int(digits[6:]))
    except OverflowError as exc:  # a year-1 or year-9999 value shifted out of range by its offset
        raise ValueError(f"timestamp {text!r} is outside the range a Python datetime holds: {exc}") from None


# --- numbers -------------------------------------------------------------------------------------------------
# behest's serde_json (1.0.150, every behest tag's Cargo.lock) prints floats with the zmij crate: shortest
# round-trip digits, then a fixed layout. With d the decimal exponent of the first digit, an f64 is written in
# positional notation for -5 <= d <= 15 and an f32 for -6 <= d <= 12; otherwise in scientific notation with a
# '+' in non-negative exponents ("1e+16", "3.4028235e+38", "1e-7"; no ".0" after a single digit). pydantic-core
# writes f64 with exactly this layout, so f64 text is left as it writes it. f32 values (vectors, scores) are laid
# out here. serde_json up to 1.0.146 (ryu) wrote the same without the '+'; JSON readers take both forms.

_F32_FIXED = (-6, 12)


def _zmij_layout(digits: str, exp10: int, negative: bool, *, fixed: tuple[int, int]) -> str:
    """Lay out shortest ``digits`` (no leading zeros) times 10**exp10 as serde_json 1.0.150 (zmij) does."""
    length = len(digits)
    d = length + exp10 - 1  # exponent of the first digit
    sign = "-" if negative else ""
    if fixed[0] <= d <= fixed[1]:
        if length - 1 <= d:
            return f"{sign}{digits}{'0' * (d + 1 - length)}.0"
        if d >= 0:
            return f"{sign}{digits[: d + 1]}.{digits[d + 1 :]}"
        return f"{sign}0.{'0' * (-d - 1)}{digits}"
    mantissa = digits if length == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{mantissa}e{'+' if d >= 0 else '-'}{abs(d)}"


def _shortest(sci: str) -> tuple[str, int, bool]:
    """Split a scientific-notation string ('-1.2345e-07') into (digits, exponent of the last digit, negative)."""
    negative = sci.startswith("-")
    if negative:
        sci = sci[1:]
    mant, _, exp = sci.partition("e")
    whole, _, frac = mant.partition(".")
    digits = (whole + frac).rstrip("0") or "0"
    return digits, int(exp) - (len(digits) - 1), negative


def format_f32(value: float) -> str:
    """JSON text serde_json 1.0.150 writes for an ``f32``."""
    f = np.float32(value)
    if f == 0:
        return "-0.0" if math.copysign(1.0, float(f)) < 0 else "0.0"
    digits, exp10, negative = _shortest(np.format_float_scientific(f, unique=True, trim="-"))
    return _zmij_layout(digits, exp10, negative, fixed=_F32_FIXED)


def format_f32_many(values: Sequence[float] | np.ndarray) -> list[str]:
    """``[format_f32(v) for v in values]``, several times faster on long vectors.

    numpy's ``str`` of a float32 already has the shortest round-trip digits (the same Dragon4 ``unique`` digits
    ``format_f32`` takes from ``np.format_float_scientific``), and one ``astype(str)`` formats the whole array.
    numpy writes positional notation only well inside the fixed range of serde_json (about 1e-4 <= |x| < 1e7, and zero),
    where the two layouts agree; its scientific texts are re-laid out with serde_json's thresholds. numpy's print
    options are reset for the call: their legacy modes change these texts.

    Raises:
        ValueError: a value is NaN or infinite as a float32 (``format_f32`` cannot format those either); the
            message names its index.
    """
    with np.errstate(over="ignore"):  # overflow to inf is reported below, naming the index
        arr = np.asarray(values, dtype=np.float32).reshape(-1)
    finite = np.isfinite(arr)
    if not finite.all():
        i = int(np.argmin(finite))
        raise ValueError(f"value {i} is {arr[i]}, not a finite float32")
    with np.printoptions(legacy=False):
        texts: list[str] = arr.astype(str).tolist()
    return [text if "e" not in text else _relayout(text) for text in texts]


def _relayout(sci: str) -> str:
    digits, exp10, negative = _shortest(sci)
    return _zmij_layout(digits, exp10, negative, fixed=_F32_FIXED)
