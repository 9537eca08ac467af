"""Batched, duplicate-skipping, all-or-nothing writes of imported records into a store.

Both importers parse rows into records and hand them to an ``ImportWriter`` in source order. The writer
skips records whose id is already in the store (or earlier in the source), checks that every message, execution
and usage record refers to a session that is stored or imported before it, and writes one batch at a time with
``Store.write_batch``: one commit per batch, all of its tables together. A bad row either raises
``InterchangeError`` before anything of its batch is written, or (``skip_bad=True``) is counted in the report and
left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from behest_lab.errors import BadRowError, BehestLabError, InterchangeError, TooDeepError
from behest_lab.interchange._report import TABLE_ORDER, BadRow, ImportReport
from behest_lab.records import MAX_JSON_DEPTH
from behest_lab.stores.protocols import Store

#: Tables whose rows must belong to a session that exists.
_SESSION_OWNED = ("messages", "tool_executions", "usage_records")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (JSON numbers are finite)")


def loads(text: str | bytes, what: str = "invalid JSON") -> Any:
    """Decode JSON text as serde_json would: ``NaN``/``Infinity`` tokens refused, any nesting depth reported.

    What the decoded value may hold (finite numbers, Unicode text, bounded nesting) is checked by the records.

    Raises:
        BadRowError: The text is not JSON; the reason starts with ``what``.
    """
    try:
        return json.loads(text, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise BadRowError(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise BadRowError(f"{what}: {exc.msg} at column {exc.colno}") from None
    except ValueError as exc:  # from _no_constant
        raise BadRowError(f"{what}: {exc}") from None
    except RecursionError:
        raise TooDeepError(
            f"{what}: nested too deeply to read (records hold at most {MAX_JSON_DEPTH} levels of arrays/objects)"
        ) from None


def describe(exc: ValidationError) -> str:
    """A pydantic error as ``field.path: message`` (the first error, plus how many more)."""
    errors = exc.errors()
    first = errors[0]
    loc = ".".join(str(x) for x in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{loc}: {first['msg']}{more}" if loc else f"{first['msg']}{more}"


def parse(build: Callable[[], Any]) -> Any:
    """Call ``build`` and turn validation errors into ``BadRowError``."""
    try:
        return build()
    except BadRowError:  # already says why (it is a ValueError too, so it must not be wrapped again below)
        raise
    except ValidationError as exc:
        raise BadRowError(describe(exc)) from None
    except (ValueError, TypeError) as exc:
        raise BadRowError(str(exc)) from None
    except RecursionError:
        raise BadRowError(
            f"nested too deeply (records hold at most {MAX_JSON_DEPTH} levels of arrays/objects)"
        ) from None


def _existing_ids(store: Store, table: str) -> set[str]:
    rows = store.sql(f"SELECT CAST(id AS VARCHAR) FROM {table}").fetchall()
    return {r[0] for r in rows}


class ImportWriter:
    """Collects records into batches and writes each batch all-or-nothing.

    Args:
        store: The target store.
        report: The report to fill.
        path: Source path, for error messages.
        skip_bad: Skip and count bad rows instead of raising.
    """

    def __init__(self, store: Store, report: ImportReport, *, path: str, skip_bad: bool) -> None:
        self.store = store
        self.report = report
        self.path = path
        self.skip_bad = skip_bad
        # ids already stored, read once in bulk (one query per table), then kept up to date as batches land
        self.known: dict[str, set[str]] = {t: _existing_ids(store, t) for t in TABLE_ORDER}
        self._batch: dict[str, list[Any]] = {t: [] for t in TABLE_ORDER}
        self._batch_ids: dict[str, set[str]] = {t: set() for t in TABLE_ORDER}

    # --- rows -----------------------------------------------------------------------------------------------

    def read(self, table: str) -> None:
        """Count one row read from the source."""
        self.report.tables[table].read += 1

    def bad(self, table: str | None, reason: str, *, line: int | None = None, row_id: str | None = None) -> None:
        """A row that cannot be imported: raise, or (``skip_bad``) record it in the report."""
        if not self.skip_bad:
            raise InterchangeError(reason, path=self.path, table=table, line=line, row_id=row_id)
        if table is None:
            self.report.unreadable += 1
        else:
            self.report.tables[table].bad += 1
        self.report.bad_rows.append(BadRow(table or "?", line, row_id, reason))

    def seen(self, table: str, raw_id: object) -> bool:
        """True (and counted as a duplicate) when the source's id text is already stored or queued.

        A cheap check before parsing: stores hold canonical ids (lowercase, hyphenated), which is what behest
        writes, so re-importing unchanged data skips its rows without validating them.
        """
        if self.known_id(table, raw_id):
            self.report.tables[table].duplicates += 1
            return True
        return False

    def known_id(self, table: str, raw_id: object) -> bool:
        """``seen`` without counting."""
        return isinstance(raw_id, str) and (raw_id in self.known[table] or raw_id in self._batch_ids[table])

    def session_known(self, session_id: UUID) -> bool:
        """True when the session is stored or waiting in the current batch."""
        key = str(session_id)
        return key in self.known["sessions"] or key in self._batch_ids["sessions"]

    def add(self, table: str, record: Any, *, line: int | None = None) -> bool:
        """Queue a parsed record; False when it was skipped (duplicate id, or unknown session and ``skip_bad``)."""
        key = str(record.id)
        if key in self.known[table] or key in self._batch_ids[table]:
            self.report.tables[table].duplicates += 1
            return False
        if table in _SESSION_OWNED and not self.session_known(record.session_id):
            self.bad(
                table,
                f"session {record.session_id} is neither in the store nor imported before this row",
                line=line,
                row_id=key,
            )
            return False
        self._batch[table].append(record)
        self._batch_ids[table].add(key)
        return True

    @property
    def pending(self) -> int:
        """Records waiting in the current batch."""
        return sum(len(v) for v in self._batch.values())

    @property
    def pending_sessions(self) -> int:
        """Sessions waiting in the current batch."""
        return len(self._batch["sessions"])

    # --- writing --------------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the current batch, every table of it, in one commit (``Store.write_batch``).

        A killed process or a failing store leaves none of the batch behind, so an interrupted import holds whole
        batches only, and running it again skips them as duplicates and writes the rest.

        Raises:
            InterchangeError: The store refused the batch (the cause is chained); nothing of it was written.
        """
        batch = self._batch
        if not any(batch.values()):
            return
        try:
            # touch_sessions=False: sessions keep the updated_at stored in the source
            self.store.write_batch(
                sessions=batch["sessions"],
                messages=batch["messages"],
                executions=batch["tool_executions"],
                usages=batch["usage_records"],
                embeddings=batch["embeddings"],
                artifacts=batch["artifacts"],
                touch_sessions=False,
            )
        except (BehestLabError, ValueError, TypeError) as exc:
            raise InterchangeError(
                f"writing a batch of {self.pending} records failed, nothing of it was kept: {exc}", path=self.path
            ) from exc
        for table in TABLE_ORDER:
            self.report.tables[table].imported += len(batch[table])
            self.known[table] |= self._batch_ids[table]
            batch[table] = []
            self._batch_ids[table] = set()
