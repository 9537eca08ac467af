"""behest's wire conventions: UUIDv7 ids, serde timestamps, serde/ryu number formatting.

Pure functions, no pydantic: the models in this package and the stores both use them.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import numpy as np

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


def utcnow() -> datetime:
    """Timezone-aware now in UTC (what behest's ``Utc::now()`` gives, at microsecond precision)."""
    return datetime.now(UTC)


def format_timestamp(value: datetime) -> str:
    """RFC 3339 with ``Z``, fraction digits only as needed in groups of three (chrono's serde output)."""
    value = value.astimezone(UTC)
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    us = value.microsecond
    if us == 0:
        return base + "Z"
    if us % 1000 == 0:
        return f"{base}.{us // 1000:03d}Z"
    return f"{base}.{us:06d}Z"


def format_timestamp_sql(value: datetime) -> str:
    """The shape behest's SQLite backend writes (``to_rfc3339()``): ``+00:00`` offset, 0/3/6 fraction digits."""
    return format_timestamp(value)[:-1] + "+00:00"


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$"
)


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with a required offset; nanoseconds are truncated to microseconds."""
    from datetime import timedelta, timezone

    m = _RFC3339.match(text.strip())
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp with an offset: {text!r}")
    year, month, day, hour, minute, second, frac, z, sign, oh, om = m.groups()
    us = int((frac or "0").ljust(6, "0")[:6])
    if z:
        tz = UTC
    else:
        offset = timedelta(hours=int(oh), minutes=int(om))
        tz = timezone(offset if sign == "+" else -offset)
    dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), us, tzinfo=tz)
    return dt.astimezone(UTC)


# --- numbers -------------------------------------------------------------------------------------------------
# serde_json prints floats with ryu: shortest round-trip digits, then a fixed layout. pydantic-core already
# uses the same layout for f64 except that it writes a '+' in positive exponents ("1e+16" where serde writes
# "1e16"). behest's vectors and scores are f32, whose layout thresholds differ from f64's.

_NUMBER_OR_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?[eE]\+\d+')


def fix_exponents(text: bytes) -> bytes:
    """Drop the '+' of positive exponents in JSON numbers (outside strings), as serde_json prints them."""
    if b"e+" not in text:
        return text

    def repl(m: re.Match[bytes]) -> bytes:
        token = m.group(0)
        return token if token[:1] == b'"' else token.replace(b"e+", b"e")

    return _NUMBER_OR_STRING.sub(repl, text)


def _ryu_layout(digits: str, exp10: int, negative: bool, *, fixed_max: int, small_min: int) -> str:
    """Lay out shortest ``digits`` (no leading zeros) times 10**exp10 the way ryu's ``pretty`` module does."""
    length = len(digits)
    k = exp10
    kk = length + k
    sign = "-" if negative else ""
    if k >= 0 and kk <= fixed_max:
        return f"{sign}{digits}{'0' * k}.0"
    if 0 < kk <= fixed_max:
        return f"{sign}{digits[:kk]}.{digits[kk:]}"
    if small_min < kk <= 0:
        return f"{sign}0.{'0' * -kk}{digits}"
    if length == 1:
        return f"{sign}{digits}e{kk - 1}"
    return f"{sign}{digits[0]}.{digits[1:]}e{kk - 1}"


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
    """JSON text serde_json writes for an ``f32`` (ryu ``format32``)."""
    f = np.float32(value)
    if f == 0:
        return "-0.0" if math.copysign(1.0, float(f)) < 0 else "0.0"
    digits, exp10, negative = _shortest(np.format_float_scientific(f, unique=True, trim="-"))
    return _ryu_layout(digits, exp10, negative, fixed_max=13, small_min=-6)


def format_f32_many(values: Sequence[float] | np.ndarray) -> list[str]:
    """``[format_f32(v) for v in values]``, several times faster on long vectors.

    numpy's ``str`` of a float32 already has the shortest round-trip digits (the same Dragon4 ``unique`` digits
    ``format_f32`` takes from ``np.format_float_scientific``), and one ``astype(str)`` formats the whole array.
    numpy writes positional notation only well inside ryu's fixed range (about 1e-4 <= |x| < 1e7, and zero),
    where the two layouts agree; its scientific texts are re-laid out with ryu's thresholds. numpy's print
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
    return _ryu_layout(digits, exp10, negative, fixed_max=13, small_min=-6)
