"""What the readers of other agents' logs share: reading files that are still being written, ids, landing.

Agent logs are Claude Code's and Codex's append-only JSON Lines files, OTLP trace files (``otel``), simonw/llm's
``logs.db`` (``llm``), OpenAI Agents SDK session databases (``openai-agents``) and ATIF trajectories (``atif``);
``READERS`` names the reader of each. A reader turns each file (or group of files) into
``Bundle``s with deterministic ids (the source's own UUIDs where it has them, else ``uuid5`` of the source's keys),
so importing the same files again yields the same records, and ``import_agent_logs`` lands only the ones the store
does not hold yet. Readers that override ``AgentLogSource.units`` (Claude Code, Codex) also keep a cursor per
session in the store (``behest_lab.sources._logcursor``): a later import does not open files that are unchanged and
reads a file that grew from where the last import stopped.

``import_logs(format, store, path)`` imports a folder (or one file) of any of them (``import_claude_code`` and
``import_codex`` name two); ``detect_format(path)`` names the format of a path (``behest-lab import PATH`` uses
it). The readers implement the ``behest_lab.sources.base.Source`` reader contract (``fingerprints``, ``read``), so
the sync engine can drive them.

A last line without its newline that does not decode is a line still being written: it is left for the next import
and counted as ``incomplete``, never reported as bad. Any other line that is not JSON is bad: ``on_bad`` gets a
``SourceError`` naming the file and line.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from behest_lab.errors import SourceError
from behest_lab.interchange import BadRow, Bundle, ImportReport
from behest_lab.records import Provenance
from behest_lab.sources._logcursor import CursorBook, Start, Unit, read_from
from behest_lab.sources._logwrite import LogWriter
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
    undecodable lines, and lines that are JSON but not objects, go to ``on_bad`` (``_logcursor.read_from`` from
    the start of the file).
    """
    for line in read_from(Start(path), kind, on_bad, counts):
        yield line.number, line.obj


def json_or_text(raw: Any) -> Any:
    """``raw`` decoded when it is JSON text (tool arguments and outputs often are), else ``raw`` unchanged."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


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

    #: What one step of the progress bar is: a log ``file`` (or file group), or a ``session``.
    progress_unit = "file"

    @abstractmethod
    def count(self) -> int | None:
        """How many ``progress_unit``s ``read`` goes through: the progress bar's total (None: not known before reading).

        It must equal the steps ``units`` makes: one per unit's ``files``.
        """

    def units(self, on_bad: BadRowHandler, book: CursorBook) -> Iterator[Unit]:
        """The records as ``import_agent_logs`` lands them: units of bundles, each with the cursor to keep.

        This default makes each bundle a unit without a cursor (every import reads everything; ids keep it
        idempotent). Readers that can tell unchanged and grown files from ``book``'s cursors override it.
        """
        for bundle in self.bundles(on_bad):
            meta = bundle.session.metadata if bundle.session is not None else None
            sub = isinstance(meta, dict) and "parent_session_id" in meta  # subagents come with their session
            yield Unit([bundle], files=0 if sub else 1)

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
            final usage, a session's title or last time), replaced by id.
        unchanged: Log files (a session's files count as one) unchanged since the last import, not read.
    """

    skipped_types: Counter[str] = field(default_factory=Counter)
    incomplete: int = 0
    updated: int = 0
    unchanged: int = 0

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
        if self.unchanged:
            lines.append(f"files unchanged since the last import, not read: {self.unchanged}")
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
    """Land ``source``'s records in ``store``: records whose id the store holds are skipped, batches all or nothing.

    The source is read in units (``AgentLogSource.units``; a Claude Code session with its subagent files, a Codex
    rollout) and batches hold whole units: a strict run (``skip_bad=False``) stops at the first bad line with
    ``SourceError``, the batches committed before stay and the one being filled is dropped, so no session is ever
    half imported. Stored sessions, tool executions and usage records that the log now tells differently (a
    title or last time that moved, a call whose result arrived, a response's final usage) are replaced by id in
    the same commit.

    Readers that keep cursors (Claude Code, Codex) store, with each unit's records, how far each of its files was
    read (``behest_lab.sources._logcursor``): importing the same folder again opens no file that is unchanged, and
    a file that grew is read from where the last import stopped. A run killed midway keeps the cursors of the
    units it committed.

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

    writer = LogWriter(store, report, CursorBook(store, source.kind, source.location))
    source.counts = LogCounts()
    bar = _bar(progress, source.kind, source.count(), source.progress_unit)
    try:
        for unit in source.units(on_bad, writer.book):
            if unit.skipped:
                report.unchanged += unit.files
            else:
                writer.add_unit(unit)
            if writer.pending >= batch_records:
                writer.flush()
            bar.update(unit.files)
        writer.flush()
    finally:
        bar.close()
    report.updated = writer.updated
    report.skipped_types = source.counts.skipped_types
    report.incomplete = source.counts.incomplete
    return report


def _bar(progress: bool | None, kind: str, total: int | None, unit: str) -> Any:
    """A ``tqdm.auto`` bar of log files or sessions: shown when asked, or by default on a terminal or in a notebook."""
    import sys

    from tqdm.auto import tqdm

    show = progress if progress is not None else bool(sys.stderr.isatty()) or "ipykernel" in sys.modules
    return tqdm(total=total, desc=f"import {kind}", unit=unit, disable=not show, leave=False, dynamic_ncols=True)


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
