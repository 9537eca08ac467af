"""Shared SQL plumbing.

Filter conditions as literals, metadata containment in SQL, running a query to polars.

Every analytics read goes through ``run`` or ``fetch_rows``, which use the store's eager, consistent
``Store.query`` (or a ``SessionScope``'s), never a lazy ``store.sql`` relation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import duckdb
import polars as pl

from behest_lab.analytics._costs import CORRUPT_MARKER
from behest_lab.analytics._quoting import json_pointer, literal
from behest_lab.errors import DataCorruptionError
from behest_lab.stores.lake.corruption import translate_for
from behest_lab.stores.protocols import SessionScope, Store

TimeBound = datetime | date | str | None
"""``since``/``until``: an aware datetime, a date (midnight UTC) or an ISO 8601 string; ``None`` for no bound."""


def to_utc(value: TimeBound, argument: str) -> datetime | None:
    """``value`` as an aware UTC datetime; naive datetimes are refused (they are ambiguous)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed: datetime | date = (
                datetime.fromisoformat(value) if "T" in value or ":" in value else date.fromisoformat(value)
            )
        except ValueError:
            raise ValueError(f"{argument}: {value!r} is not an ISO 8601 date or datetime") from None
        value = parsed
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{argument}: naive datetime {value!r}; give a timezone (e.g. tzinfo=UTC)")
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise TypeError(f"{argument}: expected a datetime, date or ISO string, got {value!r}")


class Conditions:
    """AND-ed SQL conditions built from literals (values are quoted by ``literal``; no parameters to reorder)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, sql: str) -> Conditions:
        self.parts.append(sql)
        return self

    def time_range(self, column: str, since: TimeBound, until: TimeBound) -> Conditions:
        """``since`` inclusive, ``until`` exclusive."""
        lo, hi = to_utc(since, "since"), to_utc(until, "until")
        if lo is not None:
            self.add(f"{column} >= {literal(lo)}")
        if hi is not None:
            self.add(f"{column} < {literal(hi)}")
        return self

    def equals(self, column: str, value: str | None, argument: str) -> Conditions:
        if value is not None:
            if not isinstance(value, str):
                raise TypeError(f"{argument}: expected a string, got {value!r}")
            if "\x00" in value:
                # DuckLake prunes files by sending the constant to its catalog as SQL text, which ends at NUL (no
                # match at all): compare the UTF-8 bytes, which it does not push down
                self.add(f"encode({column}) = encode({literal(value)})")
            else:
                self.add(f"{column} = {literal(value)}")
        return self

    def uuid(self, column: str, value: UUID | str | None, argument: str) -> Conditions:
        if value is not None:
            try:
                text = str(value if isinstance(value, UUID) else UUID(str(value)))
            except ValueError:
                raise ValueError(f"{argument}: {value!r} is not a UUID") from None
            self.add(f"{column} = CAST({literal(text)} AS UUID)")
        return self

    def sql(self) -> str:
        return " AND ".join(f"({p})" for p in self.parts) if self.parts else "TRUE"


def _leaf(column: str, keys: Sequence[str], value: Any) -> str:
    """``column`` at ``keys`` equals ``value`` with the store's JSON equality (numbers by value, bools apart)."""
    path = literal(json_pointer(keys))
    typ = f"json_type({column}, {path})"
    if isinstance(value, bool):
        return f"({typ} = 'BOOLEAN' AND json_extract_string({column}, {path}) = {literal(str(value).lower())})"
    if isinstance(value, int | float):
        return (
            f"({typ} IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT') "
            f"AND CAST(json_extract_string({column}, {path}) AS DOUBLE) = {float(value)!r})"
        )
    if isinstance(value, str):
        return f"({typ} = 'VARCHAR' AND json_extract_string({column}, {path}) = {literal(value)})"
    if value is None:
        return f"({typ} = 'NULL')"
    # arrays and other values: canonical JSON text (key order and spacing normalised by DuckDB)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return f"(CAST(json_extract({column}, {path}) AS VARCHAR) = CAST(json({literal(text)}) AS VARCHAR))"


def metadata_condition(column: str, pattern: Any, keys: tuple[str, ...] = ()) -> str:
    """SQL for the store's metadata containment rule (``behest_lab.stores.rules.metadata_contains``)."""
    if isinstance(pattern, dict):
        if not pattern:
            where = "json_type({c})" if not keys else "json_type({c}, {p})"
            return "(" + where.format(c=column, p=literal(json_pointer(keys))) + " = 'OBJECT')"
        return "(" + " AND ".join(metadata_condition(column, v, (*keys, str(k))) for k, v in pattern.items()) + ")"
    if not keys:
        raise ValueError(f"metadata: expected a dict to match against session metadata, got {pattern!r}")
    return _leaf(column, keys, pattern)


def fetch_rows(store: Store | SessionScope, query: str) -> list[tuple[Any, ...]]:
    """The rows of ``query`` as tuples (``run``'s frame, its errors)."""
    return run(store, query).rows()


def run(store: Store | SessionScope, query: str) -> pl.DataFrame:
    """Run ``query`` through ``Store.query`` (or a ``SessionScope``'s) and return a polars frame.

    Raises:
        DataCorruptionError: a corrupt usage row (field ``usage_records.cached_input_tokens`` or
            ``messages.cached_input_tokens``), or a damaged store file (naming it).
    """
    try:
        frame = store.query(query)
    except duckdb.Error as exc:
        msg = str(exc)
        if isinstance(exc, duckdb.InvalidInputException) and CORRUPT_MARKER in msg:
            table, _, detail = msg[msg.index(CORRUPT_MARKER) + len(CORRUPT_MARKER) :].strip().partition(" ")
            raise DataCorruptionError(f"{table}.cached_input_tokens", detail) from None
        translate_for(exc, store.store if isinstance(store, SessionScope) else store)
        raise
    # DuckDB names UTC after its TimeZone setting ("Etc/UTC", ...); one spelling on every backend
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    )


MONEY_COLUMNS = ("input_cost", "output_cost", "cache_read_cost", "cache_write_cost", "cost")
"""The USD columns of ``usage``, ``costs`` and ``sessions``."""


def with_money(frame: pl.DataFrame, exact: bool) -> pl.DataFrame:
    """``frame`` with its USD columns as ``Float64``, or unchanged when ``exact``.

    The USD columns are ``MONEY_COLUMNS``, exact ``Decimal(38,24)`` from the SQL; with ``exact=False`` they become
    unchanged when ``exact``. polars rounds each decimal to the nearest double; DuckDB's own DECIMAL to DOUBLE cast
    is off by one unit in the last place for many values, and slower.
    """
    if exact:
        return frame
    return frame.with_columns(pl.col(c).cast(pl.Float64) for c in MONEY_COLUMNS if c in frame.columns)


def check_choice(value: str, allowed: Sequence[str], argument: str) -> str:
    if value not in allowed:
        raise ValueError(f"{argument}: {value!r} is not one of {', '.join(map(repr, allowed))}")
    return value
