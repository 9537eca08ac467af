"""behest's SQLite backend (``SqlSessionStore``/``SqlExecutionStore``) as a source: ``sqlite:///path/agent.db``.

Rows are decoded by the same code as ``import_behest_sqlite`` (``interchange.behest_sqlite``: behest's SQL
readers' rules, tool-result ids recovered by pairing each session's messages in order). The file is opened
read-only. Fingerprints are computed by DuckDB's SQLite scanner over every column of each row (all read as text),
so finding what changed costs one scan of the ids and hashes, and only the sessions with new or changed rows are
decoded. A schema whose ``_sqlx_migrations`` names a migration behest_lab does not know (a newer behest) is
refused.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from behest_lab.errors import InterchangeError, SourceError
from behest_lab.interchange.behest_schema import COLUMNS, MIGRATIONS, table_columns
from behest_lab.interchange.behest_sqlite import (
    ROW_DECODERS,
    RowError,
    open_behest_sqlite,
    recover_tool_ids,
    select_sql,
)
from behest_lab.interchange.bundle import Bundle
from behest_lab.records import MessageRecord, Session
from behest_lab.sources.base import (
    DIGEST_MODULUS,
    DIGEST_SCHEMA,
    FINGERPRINT_SCHEMA,
    BadRowHandler,
    Want,
    provenance_for,
)
from behest_lab.stores.lake.instances import load_extensions

_CHILDREN = ("messages", "tool_executions", "usage_records")
_MAX_VARIABLES = 900
_SESSIONS_PER_QUERY = 200
#: Up to this many sessions, ``session_fingerprints`` reads their rows by index; beyond, it filters a full scan.
_SESSIONS_BY_INDEX = 2_000


def _path_of(url: str) -> Path:
    if "://" not in url:
        return Path(url)
    parts = urlsplit(url)
    # sqlite:///abs/path -> /abs/path; sqlite://rel/path (no third slash) -> rel/path
    return Path(unquote(parts.netloc + parts.path))


class SQLiteSource:
    """A behest SQLite database read as a source (see the module docstring).

    Args:
        url: ``sqlite:///path/to/agent.db`` or a plain path.

    Raises:
        SourceError: The file is missing, not SQLite, not behest's schema, or from an unknown behest version.
    """

    kind = "sqlite"

    def __init__(self, url: str) -> None:
        """Open the file read-only and check its schema."""
        self.path = _path_of(url)
        self.location = str(self.path.resolve())
        try:
            self._con = open_behest_sqlite(self.path)
        except InterchangeError as exc:
            raise SourceError(exc.reason, source=self.kind, location=self.location, table=exc.table) from exc
        self._present = table_columns(self._con)
        self._duck: duckdb.DuckDBPyConnection | None = None
        self._check_version()

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` is a SQLite file (by its header)."""
        try:
            with path.open("rb") as f:
                return f.read(16) == b"SQLite format 3\x00"
        except OSError:
            return False

    def _check_version(self) -> None:
        found = self._con.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        ).fetchone()
        if not found or not found[0]:
            return
        known = {m.version for m in MIGRATIONS}
        versions = {int(r[0]) for r in self._con.execute("SELECT version FROM _sqlx_migrations")}
        unknown = sorted(versions - known)
        if unknown:
            raise SourceError(
                f"the schema has behest migrations {unknown} that this behest_lab does not know "
                f"(known: {sorted(known)}); upgrade behest_lab",
                source=self.kind,
                location=self.location,
                table="_sqlx_migrations",
            )

    def _error(self, reason: str, table: str | None = None, key: Any = None, row: int | None = None) -> SourceError:
        return SourceError(
            reason,
            source=self.kind,
            location=self.location,
            table=table,
            key=None if key is None else str(key),
            row=row,
        )

    # --- fingerprints --------------------------------------------------------------------------------------------

    def _scanner(self) -> duckdb.DuckDBPyConnection:
        """One DuckDB connection for the source's life: loading the SQLite scanner is the costly part."""
        if self._duck is None:
            self._duck = duckdb.connect()
            load_extensions(self._duck, names=["sqlite_scanner"])
            self._duck.execute("SET sqlite_all_varchar = true")
        return self._duck

    def _columns(self, table: str) -> tuple[list[str], str]:
        """The columns hashed for ``table``'s fingerprints, and the column naming the owning session."""
        return [c for c in COLUMNS[table] if c in self._present[table]], "id" if table == "sessions" else "session_id"

    def _scan(self, select: str) -> pa.Table:
        """``select`` (with ``{table}``, ``{cols}``, ``{sid}`` and a ``sqlite_scan``) over behest's four tables."""
        parts = []
        for table in COLUMNS:
            cols, sid = self._columns(table)
            parts.append(select.format(table=table, cols=", ".join(cols), sid=sid))
        try:
            return self._scanner().execute(" UNION ALL ".join(parts), [str(self.path)] * len(parts)).to_arrow_table()
        except duckdb.Error as exc:
            raise self._error(f"cannot scan the database: {exc}") from exc

    def fingerprints(self) -> pa.Table:
        """Ids, owning sessions and a hash of every column, per row of behest's four tables."""
        return self._scan(
            f"SELECT '{{table}}' AS \"table\", {_canonical('id')} AS id, {_canonical('{sid}')} AS session_id, "
            "hash({cols}) AS fp FROM sqlite_scan(?, '{table}') WHERE id IS NOT NULL"
        ).cast(FINGERPRINT_SCHEMA)

    def digests(self) -> pa.Table:
        """Per table and session: the count of rows and the sum of their fingerprints (one scan of each table)."""
        return self._scan(
            f"SELECT '{{table}}' AS \"table\", {_canonical('{sid}')} AS session_id, count(*) AS n, "
            f"CAST(sum(CAST(hash({{cols}}) AS HUGEINT)) % {DIGEST_MODULUS} AS UBIGINT) AS total "
            "FROM sqlite_scan(?, '{table}') WHERE id IS NOT NULL GROUP BY 2"
        ).cast(DIGEST_SCHEMA)

    def session_fingerprints(self, sessions: Sequence[str | None]) -> pa.Table:
        """The fingerprints of the rows of ``sessions``, as ``fingerprints()`` gives them.

        Few sessions are read through SQLite's ``session_id`` indexes (behest writes ids in canonical lower-case
        text, which is what ``sessions`` names) and hashed by DuckDB from the same text the scanner gives; many
        are filtered from a full ``fingerprints()``.
        """
        named = sorted({s for s in sessions if s is not None})
        if len(named) > _SESSIONS_BY_INDEX:
            prints = self.fingerprints()
            wanted = pa.array([*named, *([None] if None in sessions else [])], pa.string())
            return prints.filter(pc.is_in(prints["session_id"], value_set=wanted, skip_nulls=False))
        parts = []
        try:
            for table in COLUMNS:
                cols, sid = self._columns(table)
                texts = ", ".join(f'CAST("{c}" AS TEXT) AS "{c}"' for c in cols)
                rows = self._in(f"SELECT {texts} FROM {table}", sid, named) if named else []
                if None in sessions:
                    rows += self._con.execute(f"SELECT {texts} FROM {table} WHERE {sid} IS NULL").fetchall()
                if not rows:
                    continue
                duck = self._scanner()
                duck.register(
                    "_rows", pa.table({c: pa.array([r[i] for r in rows], pa.string()) for i, c in enumerate(cols)})
                )
                query = (
                    f"SELECT '{table}' AS \"table\", {_canonical('id')} AS id, {_canonical(sid)} AS session_id, "
                    f"hash({', '.join(cols)}) AS fp FROM _rows WHERE id IS NOT NULL"
                )
                parts.append(duck.execute(query).to_arrow_table().cast(FINGERPRINT_SCHEMA))
                duck.unregister("_rows")
        except (sqlite3.DatabaseError, duckdb.Error) as exc:
            raise self._error(f"cannot read fingerprints: {exc}") from exc
        return (
            pa.concat_tables([p.cast(FINGERPRINT_SCHEMA) for p in parts]) if parts else FINGERPRINT_SCHEMA.empty_table()
        )

    # --- records -------------------------------------------------------------------------------------------------

    def read(self, want: Want | None, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """Whole sessions (all of them, or those in ``want.sessions``) as bundles; bad rows go to ``on_bad``."""
        selects = {t: select_sql(t, self._present[t]) for t in COLUMNS}
        try:
            if want is None:
                self._orphans(on_bad, None)
                cursor = self._con.execute(selects["sessions"] + " ORDER BY rowid")
                while rows := cursor.fetchmany(_SESSIONS_PER_QUERY):
                    yield from self._bundles(rows, selects, on_bad, None)
                return
            wanted = sorted(want.sessions)
            for i in range(0, len(wanted), _MAX_VARIABLES):
                chunk = wanted[i : i + _MAX_VARIABLES]
                rows = self._in(selects["sessions"], "id", chunk)
                rows.sort(key=lambda r: r["_rowid"])
                yield from self._bundles(rows, selects, on_bad, want)
            self._orphans(on_bad, set(wanted))
        except sqlite3.DatabaseError as exc:
            raise self._error(f"reading failed: {exc}") from exc

    def _in(self, select: str, column: str, keys: Sequence[Any]) -> list[sqlite3.Row]:
        found: list[sqlite3.Row] = []
        for i in range(0, len(keys), _MAX_VARIABLES):
            chunk = list(keys[i : i + _MAX_VARIABLES])
            found += self._con.execute(f"{select} WHERE {column} IN ({','.join('?' * len(chunk))})", chunk).fetchall()
        return found

    def _orphans(self, on_bad: BadRowHandler, sessions: set[str] | None) -> None:
        """Rows whose session row is missing (possible when foreign keys were off): reported, never read.

        With ``sessions`` only the rows naming one of them (in lower or upper case) are looked at, through the
        ``session_id`` indexes, so a partial read does not scan whole tables.
        """
        orphan = "session_id NOT IN (SELECT id FROM sessions)"
        for table in _CHILDREN:
            select = f"SELECT rowid, id, session_id FROM {table}"
            if sessions is None:
                rows = self._con.execute(f"{select} WHERE {orphan}").fetchall()
            else:
                keys = sorted(sessions | {k.upper() for k in sessions})
                rows = self._in(select, f"{orphan} AND session_id", keys)
            for rowid, rid, sid in rows:
                if sessions is None or str(sid).lower() in sessions:
                    on_bad(self._error(f"session {sid!r} does not exist in the database", table, rid, rowid))

    def _bundles(
        self, rows: list[sqlite3.Row], selects: dict[str, str], on_bad: BadRowHandler, want: Want | None
    ) -> Iterator[Bundle]:
        """Bundles of these session rows; with ``want``, only the wanted rows of each are decoded."""
        grouped = self._children([r["id"] for r in rows], selects)
        for row in rows:
            session = self._decode("sessions", row, on_bad)
            mine = grouped.get(row["id"], {})
            if session is None:
                for kind, lost in mine.items():
                    for child in lost:
                        on_bad(self._error("its session row does not decode", kind, child["id"], child["_rowid"]))
                continue
            yield self._bundle(session, mine, on_bad, want)

    def _children(self, raw_ids: list[Any], selects: dict[str, str]) -> dict[Any, dict[str, list[sqlite3.Row]]]:
        """The child rows of the sessions ``raw_ids``, by raw session id and table, each list in rowid order."""
        grouped: dict[Any, dict[str, list[sqlite3.Row]]] = {}
        for table in _CHILDREN:
            found = self._in(selects[table], "session_id", raw_ids)
            found.sort(key=lambda r: r["_rowid"])
            for r in found:
                grouped.setdefault(r["session_id"], {}).setdefault(table, []).append(r)
        return grouped

    def _bundle(
        self, session: Session, mine: dict[str, list[sqlite3.Row]], on_bad: BadRowHandler, want: Want | None
    ) -> Bundle:
        """The bundle of a decoded session from its child rows ``mine`` (only the wanted ones with ``want``)."""
        bundle = Bundle(session=session)
        if want is None:
            bundle.messages = self._messages(mine.get("messages", []), on_bad)
        else:
            bundle.messages = self._wanted_messages(mine.get("messages", []), on_bad, want)
        bundle.executions = self._decode_wanted("tool_executions", mine.get("tool_executions", []), on_bad, want)
        bundle.usage = self._decode_wanted("usage_records", mine.get("usage_records", []), on_bad, want)
        bundle.provenance = [
            *provenance_for(self, "sessions", [session]),
            *provenance_for(self, "messages", bundle.messages),
            *provenance_for(self, "tool_executions", bundle.executions),
            *provenance_for(self, "usage_records", bundle.usage),
        ]
        return bundle

    def _decode_wanted(
        self, table: str, rows: list[sqlite3.Row], on_bad: BadRowHandler, want: Want | None
    ) -> list[Any]:
        """The rows of ``table`` that ``want`` wants (all without it), decoded; rows that do not decode are left out."""
        out: list[Any] = []
        for r in rows:
            wanted = want is None or want.wants(table, _key(r["id"]))
            if wanted and (record := self._decode(table, r, on_bad)) is not None:
                out.append(record)
        return out

    def _decode(self, table: str, row: sqlite3.Row, on_bad: BadRowHandler) -> Any:
        try:
            result = ROW_DECODERS[table](row)
        except RowError as exc:
            on_bad(self._error(exc.reason, table, row["id"], row["_rowid"]))
            return None
        return result[0] if isinstance(result, tuple) else result

    def _messages(self, rows: list[sqlite3.Row], on_bad: BadRowHandler) -> list[MessageRecord]:
        items: list[tuple[MessageRecord, int]] = []
        for row in rows:
            m = self._decode("messages", row, on_bad)
            if m is not None:
                items.append((m, row["_rowid"]))
        # conversation order: time, then insertion order (behest appends with created_at = now)
        items.sort(key=lambda it: (it[0].created_at, it[1]))
        fixed, _, _ = recover_tool_ids([m for m, _ in items])
        return fixed

    def _wanted_messages(self, rows: list[sqlite3.Row], on_bad: BadRowHandler, want: Want) -> list[MessageRecord]:
        """The wanted messages of one session, decoded, with tool-result ids paired as ``_messages`` pairs them.

        The other rows are not decoded: the pairing needs only each row's place in the conversation, its role and
        an assistant's ``tool_calls``. The place is the ``created_at`` text when every row has behest's fixed-width
        ``+00:00`` form (text order is time order then), else the parsed time.
        """
        if not any(want.wants("messages", _key(r["id"])) for r in rows):
            return []
        stamps = [r["created_at"] for r in rows]
        uniform = all(isinstance(t, str) and t.endswith("+00:00") and len(t) == len(stamps[0]) for t in stamps)
        if uniform:
            ordered = sorted(rows, key=lambda r: (r["created_at"], r["_rowid"]))
        else:
            return [m for m in self._messages(rows, on_bad) if want.wants("messages", str(m.id))]
        out: list[MessageRecord] = []
        queue: list[tuple[str, str]] = []
        for row in ordered:
            role = row["role"]
            wanted = want.wants("messages", _key(row["id"]))
            if role == "assistant":
                queue = _calls(row["tool_calls"])
            if not wanted:
                if role == "tool" and queue:
                    queue.pop(0)
                continue
            m = self._decode("messages", row, on_bad)
            if m is None:
                continue
            if m.role.value == "tool" and m.tool_call_id is None and m.tool_name is None and queue:
                call_id, name = queue.pop(0)
                m = m.with_tool_result(call_id, name)
            out.append(m)
        return out

    def close(self) -> None:
        """Close the database."""
        self._con.close()
        if self._duck is not None:
            self._duck.close()
            self._duck = None

    def __repr__(self) -> str:
        """The class and the location."""
        return f"<SQLiteSource {self.location}>"


def _key(raw: Any) -> str:
    """A row's id text as the fingerprints give it (canonical UUID text when it parses)."""
    try:
        return str(UUID(raw))
    except (TypeError, ValueError, AttributeError):
        return str(raw)


def _calls(text: Any) -> list[tuple[str, str]]:
    """``(id, name)`` of each tool call in an assistant row's ``tool_calls`` text (empty when it does not parse)."""
    try:
        calls = json.loads(text)
        return [(str(c["id"]), str(c["name"])) for c in calls]
    except (TypeError, ValueError, KeyError):
        return []


def _canonical(column: str) -> str:
    """SQL giving ``column``'s id text in canonical UUID form when it parses, else as stored."""
    return f"coalesce(CAST(TRY_CAST({column} AS UUID) AS VARCHAR), {column})"


__all__ = ["SQLiteSource"]
