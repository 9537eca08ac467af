"""Import cursors of agent logs: which bytes of which file an earlier import already read, kept in the store.

A reader that can resume (``AgentLogSource.units``) reads its logs in units (one session's files) and hands each
unit's cursor to ``import_agent_logs``, which stores it in the same ``write_batch`` commit as the unit's records, as
two rows of the ``provenance`` table under the pseudo-tables ``agent_log_files`` and ``agent_log_state`` (``record_id``
a UUIDv5 of the reader's kind and the unit key, ``location`` the path given to the import, ``ref`` JSON):

* ``agent_log_files``: per file its path, size, modification time, the byte offset read up to (the end of the last
  line that ended with a newline), the number of lines before it, a hash of the first KB and a hash of the KB
  before the offset; and the ids of the sessions the unit made;
* ``agent_log_state``: what the reader knew after those bytes (open tool calls, usage seen, titles ...), in the
  reader's own JSON.

A run killed at any point leaves cursors that describe exactly the records committed with them, so the next run
reads from there. ``plan`` decides what a unit needs: nothing (every file as it was, and its sessions still in the
store), the new bytes only (files that grew at their end, read in the same order a whole read would take), or a
whole read (anything else: a file rewritten, shrunk or gone, or growth whose order a resumed read cannot keep).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from behest_lab.errors import SourceError
from behest_lab.interchange.bundle import Bundle
from behest_lab.records import Provenance
from behest_lab.sources.base import BadRowHandler
from behest_lab.stores.protocols import Store

#: Pseudo-tables of the ``provenance`` table that hold the cursors and the readers' states.
CURSOR_TABLE = "agent_log_files"
STATE_TABLE = "agent_log_state"

_HASHED = 1024
_STATES_AT_ONCE = 200


@dataclass
class FileMark:
    """One file as an import left it: its size and time then, and how far it was read."""

    path: str
    size: int
    mtime_ns: int
    offset: int
    lines: int
    head: str
    tail: str

    @classmethod
    def of(cls, path: Path, offset: int, lines: int) -> FileMark:
        """The mark of ``path`` read up to byte ``offset`` (``lines`` lines before it)."""
        st = path.stat()
        head, tail = _ends(path, offset)
        return cls(str(path), st.st_size, st.st_mtime_ns, offset, lines, head, tail)


def _ends(path: Path, offset: int) -> tuple[str, str]:
    """Hashes of the first KB and of the last KB of ``path``'s first ``offset`` bytes."""
    return _hash(path, 0, min(_HASHED, offset)), _hash(path, offset - _HASHED, offset)


def _hash(path: Path, start: int, end: int) -> str:
    """A BLAKE2b hash of the bytes of ``path`` from ``start`` (clamped at 0) to ``end``."""
    begin = max(start, 0)
    with path.open("rb") as f:
        f.seek(begin)
        return hashlib.blake2b(f.read(max(end - begin, 0)), digest_size=12).hexdigest()


@dataclass
class Cursor:
    """A unit's files as the last import read them, and the sessions it made."""

    key: str
    files: list[FileMark]
    sessions: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """The cursor as compact JSON."""
        return json.dumps({"key": self.key, "files": [asdict(m) for m in self.files], "sessions": self.sessions})

    @classmethod
    def from_json(cls, text: str) -> Cursor:
        """A cursor written by ``to_json``."""
        value = json.loads(text)
        return cls(value["key"], [FileMark(**m) for m in value["files"]], list(value["sessions"]))


@dataclass
class Start:
    """Where a read of one file begins: a byte offset and the number of lines before it."""

    path: Path
    offset: int = 0
    lines: int = 0


@dataclass
class Plan:
    """What a unit needs: ``skip`` (nothing changed), else the files' starts and the state to resume from."""

    skip: bool
    starts: list[Start]
    state: dict[str, Any] | None = None
    resume: bool = False


@dataclass
class Unit:
    """Records of one unit of a source, with the cursor to keep once they are stored (None: nothing to keep)."""

    bundles: list[Bundle]
    cursor: Cursor | None = None
    state: dict[str, Any] | None = None
    files: int = 1
    skipped: bool = False


def cursor_id(kind: str, key: str) -> UUID:
    """The ``record_id`` of a unit's cursor rows."""
    from behest_lab.sources.agentlogs import derived_id

    return derived_id(kind, "cursor", key)


class CursorBook:
    """The cursors a store keeps for one source location, loaded once; states and session ids on demand."""

    def __init__(self, store: Store | None, kind: str, location: str) -> None:
        """Load the cursors of ``kind`` at ``location`` from ``store`` (none without a store)."""
        self.store = store
        self.kind = kind
        self.location = location
        self.cursors: dict[str, Cursor] = {}
        self._sessions: set[str] | None = None
        if store is None:
            return
        rows = store.query(
            'SELECT ref FROM provenance WHERE "table" = ? AND source = ? AND location = ?',
            [CURSOR_TABLE, kind, location],
        ).rows()
        for (ref,) in rows:
            try:
                cursor = Cursor.from_json(ref)
            except (ValueError, KeyError, TypeError):
                continue  # a cursor this version cannot read: its unit is read whole
            self.cursors[cursor.key] = cursor

    def holds_sessions(self, ids: Sequence[str]) -> bool:
        """Whether the store still holds every session in ``ids`` (a deleted session is read again)."""
        if self.store is None:
            return False
        if self._sessions is None:
            rows = self.store.query("SELECT CAST(id AS VARCHAR) FROM sessions").rows()
            self._sessions = {r[0] for r in rows}
        return all(i in self._sessions for i in ids)

    def plans(self, units: Sequence[tuple[str, Sequence[Path]]]) -> Iterator[Plan]:
        """What reading each ``(key, files)`` unit needs now, in order.

        Every unit is planned first (file stats only); the kept states of the units to resume are then fetched
        200 at a time, each lot in one query, as the reading reaches them.
        """
        out = [self.plan(key, files, fetch=False) for key, files in units]
        resume = [i for i, p in enumerate(out) if p.resume]
        fetched: dict[int, dict[str, Any] | None] = {}
        done = 0
        for i, plan in enumerate(out):
            if plan.resume:
                if i not in fetched:
                    lot = resume[done : done + _STATES_AT_ONCE]
                    done += len(lot)
                    states = self.states([units[j][0] for j in lot])
                    fetched.update((j, states.get(units[j][0])) for j in lot)
                plan.state = fetched.pop(i)
                if plan.state is None:
                    plan.starts = [Start(f) for f in units[i][1]]
            yield plan

    def states(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The reader states kept with the cursors of ``keys`` (keys without a readable one are left out)."""
        if self.store is None or not keys:
            return {}
        by_id = {str(cursor_id(self.kind, k)): k for k in keys}
        rows = self.store.query(
            'SELECT CAST(record_id AS VARCHAR), ref FROM provenance WHERE "table" = ? AND location = ? '
            "AND record_id IN (SELECT unnest(?::UUID[]))",
            [STATE_TABLE, self.location, list(by_id)],
        ).rows()
        out: dict[str, dict[str, Any]] = {}
        for rid, ref in rows:
            try:
                value = json.loads(ref)
            except ValueError:
                continue
            if isinstance(value, dict):
                out[by_id[rid]] = value
        return out

    def plan(self, key: str, files: Sequence[Path], *, fetch: bool = True) -> Plan:
        """What reading unit ``key`` (``files`` in the order a whole read takes them) needs now.

        With ``fetch=False`` a unit to resume comes back with ``resume`` set and no state yet (``plans`` fetches
        the states of many units at once).
        """
        whole = Plan(False, [Start(f) for f in files])
        cursor = self.cursors.get(key)
        if cursor is None:
            return whole
        marks = {m.path: m for m in cursor.files}
        if not set(marks) <= {str(f) for f in files}:
            return whole  # a file is gone
        starts: list[Start] = []
        changed: list[bool] = []
        for file in files:
            found = _start(file, marks.get(str(file)))
            if found is None:
                return whole
            starts.append(found[0])
            changed.append(found[1])
        if not any(changed):
            return Plan(True, starts) if self.holds_sessions(cursor.sessions) else whole
        first = changed.index(True)
        if any(s.offset for s in starts[first + 1 :]):
            return whole  # bytes read before would come after new ones: a resumed read would change the order
        if not self.holds_sessions(cursor.sessions):
            return whole
        if not fetch:
            return Plan(False, starts, resume=True)
        state = self.states([key]).get(key)
        if state is None:
            return whole
        return Plan(False, starts, state)

    def rows(self, unit: Unit) -> list[Provenance]:
        """The provenance rows that keep ``unit``'s cursor and state."""
        if unit.cursor is None:
            return []
        rid = cursor_id(self.kind, unit.cursor.key)
        rows = [(CURSOR_TABLE, unit.cursor.to_json()), (STATE_TABLE, json.dumps(unit.state or {}))]
        return [
            Provenance.model_construct(record_id=rid, table=t, source=self.kind, location=self.location, ref=ref)
            for t, ref in rows
        ]


def _start(file: Path, mark: FileMark | None) -> tuple[Start, bool] | None:
    """Where to read ``file`` from after ``mark`` and whether it has bytes not read yet; None: read it whole."""
    if mark is None:
        return Start(file), True
    try:
        st = file.stat()
    except OSError:
        return None
    same = st.st_size == mark.size and st.st_mtime_ns == mark.mtime_ns
    if not same and (st.st_size < mark.offset or _ends(file, mark.offset) != (mark.head, mark.tail)):
        return None  # rewritten, not appended to
    return Start(file, mark.offset, mark.lines), not same or mark.offset < st.st_size


@dataclass
class Line:
    """A decoded line: its number, its object, the byte offset after it, and whether it ended with a newline."""

    number: int
    obj: dict[str, Any]
    end: int
    ended: bool


def read_from(start: Start, kind: str, on_bad: BadRowHandler, counts: Any) -> Iterator[Line]:
    """The JSON object lines of ``start.path`` from ``start.offset`` on (numbered after ``start.lines``).

    Blank lines are passed over. A last line without a newline that does not decode is counted in
    ``counts.incomplete`` and left out; other undecodable lines, and lines that are JSON but not objects, go to
    ``on_bad`` with the file and line.
    """
    path = start.path
    offset = start.offset
    with path.open("rb") as f:
        f.seek(offset)
        for number, raw in enumerate(f, start=start.lines + 1):
            offset += len(raw)
            ended = raw.endswith(b"\n")
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                if not ended:
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
            yield Line(number, value, offset, ended)


class Progress:
    """How far each file of a unit was read: the offset after its last line with a newline, and lines before it."""

    def __init__(self, starts: Sequence[Start]) -> None:
        """Start at ``starts``."""
        self.at = {str(s.path): (s.offset, s.lines) for s in starts}
        self.paths = [s.path for s in starts]
        self.dirty = False

    def advance(self, path: Path, line: Line) -> None:
        """Mark ``line`` of ``path`` read.

        Only lines that ended with a newline move the cursor; a last line without one that decoded anyway makes the
        read ``dirty``: what the reader knows then is more than the cursor covers, so no cursor is kept for it.
        """
        if line.ended:
            self.at[str(path)] = (line.end, line.number)
        else:
            self.dirty = True

    def skip_blank_tail(self) -> None:
        """Move each offset over trailing complete blank lines (they hold nothing to read again)."""
        for path in self.paths:
            offset, lines = self.at[str(path)]
            with path.open("rb") as f:
                f.seek(offset)
                for raw in f:
                    if raw.strip() or not raw.endswith(b"\n"):
                        break
                    offset += len(raw)
                    lines += 1
            self.at[str(path)] = (offset, lines)

    def cursor(self, key: str, sessions: Sequence[str]) -> Cursor:
        """The cursor of the unit as read so far."""
        self.skip_blank_tail()
        marks = [FileMark.of(p, *self.at[str(p)]) for p in self.paths]
        return Cursor(key, marks, sorted(sessions))
