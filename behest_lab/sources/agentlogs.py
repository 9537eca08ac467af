"""What the readers of other agents' logs share: reading JSON Lines that are still being written, ids, landing.

Agent logs (Claude Code, Codex) are append-only JSON Lines files. A reader turns each file (or group of files) into
``Bundle``s with deterministic ids (the source's own UUIDs where it has them, else ``uuid5`` of the source's keys),
so importing the same files again yields the same records, and ``import_agent_logs`` lands only the ones the store
does not hold yet.

``import_claude_code(store, path)`` and ``import_codex(store, path)`` import a folder (or one file) of each tool's
logs; ``detect_format(path)`` names the format of a path (``behest-lab import PATH`` uses it). The readers are
``behest_lab.sources.claude_code.ClaudeCodeSource`` and ``behest_lab.sources.codex.CodexSource``; they implement the
``behest_lab.sources.base.Source`` reader contract (``fingerprints``, ``read``), so the sync engine can drive them.

A last line without its newline that does not decode is a line still being written: it is left for the next import
and counted as ``incomplete``, never reported as bad. Any other line that is not JSON is bad: ``on_bad`` gets a
``SourceError`` naming the file and line.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from behest_lab.errors import BehestLabError, InterchangeError, SourceError
from behest_lab.interchange import BadRow, Bundle, ImportReport
from behest_lab.records import Provenance, ToolExecution, UsageRecord
from behest_lab.sources.base import BadRowHandler, Want, fingerprint, fingerprint_table
from behest_lab.stores.protocols import Store

#: Namespace of every id behest_lab derives from an agent log's keys.
NAMESPACE = UUID("6f1d3c2e-5a47-4b8e-9d0a-2c61e4b7a915")


def derived_id(*parts: str) -> UUID:
    """A UUIDv5 of ``parts`` in behest_lab's agent-log namespace (same parts, same id)."""
    return uuid5(NAMESPACE, "\x1f".join(parts))


def source_uuid(text: object, *fallback: str) -> UUID:
    """``text`` as a UUID when it is one, else ``derived_id(*fallback, text)``."""
    if isinstance(text, str):
        try:
            return UUID(text)
        except ValueError:
            pass
    return derived_id(*fallback, str(text))


def parse_time(text: object) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset; naive ones are UTC) as an aware datetime, or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass
class LogCounts:
    """What a reader passed over: lines of types it does not map, and last lines still being written."""

    skipped_types: Counter[str] = field(default_factory=Counter)
    incomplete: int = 0
    duplicate_lines: int = 0


def read_lines(path: Path, kind: str, on_bad: BadRowHandler, counts: LogCounts) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each JSON object line of ``path`` (blank lines are passed over).

    A last line without a newline that does not decode is counted in ``counts.incomplete`` and left out; other
    undecodable lines, and lines that are JSON but not objects, go to ``on_bad``.
    """
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                if not raw.endswith(b"\n"):
                    counts.incomplete += 1
                    continue
                on_bad(SourceError(f"invalid JSON: {exc}", source=kind, location=str(path), row=number))
                continue
            except RecursionError:
                on_bad(SourceError("JSON nested too deeply", source=kind, location=str(path), row=number))
                continue
            if not isinstance(value, dict):
                on_bad(SourceError("a line that is not a JSON object", source=kind, location=str(path), row=number))
                continue
            yield number, value


def type_name(kind: object) -> str:
    """A line's ``type`` as the report counts it: the text, or ``(no type)`` for a line without one."""
    return str(kind) if kind is not None else "(no type)"


def text_of(value: Any) -> str:
    """The text of a message or tool-result content: a string, or the ``text`` of its text blocks."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(b["text"] for b in value if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""


class AgentLogSource(ABC):
    """Base of the agent-log readers: ``fingerprints`` and the provenance built from ``read``.

    Subclasses set ``kind`` and implement ``bundles(on_bad)``; ``location`` is the path given.
    """

    kind = "agent-log"

    def __init__(self, path: str | Path) -> None:
        """Open the log folder or file at ``path``.

        Raises:
            SourceError: ``path`` does not exist.
        """
        self.path = Path(path)
        self.location = str(self.path)
        self.counts = LogCounts()
        if not self.path.exists():
            raise SourceError("no such file or folder", source=self.kind, location=self.location)

    @classmethod
    @abstractmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` holds this reader's logs."""

    @abstractmethod
    def bundles(self, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """Every session of the source as a bundle with provenance."""

    @abstractmethod
    def count(self) -> int:
        """How many files (or file groups) ``read`` goes through: the progress bar's total."""

    def read(self, want: Want | None, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """The records as bundles (always whole sessions; ``want`` narrows nothing, the engine keeps what it needs)."""
        self.counts = LogCounts()
        return self.bundles(on_bad)

    def fingerprints(self) -> Any:
        """One row per record (``behest_lab.sources.base.FINGERPRINT_SCHEMA``), hashing each record's JSON.

        Bad lines are passed over here; ``read`` reports them.
        """

        def ignore(error: SourceError) -> None:
            return None

        rows: list[tuple[str, str, str | None, int]] = []
        for bundle in self.read(None, ignore):
            sid = str(bundle.session.id) if bundle.session is not None else None
            for table, record in records_of(bundle):
                rows.append((table, str(record.id), sid, fingerprint(record.model_dump_json())))
        return fingerprint_table(rows)

    def close(self) -> None:  # noqa: B027 - a concrete no-op every reader shares, not a hook left to fill
        """Nothing to release (files are opened and closed while reading)."""

    def provenance(self, table: str, record_id: UUID, file: Path, line: int) -> Provenance:
        """Where a record came from: this source's kind, its location, ``<file>:<line>``."""
        return Provenance.model_construct(
            record_id=record_id, table=table, source=self.kind, location=self.location, ref=f"{file}:{line}"
        )


def records_of(bundle: Bundle) -> Iterable[tuple[str, Any]]:
    """``(table, record)`` for each record of ``bundle``, the session first."""
    if bundle.session is not None:
        yield "sessions", bundle.session
    for table, records in (
        ("messages", bundle.messages),
        ("tool_executions", bundle.executions),
        ("usage_records", bundle.usage),
        ("embeddings", bundle.embeddings),
        ("artifacts", bundle.artifacts),
    ):
        for r in records:
            yield table, r


@dataclass
class AgentLogReport(ImportReport):
    """An ``ImportReport`` with what agent logs add.

    Attributes:
        skipped_types: Lines of types the reader does not map (newer tool versions, bookkeeping), per type.
        incomplete: Last lines still being written, left for the next import.
        updated: Records already stored that the log now completes (a tool call whose result arrived, a response's
            final usage), replaced by id.
    """

    skipped_types: Counter[str] = field(default_factory=Counter)
    incomplete: int = 0
    updated: int = 0

    def __str__(self) -> str:
        """The import report, then skipped line types, incomplete lines and updated records."""
        lines = [super().__str__()]
        if self.updated:
            lines.append(f"records completed by newer lines and replaced: {self.updated}")
        if self.skipped_types:
            kinds = ", ".join(f"{k} x{v}" for k, v in sorted(self.skipped_types.items()))
            lines.append(f"lines of unmapped types skipped: {kinds}")
        if self.incomplete:
            lines.append(f"last lines still being written, left for the next import: {self.incomplete}")
        return "\n".join(lines)


_BATCH_RECORDS = 5_000


def import_agent_logs(
    source: AgentLogSource,
    store: Store,
    *,
    skip_bad: bool = False,
    progress: bool | None = None,
    batch_records: int = _BATCH_RECORDS,
) -> AgentLogReport:
    """Land ``source``'s bundles in ``store``: records whose id the store holds are skipped, batches are all or nothing.

    A session's files are read whole before any of it is queued, and batches hold whole sessions: a strict run
    (``skip_bad=False``) stops at the first bad line with ``SourceError``, the batches committed before stay and the
    one being filled is dropped, so no session is ever half imported. Tool executions still pending and usage
    records whose counters grew since the last import (a log that was being written) are replaced by id.

    Raises:
        SourceError: A bad line without ``skip_bad`` (file and line in the message).
        InterchangeError: The store refused a batch.
    """
    report = AgentLogReport(path=source.location, format=source.kind)

    def on_bad(error: SourceError) -> None:
        if not skip_bad:
            raise error
        report.unreadable += 1
        report.bad_rows.append(BadRow(error.table or "line", error.row, error.key, str(error)))

    writer = _Writer(store, report)
    stale: list[Any] = []
    bar = _bar(progress, source.kind, source.count())
    try:
        for bundle in source.read(None, on_bad):
            stale += writer.add(bundle)
            if writer.pending >= batch_records:
                writer.flush()
            meta = bundle.session.metadata if bundle.session is not None else None
            if not (isinstance(meta, dict) and "parent_session_id" in meta):  # subagents come with their session
                bar.update(1)
        writer.flush()
    finally:
        bar.close()
    report.updated = _replace_stale(store, stale)
    report.skipped_types = source.counts.skipped_types
    report.incomplete = source.counts.incomplete
    return report


def _bar(progress: bool | None, kind: str, total: int) -> Any:
    """A ``tqdm.auto`` bar of log files: shown when asked, or by default on a terminal or in a notebook."""
    import sys

    from tqdm.auto import tqdm

    show = progress if progress is not None else bool(sys.stderr.isatty()) or "ipykernel" in sys.modules
    return tqdm(total=total, desc=f"import {kind}", unit="file", disable=not show, leave=False, dynamic_ncols=True)


class _Writer:
    """Queues the records the store does not hold yet and writes them a batch (one commit) at a time."""

    def __init__(self, store: Store, report: ImportReport) -> None:
        self.store = store
        self.report = report
        self.known = {t: _ids(store, t) for t in _TABLES}
        self.batch: dict[str, list[Any]] = {t: [] for t in _TABLES}
        self.provenance: list[Provenance] = []

    @property
    def pending(self) -> int:
        """Records waiting for the next commit."""
        return sum(len(v) for v in self.batch.values())

    def add(self, bundle: Bundle) -> list[Any]:
        """Queue the bundle's new records; return its executions and usage records the store already holds."""
        held = []
        added: set[str] = set()
        for table, record in records_of(bundle):
            counts = self.report.tables[table]
            counts.read += 1
            key = str(record.id)
            if key in self.known[table]:
                counts.duplicates += 1
                if table in ("tool_executions", "usage_records"):
                    held.append(record)
                continue
            self.known[table].add(key)
            self.batch[table].append(record)
            added.add(key)
        self.provenance += [p for p in bundle.provenance if str(p.record_id) in added]
        return held

    def flush(self) -> None:
        """Write the queued records, all tables in one ``write_batch`` (all or nothing).

        Raises:
            InterchangeError: The store refused the batch; nothing of it was written.
        """
        if not self.pending:
            return
        b = self.batch
        try:
            self.store.write_batch(
                sessions=b["sessions"],
                messages=b["messages"],
                executions=b["tool_executions"],
                usages=b["usage_records"],
                touch_sessions=False,
                provenance=self.provenance,
            )
        except (BehestLabError, ValueError, TypeError) as exc:
            raise InterchangeError(
                f"writing a batch of {self.pending} records failed, nothing of it was kept: {exc}",
                path=self.report.path,
            ) from exc
        for table in _TABLES:
            self.report.tables[table].imported += len(b[table])
            b[table] = []
        self.provenance = []


_TABLES = ("sessions", "messages", "tool_executions", "usage_records")


def _ids(store: Store, table: str) -> set[str]:
    return {r[0] for r in store.sql(f"SELECT CAST(id AS VARCHAR) FROM {table}").fetchall()}


#: Formats ``import_logs`` and ``detect_format`` know, with their reader classes.
READERS = {
    "claude-code": "behest_lab.sources.claude_code:ClaudeCodeSource",
    "codex": "behest_lab.sources.codex:CodexSource",
    "atif": "behest_lab.sources.atif:AtifSource",
    "openai-agents": "behest_lab.sources.openai_agents:OpenAIAgentsSource",
    "otel": "behest_lab.sources.otel:OtelSource",
    "llm": "behest_lab.sources.llm_logs:LlmLogsSource",
}


def _reader(fmt: str) -> type[AgentLogSource]:
    import importlib

    module, _, name = READERS[fmt].partition(":")
    cls: type[AgentLogSource] = getattr(importlib.import_module(module), name)
    return cls


def detect_format(path: str | Path) -> str | None:
    """``"claude-code"`` or ``"codex"`` when ``path`` (a file or folder) holds that tool's logs, else None."""
    p = Path(path)
    for fmt in READERS:
        if _reader(fmt).sniff(p):
            return fmt
    return None


def import_logs(
    fmt: str, store: Store, path: str | Path, *, skip_bad: bool = False, progress: bool | None = None
) -> AgentLogReport:
    """Import the ``fmt`` logs (``"claude-code"`` or ``"codex"``) at ``path`` into ``store``.

    Raises:
        SourceError: ``path`` does not exist, holds no logs of that format (the message names the format it
            looks like), or has a bad line (without ``skip_bad``).
        ValueError: ``fmt`` is not a known format.
    """
    if fmt not in READERS:
        raise ValueError(f"unknown agent-log format {fmt!r} (known: {', '.join(READERS)})")
    source = _reader(fmt)(path)
    if not source.sniff(source.path):
        found = detect_format(source.path)
        hint = f" (it looks like {found}: behest-lab import {found} PATH)" if found else ""
        raise SourceError(f"no {fmt} logs found here{hint}", source=fmt, location=source.location)
    return import_agent_logs(source, store, skip_bad=skip_bad, progress=progress)


def import_claude_code(
    store: Store, path: str | Path, *, skip_bad: bool = False, progress: bool | None = None
) -> AgentLogReport:
    """Import Claude Code's logs (``~/.claude/projects``, one project's folder, or one session file)."""
    return import_logs("claude-code", store, path, skip_bad=skip_bad, progress=progress)


def import_codex(
    store: Store, path: str | Path, *, skip_bad: bool = False, progress: bool | None = None
) -> AgentLogReport:
    """Import Codex CLI's rollouts (``~/.codex/sessions``, ``archived_sessions``, any folder of them, or one file)."""
    return import_logs("codex", store, path, skip_bad=skip_bad, progress=progress)


def _replace_stale(store: Store, records: list[Any]) -> int:
    """Replace stored executions and usage records that differ from the log's (completed since); their count."""
    executions = [r for r in records if isinstance(r, ToolExecution)]
    usages = [r for r in records if isinstance(r, UsageRecord)]
    changed_exec = _differing(store, "tool_executions", executions, _exec_key, "status, CAST(duration_us AS BIGINT)")
    changed_usage = _differing(
        store,
        "usage_records",
        usages,
        _usage_key,
        "input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens, cached_input_tokens",
    )
    try:
        if changed_exec:
            store.executions.record_executions(changed_exec)
        if changed_usage:
            store.executions.record_usages(changed_usage)
    except (ValueError, TypeError) as exc:
        raise InterchangeError(f"replacing completed records failed: {exc}") from exc
    return len(changed_exec) + len(changed_usage)


def _exec_key(r: ToolExecution) -> tuple[Any, ...]:
    return (r.status.value, int(r.duration.total_seconds() * 1_000_000))


def _usage_key(r: UsageRecord) -> tuple[Any, ...]:
    return (
        r.input_tokens,
        r.output_tokens,
        r.cache_read_input_tokens,
        r.cache_creation_input_tokens,
        r.cached_input_tokens,
    )


def _differing(
    store: Store, table: str, records: list[Any], key: Callable[[Any], tuple[Any, ...]], columns: str
) -> list[Any]:
    if not records:
        return []
    ids = [str(r.id) for r in records]
    rows = store.sql(
        f"SELECT CAST(id AS VARCHAR), {columns} FROM {table} WHERE CAST(id AS VARCHAR) IN (SELECT unnest(?))",
        [ids],
    ).fetchall()
    stored = {row[0]: tuple(row[1:]) for row in rows}
    return [r for r in records if str(r.id) in stored and stored[str(r.id)] != key(r)]


__all__ = [
    "NAMESPACE",
    "READERS",
    "AgentLogReport",
    "AgentLogSource",
    "LogCounts",
    "derived_id",
    "detect_format",
    "import_agent_logs",
    "import_claude_code",
    "import_codex",
    "import_logs",
    "parse_time",
    "read_lines",
    "records_of",
    "source_uuid",
    "text_of",
    "type_name",
]
