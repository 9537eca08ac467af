"""Copy a whole lake store to another lake store.

Either direction between a local folder and a shared store (PostgreSQL catalog + S3), or local -> local.

The copy is physical: every row of every behest_lab table goes across unchanged (ids, timestamps, append
sequence numbers, recording order, vectors, artifact bytes), so the target answers every query exactly as the
source does. Only the lake's history (its snapshots) is not copied: the target starts with one snapshot holding
everything.

Rules:
- The target must be empty unless ``append=True``; with ``append`` an id that exists on both sides stops the copy
  before anything is written (nothing is merged or overwritten silently).
- The source is read inside one transaction, so a source that other processes keep writing to is copied as of
  one snapshot; the target is written in one transaction (all or nothing).
- The target's checks happen inside its write transaction: the emptiness / collision checks, its state before,
  and the verification before the commit. Each table's row count and an order-independent checksum of all columns
  (``sum(hash(...))``) must equal its value before plus the source's; a mismatch raises ``InterchangeError``
  naming the table and the transaction is rolled back. Other writers committing to the target meanwhile are not
  seen by these checks (snapshot isolation), so they neither fail a good copy nor hide a bad one.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa

from behest_lab.errors import BackendError, InterchangeError, NoStoreError
from behest_lab.stores import tables
from behest_lab.stores.protocols import Store

#: The physical tables copied, in dependency order (sessions before what refers to them).
COPY_TABLES: tuple[str, ...] = (
    "sessions",
    "messages",
    "tool_executions",
    "usage_records",
    "embeddings",
    "artifacts",
    "artifact_data",
)

_BATCH = "_behest_copy_batch"


@dataclass(frozen=True)
class TableCheck:
    """One table of a store copy.

    Attributes:
        table: the table name.
        source: rows in the source (at the snapshot read).
        before: rows in the target before the copy.
        after: rows in the target after the copy.
        checksum_ok: the target's column checksum equals its value before plus the source's.
    """

    table: str
    source: int
    before: int
    after: int
    checksum_ok: bool

    @property
    def ok(self) -> bool:
        """Counts add up and the checksum matches."""
        return self.after == self.before + self.source and self.checksum_ok


@dataclass
class CopyReport:
    """What ``copy_store`` did (``str()`` is the table the CLI prints).

    Attributes:
        source: where the data came from (a redacted description: never a password).
        target: where it went.
        appended: the target was not empty and the rows were added to it.
        tables: one ``TableCheck`` per copied table, in ``COPY_TABLES`` order.
        seconds: wall time of the copy and the verification.
    """

    source: str
    target: str
    appended: bool = False
    tables: list[TableCheck] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every table verified."""
        return all(t.ok for t in self.tables)

    @property
    def rows(self) -> int:
        """Rows copied, all tables."""
        return sum(t.source for t in self.tables)

    def __str__(self) -> str:
        head = f"{'table':<16}{'source':>10}{'target before':>15}{'target after':>14}  check"
        lines = [f"copy {self.source} -> {self.target}{' (append)' if self.appended else ''}", head]
        for t in self.tables:
            state = "ok" if t.ok else ("count mismatch" if t.after != t.before + t.source else "checksum mismatch")
            lines.append(f"{t.table:<16}{t.source:>10}{t.before:>15}{t.after:>14}  {state}")
        lines.append(f"{self.rows} rows in {self.seconds:.1f} s: {'verified' if self.ok else 'VERIFICATION FAILED'}")
        return "\n".join(lines)


def location(store: Store) -> str:
    """A printable description of where a store lives (the lake's redacted ``location`` or its folder)."""
    described = getattr(store, "location", None)
    if described is not None:
        return str(described)
    path = getattr(store, "path", None)
    return str(path) if path is not None else repr(store)


def _engine(store: Store, role: str) -> Any:
    """The lake engine behind ``store``; ``TypeError`` for other backends."""
    from behest_lab.stores.lake import LakeStore

    if not isinstance(store, LakeStore):
        raise TypeError(f"the {role} of a store copy must be a lake store (a folder or a shared store), got {store!r}")
    return store._engine


def _columns(table: str) -> str:
    return ", ".join(c.name for c in tables.TABLES[table])


def _fingerprints(con: duckdb.DuckDBPyConnection, alias: str) -> dict[str, tuple[int, int]]:
    """Per table ``(rows, sum of a hash of every column)``: equal for two tables holding the same rows in any order.

    One query for all tables: on a shared store every statement costs catalog round trips.
    """
    parts = [
        f"SELECT '{t}' AS t, count(*) AS n, coalesce(sum(hash({_columns(t)})::HUGEINT), 0) AS h FROM {alias}.main.{t}"
        for t in COPY_TABLES
    ]
    rows = con.execute(" UNION ALL ".join(parts)).fetchall()
    return {str(t): (int(n), int(h)) for t, n, h in rows}


def _collision(con: duckdb.DuckDBPyConnection, qualified: str) -> str | None:
    row = con.execute(
        f"SELECT id::VARCHAR FROM {qualified} WHERE id IN (SELECT id::UUID FROM {_BATCH}) LIMIT 1"
    ).fetchone()
    return None if row is None else str(row[0])


def copy_store(
    source: Store,
    target: Store,
    *,
    append: bool = False,
    batch_rows: int = 50_000,
) -> CopyReport:
    """Copy every row of ``source`` into ``target`` (both lake stores) and verify it table by table.

    Args:
        source: the store to read (not changed).
        target: the store to write; must be empty unless ``append``.
        append: allow a non-empty target; the copy is refused if any id exists on both sides.
        batch_rows: rows per Arrow batch streamed from the source (bounds memory, not the transaction).

    Returns:
        The report; ``report.ok`` is True (a failed verification raises instead).

    Raises:
        InterchangeError: the target is not empty (without ``append``), an id is on both sides (with ``append``),
            or the verification found a table whose rows differ; the target is left unchanged.
        BackendError: reading the source or writing the target failed (credentials scrubbed from the text).
        CommitConflictError: the target's commit kept colliding with other writers.
        TypeError: a store is not a lake store.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
    src, dst = _engine(source, "source"), _engine(target, "target")
    dst.check_writable()
    if src is dst:
        raise InterchangeError("source and target are the same store")
    started = time.perf_counter()
    report = CopyReport(location(source), location(target))
    # one read transaction on a private cursor: every table (and its checksum) is read at one snapshot
    cur = src.con.cursor()
    try:
        try:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute("BEGIN TRANSACTION")
            source_fp = _fingerprints(cur, src.alias)
        except duckdb.Error as exc:
            raise _backend(src, "reading the source", exc) from None
        # Everything about the target (its emptiness, its fingerprint before, the copy, the verification) happens
        # inside ONE write transaction: writers committing meanwhile are invisible to it, so they can neither make
        # a good copy look failed nor slip rows between the checks; any failure rolls the whole copy back.
        dst.write(
            lambda con: _copy(con, cur, src, dst, source_fp, report, append, batch_rows),
            f"copy from {report.source}",
        )
    finally:
        with contextlib.suppress(duckdb.Error):  # the transaction never began
            cur.execute("ROLLBACK")
        cur.close()
    report.seconds = time.perf_counter() - started
    return report


def _backend(engine: Any, what: str, exc: Exception) -> BackendError:
    """A DuckDB error as ``BackendError`` with every credential of ``engine``'s lake scrubbed from its text."""
    return BackendError("ducklake", f"{what} ({engine.description}): {engine.scrub(str(exc))}")


def _copy_table(
    con: duckdb.DuckDBPyConnection,
    cur: duckdb.DuckDBPyConnection,
    src: Any,
    dst: Any,
    table: str,
    report: CopyReport,
    batch_rows: int,
) -> None:
    """Insert every row of the source's ``table`` into the target's, ``batch_rows`` at a time, in recording order.

    Raises:
        InterchangeError: appending, and a row's id is already in the target.
        BackendError: reading the source failed.
    """
    cols = _columns(table)
    target = f"{dst.alias}.main.{table}"
    try:
        # rowid order keeps the recording order (the tie-break of list_executions / list_usage)
        reader = cur.execute(f"SELECT {cols} FROM {src.alias}.main.{table} ORDER BY rowid").to_arrow_reader(batch_rows)
        batches = iter(reader)
    except duckdb.Error as exc:
        raise _backend(src, f"reading {table} from the source", exc) from None
    while True:
        try:
            batch = next(batches, None)
        except (duckdb.Error, pa.ArrowException) as exc:
            raise _backend(src, f"reading {table} from the source", exc) from None
        if batch is None:
            break
        con.register(_BATCH, batch)
        try:
            taken = _collision(con, target) if report.appended else None
            if taken is not None:
                raise InterchangeError(
                    "this id is in both the source and the target; nothing was copied",
                    path=report.target,
                    table=table,
                    row_id=taken,
                )
            con.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {_BATCH}")
        finally:
            con.unregister(_BATCH)


def _copy(
    con: duckdb.DuckDBPyConnection,
    cur: duckdb.DuckDBPyConnection,
    src: Any,
    dst: Any,
    source_fp: dict[str, tuple[int, int]],
    report: CopyReport,
    append: bool,
    batch_rows: int,
) -> None:
    """The body of the target's write transaction (re-run whole when ``Engine.write`` retries a conflict).

    Raises:
        InterchangeError: the target is not empty (without ``append``), an id is on both sides, or the
            verification failed; raised before the commit, so nothing is written.
        BackendError: reading the source failed.
    """
    before = _fingerprints(con, dst.alias)
    non_empty = {t: n for t, (n, _) in before.items() if n}
    if non_empty and not append:
        counts = ", ".join(f"{t} {n}" for t, n in non_empty.items())
        raise InterchangeError(
            f"the target already holds rows ({counts}); copy into an empty store, or pass --append "
            "to add the source's rows (refused if any id is on both sides)",
            path=report.target,
        )
    report.appended = bool(non_empty)
    for table in COPY_TABLES:
        if source_fp[table][0]:
            _copy_table(con, cur, src, dst, table, report, batch_rows)
    if any(n for n, _ in source_fp.values()):
        dst.changed()
    # verified inside the transaction, before the commit: a mismatch raises and nothing is applied
    after = _fingerprints(con, dst.alias)
    report.tables = [
        TableCheck(
            table=t,
            source=source_fp[t][0],
            before=before[t][0],
            after=after[t][0],
            checksum_ok=after[t][1] == before[t][1] + source_fp[t][1],
        )
        for t in COPY_TABLES
    ]
    bad = [t for t in report.tables if not t.ok]
    if bad:
        raise InterchangeError(
            f"verification failed, nothing was copied: {', '.join(t.table for t in bad)} differ "
            f"(expected target = before + source; got {', '.join(f'{t.after} != {t.before}+{t.source}' for t in bad)}"
            " rows, or a checksum mismatch)\n" + str(report),
            path=report.target,
        )


def is_remote(where: str | os.PathLike[str]) -> bool:
    """True for a ``postgresql://`` / ``postgres://`` catalog URL, False for a folder."""
    text = os.fspath(where)
    return text.startswith(("postgresql://", "postgres://"))


def open_location(
    where: str | os.PathLike[str],
    *,
    data_path: str | None = None,
    s3: Any = None,
    create: bool = True,
) -> Store:
    """Open a store named on a command line: a ``postgresql://`` catalog URL (shared store) or a folder.

    Args:
        where: the catalog URL or the folder.
        data_path: the data path of a shared store (``s3://bucket/prefix/``); None: the one its catalog stores.
        s3: ``S3Options`` for a shared store (None: DuckDB secrets / ``AWS_*`` environment variables).
        create: allow creating a new store (False: the folder, or the catalog database, must hold one already).

    Raises:
        InterchangeError: bad shared-store settings, or (without ``create``) no store at ``where``.
    """
    from pydantic import ValidationError

    from behest_lab.stores.lake import StoreConfig, open_lake

    if is_remote(where):
        try:
            config = StoreConfig(catalog=os.fspath(where), data_path=data_path, s3=s3)
        except ValidationError as exc:
            # the reasons only: pydantic's full text repeats the input, which may hold a password
            reasons = "; ".join(str(e["msg"]) for e in exc.errors())
            raise InterchangeError(f"bad store settings: {reasons}", path=redact(os.fspath(where))) from None
        try:
            # without ``create`` DuckLake refuses to initialise an empty catalog database (a wrong URL must not
            # become a new, empty store that then "verifies" with 0 rows)
            return open_lake(config, create=create)
        except NoStoreError:
            raise InterchangeError(
                "no behest_lab store here (the catalog database holds no lake)", path=redact(os.fspath(where))
            ) from None
    from behest_lab.stores.lake.engine import CATALOG_FILE

    folder = Path(where).expanduser()
    if not create and not (folder / CATALOG_FILE).is_file():
        raise InterchangeError(f"no behest_lab store here (no {CATALOG_FILE})", path=str(folder))
    return open_lake(folder)


def redact(url: str) -> str:
    """``url`` with the password (if any) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


#: The names this module had when the store copy was called a migration (``behest-lab migrate``); they still work.
migrate_store = copy_store
MigrateReport = CopyReport
