"""Landing agent-log records: new ones added, stored ones the log completed replaced, a commit per batch.

``LogWriter`` queues units of a source (``behest_lab.sources._logcursor.Unit``) and writes them with
``Store.write_batch``: in one commit the new records with their provenance, the stored records the log now tells
differently (a session whose title or last time changed, a tool execution whose result arrived, a response's final
usage), and the cursors of the units in the batch. A run stopped at any point thus leaves whole units whose cursors
say exactly what was stored, and the next run goes on from there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from behest_lab.errors import BehestLabError, InterchangeError
from behest_lab.interchange import Bundle, ImportReport
from behest_lab.records import Provenance, Session, ToolExecution, UsageRecord
from behest_lab.sources._logcursor import CursorBook, Unit
from behest_lab.stores.protocols import Store

TABLES = ("sessions", "messages", "tool_executions", "usage_records")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_REPLACEABLE = ("sessions", "tool_executions", "usage_records")


def records_of(bundle: Bundle) -> list[tuple[str, Any]]:
    """``(table, record)`` for each record of ``bundle`` the importer lands, the session first."""
    out: list[tuple[str, Any]] = [("sessions", bundle.session)] if bundle.session is not None else []
    out += [("messages", r) for r in bundle.messages]
    out += [("tool_executions", r) for r in bundle.executions]
    out += [("usage_records", r) for r in bundle.usage]
    return out


class LogWriter:
    """Queues a source's records and writes them a batch (one commit) at a time: new ones added, changed ones replaced.

    Which records the store already holds is asked per batch, for the batch's ids only, so memory stays bounded by
    the batch, not by the store.
    """

    def __init__(self, store: Store, report: ImportReport, book: CursorBook) -> None:
        """Write to ``store``, counting in ``report``; ``book`` makes the cursor rows of each unit."""
        self.store = store
        self.report = report
        self.book = book
        self.batch: dict[str, list[Any]] = {t: [] for t in TABLES}
        self.index: dict[str, dict[str, int]] = {t: {} for t in TABLES}
        self.held: dict[str, list[Any]] = {t: [] for t in _REPLACEABLE}
        self.prov: dict[str, list[Provenance]] = {}
        self.cursors: list[Provenance] = []
        self.updated = 0

    @property
    def pending(self) -> int:
        """Records and cursor rows waiting for the next commit."""
        return sum(len(v) for v in self.batch.values()) + sum(len(v) for v in self.held.values()) + len(self.cursors)

    def add_unit(self, unit: Unit) -> None:
        """Queue a unit's bundles and its cursor."""
        for bundle in unit.bundles:
            self.add(bundle)
        self.cursors += self.book.rows(unit)

    def add(self, bundle: Bundle) -> None:
        """Queue the bundle's records; a record whose id is queued already is held, to replace the queued one."""
        for table, record in records_of(bundle):
            self.report.tables[table].read += 1
            key = str(record.id)
            if key in self.index[table]:
                self.report.tables[table].duplicates += 1
                if table in _REPLACEABLE:
                    self.held[table].append(record)
                continue
            self.index[table][key] = len(self.batch[table])
            self.batch[table].append(record)
        for p in bundle.provenance:
            self.prov.setdefault(str(p.record_id), []).append(p)

    def _settle(self) -> set[str]:
        """Move the queued records the store holds to the held ones; the ids of the records left to add."""
        new: set[str] = set()
        for table in TABLES:
            stored = _stored(self.store, table, list(self.index[table]))
            if stored:
                self.report.tables[table].duplicates += len(stored)
                if table in _REPLACEABLE:
                    self.held[table] = [r for r in self.batch[table] if str(r.id) in stored] + self.held[table]
                self.batch[table] = [r for r in self.batch[table] if str(r.id) not in stored]
                self.index[table] = {str(r.id): i for i, r in enumerate(self.batch[table])}
            new.update(self.index[table])
        return new

    def _replacements(self) -> list[Any]:
        """Held records that differ from the stored ones (or from the ones queued in this batch)."""
        out: list[Any] = []
        for table in _REPLACEABLE:
            key = _KEYS[table]
            against_store = []
            for record in self.held[table]:
                at = self.index[table].get(str(record.id))
                if at is None:
                    against_store.append(record)
                elif key(self.batch[table][at]) != key(record):
                    self.batch[table][at] = record  # the later copy is the completed one
            out += _differing(self.store, table, against_store, key)
        return out

    def flush(self) -> None:
        """Write the queued records, replacements and cursors in one ``write_batch`` (all or nothing).

        Raises:
            InterchangeError: The store refused the batch; nothing of it was written.
        """
        if not self.pending:
            return
        new = self._settle()
        replace = self._replacements()
        provenance = [p for key in new for p in self.prov.get(key, [])]
        # a replaced record's provenance is the line that completed it
        provenance += [p for r in replace for p in self.prov.get(str(r.id), []) if p.table != "sessions"]
        b = self.batch
        try:
            self.store.write_batch(
                sessions=b["sessions"],
                messages=b["messages"],
                executions=b["tool_executions"],
                usages=b["usage_records"],
                touch_sessions=False,
                replace=replace,
                provenance=provenance + self.cursors,
            )
        except (BehestLabError, ValueError, TypeError) as exc:
            raise InterchangeError(
                f"writing a batch of {self.pending} records failed, nothing of it was kept: {exc}",
                path=self.report.path,
            ) from exc
        for table in TABLES:
            self.report.tables[table].imported += len(b[table])
            b[table] = []
            self.index[table] = {}
        self.updated += len(replace)
        self.held = {t: [] for t in _REPLACEABLE}
        self.prov = {}
        self.cursors = []


def _stored(store: Store, table: str, ids: list[str]) -> set[str]:
    """Those of ``ids`` that ``table`` holds."""
    if not ids:
        return set()
    rows = store.query(f"SELECT CAST(id AS VARCHAR) FROM {table} WHERE id IN (SELECT unnest(?::UUID[]))", [ids])
    return {r[0] for r in rows.rows()}


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _session_key(r: Session) -> tuple[Any, ...]:
    return (r.title, r.model, _micros(r.created_at), _micros(r.updated_at))


def _exec_key(r: ToolExecution) -> tuple[Any, ...]:
    return (r.status.value, r.duration // timedelta(microseconds=1))


def _usage_key(r: UsageRecord) -> tuple[Any, ...]:
    return (
        r.input_tokens,
        r.output_tokens,
        r.cache_read_input_tokens,
        r.cache_creation_input_tokens,
        r.cached_input_tokens,
    )


_KEYS: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "sessions": _session_key,
    "tool_executions": _exec_key,
    "usage_records": _usage_key,
}
_COLUMNS = {
    "sessions": "title, model, epoch_us(created_at), epoch_us(updated_at)",
    "tool_executions": "status, CAST(duration_us AS BIGINT)",
    "usage_records": "input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens, "
    "cached_input_tokens",
}


def _differing(store: Store, table: str, records: list[Any], key: Callable[[Any], tuple[Any, ...]]) -> list[Any]:
    """The records whose stored row (same id) differs from them; the last of several with one id."""
    if not records:
        return []
    latest = {str(r.id): r for r in records}
    rows = store.sql(
        f"SELECT CAST(id AS VARCHAR), {_COLUMNS[table]} FROM {table} WHERE CAST(id AS VARCHAR) IN (SELECT unnest(?))",
        [list(latest)],
    ).fetchall()
    stored = {row[0]: tuple(row[1:]) for row in rows}
    return [r for k, r in latest.items() if k in stored and stored[k] != key(r)]
