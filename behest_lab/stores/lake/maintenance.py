"""Lake housekeeping: compaction and the snapshot list (time travel).

``compact`` is safe while other processes read and write: every step is an ordinary DuckLake commit, files are
only deleted once no kept snapshot refers to them, and snapshots younger than ``keep`` are never expired, so
readers and ``open_store(path, snapshot=N)`` on recent snapshots keep working.

Files are deleted only inside the lake's own data path. The catalog says which files to delete, and a catalog can
be crafted (a store folder from someone else, a shared PostgreSQL catalog) to name any file: an absolute path, a
``../`` path, a folder inside ``data/`` that is a symbolic link to elsewhere. ``compact`` therefore first asks
DuckLake which files it would delete (``dry_run``), resolves each (symbolic links included), and only lets DuckLake
delete when every file is inside the data path. A scheduled deletion naming a file outside is dropped from the
catalog (the file is not the store's, so the store forgets it) and reported in ``CompactionReport.files_refused``
with an ``UnsafePathWarning``; orphan removal (below) is skipped for that run if any orphan resolves outside.

Between compactions the store maintains itself: ``AutoMerger`` runs after each bulk commit and each flush of
inlined rows, and merges a table's small files once there are more than ``AutoMerge.threshold`` of them. It never
deletes a file: the files a merge replaced stay on disk (scheduled for deletion in the catalog) until ``compact()``
removes them once no kept snapshot refers to them, so a reader in another process that is still scanning them is
never cut short, and time travel to a snapshot before the merge keeps working.

Orphans are Parquet files in the data path that no catalog entry names: files written by a commit or migration
that was killed before it committed. They are removed once their modification time is older than both ``keep``
and ``ORPHAN_MIN_AGE``, so a file another process has written for a commit still in flight is never touched.
"""

from __future__ import annotations

import os
import posixpath
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import duckdb

from behest_lab.errors import BehestLabError
from behest_lab.stores.lake.config import AutoMerge
from behest_lab.stores.lake.engine import Engine
from behest_lab.stores.lake.retry import FLUSH_RETRY

#: Snapshots younger than this survive ``compact()`` unless told otherwise.
DEFAULT_KEEP = timedelta(hours=1)
#: Orphaned files younger than this (by modification time) are never removed, whatever ``keep`` says: a commit in
#: flight in another process writes its Parquet files before the catalog names them.
ORPHAN_MIN_AGE = timedelta(hours=1)


class UnsafePathWarning(UserWarning):
    """The catalog named a file outside the lake's data path for deletion; it was left alone."""


@dataclass(frozen=True)
class Snapshot:
    """One committed version of the lake.

    Attributes:
        id: the snapshot id (``open_store(path, snapshot=id)`` opens it read-only).
        time: commit time (UTC).
        changes: what changed, e.g. ``{"inlined_insert": ["messages"], "tables_created": ["main.sessions"]}``;
            table ids are replaced by table names where the catalog still knows them.
        message: behest_lab's description of the write (``"append_message <id>"``), None for engine commits.
    """

    id: int
    time: datetime
    changes: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None


@dataclass(frozen=True)
class CompactionReport:
    """What ``compact()`` did.

    Attributes:
        files_before: live files before compaction (data and delete files, all tables).
        files_after: live files afterwards.
        snapshots_expired: ids of the snapshots removed.
        files_deleted: files removed from disk (those of expired snapshots and merged files, and orphans).
        orphans_deleted: of ``files_deleted``, orphans: files no catalog entry named (left by a killed commit or
            migration).
        files_refused: files the catalog asked to delete that resolve outside the lake's data path; left alone.
    """

    files_before: int
    files_after: int
    snapshots_expired: list[int]
    files_deleted: int
    orphans_deleted: int = 0
    files_refused: list[str] = field(default_factory=list)


def _table_names(engine: Engine) -> dict[str, str]:
    rows = engine.rows(f"SELECT DISTINCT table_id, table_name FROM {engine.meta}.ducklake_table")
    return {str(r["table_id"]): str(r["table_name"]) for r in rows}


def snapshots(engine: Engine) -> list[Snapshot]:
    """Every kept snapshot, oldest first."""
    names = _table_names(engine)
    rows = engine.rows(
        f"SELECT snapshot_id, snapshot_time, changes, commit_message FROM {engine.alias}.snapshots() ORDER BY 1"
    )
    out = []
    for r in rows:
        changes: dict[str, list[str]] = {}
        for kind, values in (r["changes"] or {}).items():
            changes[str(kind)] = [names.get(str(v), str(v)) for v in values]
        out.append(
            Snapshot(
                id=int(r["snapshot_id"]),
                time=r["snapshot_time"].astimezone(UTC),
                changes=changes,
                message=r["commit_message"],
            )
        )
    return out


def _live_files(engine: Engine) -> int:
    """Data files plus delete files the latest snapshot uses (all tables)."""
    live = "WHERE end_snapshot IS NULL"
    return int(
        engine.scalar(
            f"SELECT (SELECT count(*) FROM {engine.meta}.ducklake_data_file {live}) "
            f"+ (SELECT count(*) FROM {engine.meta}.ducklake_delete_file {live})"
        )
        or 0
    )


def compact(engine: Engine, keep: timedelta = DEFAULT_KEEP) -> CompactionReport:
    """Compact the lake: fewer, sorted files and no history older than ``keep``.

    Flush inlined rows to Parquet (sorted by each table's sort key), merge small files, rewrite files with
    many deletes, expire snapshots older than ``keep`` (never the latest), delete files no kept snapshot uses and
    orphans older than ``keep`` and ``ORPHAN_MIN_AGE``; only ever inside the lake's data path (see the module).

    Args:
        engine: the lake.
        keep: snapshots younger than this are kept, so running readers and recent time travel keep working.
    """
    engine.check_writable()
    # compaction merges everything itself: no automatic merge between its steps
    hook, engine.after_write = engine.after_write, None
    try:
        return _compact(engine, keep)
    finally:
        engine.after_write = hook


def _compact(engine: Engine, keep: timedelta) -> CompactionReport:
    before = _live_files(engine)
    engine.flush_inlined()
    for call in (
        f"CALL ducklake_merge_adjacent_files('{engine.alias}')",
        f"CALL ducklake_rewrite_data_files('{engine.alias}')",
    ):

        def step(con: duckdb.DuckDBPyConnection, call: str = call) -> Any:
            return con.execute(call).fetchall()

        engine.write(step, f"compact: {call.split('(')[0][5:]}")
    cutoff = datetime.now(UTC) - keep
    # DuckLake's own ``older_than`` filter is unreliable on a SQLite catalog (it expired fresh snapshots in our
    # tests), so the old snapshot ids are chosen here and expired by id.
    rows = engine.rows(f"SELECT snapshot_id, snapshot_time FROM {engine.meta}.ducklake_snapshot ORDER BY snapshot_id")
    latest = max(int(r["snapshot_id"]) for r in rows)
    old = [
        int(r["snapshot_id"]) for r in rows if int(r["snapshot_id"]) != latest and _when(r["snapshot_time"]) < cutoff
    ]
    deleted = 0
    refused: list[str] = []
    if old:

        def expire(con: duckdb.DuckDBPyConnection) -> Any:
            return con.execute(f"CALL ducklake_expire_snapshots('{engine.alias}', versions => ?)", [old]).fetchall()

        engine.write(expire, f"compact: expire {len(old)} snapshots")
        # only files of expired snapshots are scheduled for deletion, so removing all is safe once every one of
        # them is known to be the lake's own
        refused = _refuse_outside(engine)
        deleted = engine.write(_cleanup(engine), "compact: cleanup files")
    orphans, outside = _delete_orphans(engine, datetime.now(UTC) - max(keep, ORPHAN_MIN_AGE))
    refused += outside
    return CompactionReport(before, _live_files(engine), old, deleted + orphans, orphans, refused)


def _data_path(engine: Engine) -> str:
    """Where the lake's files live (the path DuckLake deletes in), as DuckLake reports file paths."""
    if engine.location.data_path is not None:
        return engine.location.data_path
    value = engine.scalar(f"SELECT value FROM ducklake_options('{engine.alias}') WHERE option_name = 'data_path'")
    return str(value or "")


def is_inside(path: str, data_path: str) -> bool:
    """Whether ``path`` (as DuckLake names it) lies strictly inside ``data_path``.

    Local paths are compared after resolving symbolic links and ``..``; object-storage URLs (``s3://``) after
    normalising ``..`` in the key, and must share the bucket.
    """
    parts, base = urlsplit(path), urlsplit(data_path)
    if len(base.scheme) > 1 or len(parts.scheme) > 1:  # a one-letter "scheme" is a Windows drive
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return False
        key = posixpath.normpath("/" + parts.path.lstrip("/"))
        prefix = posixpath.normpath("/" + base.path.lstrip("/"))
        return key.startswith(prefix.rstrip("/") + "/")
    real = os.path.realpath(path)
    root = os.path.realpath(data_path)
    return os.path.commonpath([real, root]) == root and real != root


def _refuse_outside(engine: Engine) -> list[str]:
    """Drop every scheduled deletion that resolves outside the data path from the catalog; return their paths."""
    data_path = _data_path(engine)
    rows = engine.rows(f"CALL ducklake_cleanup_old_files('{engine.alias}', cleanup_all => true, dry_run => true)")
    outside = sorted({str(r["path"]) for r in rows if not is_inside(str(r["path"]), data_path)})
    if not outside:
        return []
    scheduled = engine.rows(
        f"SELECT data_file_id, path, path_is_relative FROM {engine.meta}.ducklake_files_scheduled_for_deletion"
    )
    doomed = [r for r in scheduled if _full_path(r, data_path) in outside]

    def forget(con: duckdb.DuckDBPyConnection) -> None:
        for r in doomed:
            con.execute(
                f"DELETE FROM {engine.meta}.ducklake_files_scheduled_for_deletion WHERE data_file_id = ? AND path = ?",
                [r["data_file_id"], r["path"]],
            )

    # a write to the catalog database only (DuckLake's own cleanup takes the catalog's write lock separately)
    engine.write(forget, "compact: refuse files outside the data path")
    for path in outside:
        warnings.warn(
            f"{engine.description}: the catalog scheduled {path} for deletion, outside the data path {data_path};"
            " it was left alone and dropped from the catalog",
            UnsafePathWarning,
            stacklevel=4,
        )
    return outside


def _full_path(row: dict[str, Any], data_path: str) -> str:
    path = str(row["path"])
    return data_path + path if row["path_is_relative"] else path


def _cleanup(engine: Engine) -> Callable[[duckdb.DuckDBPyConnection], int]:
    """The cleanup transaction: DuckLake deletes its scheduled files, if every one is inside the data path."""
    data_path = _data_path(engine)

    def cleanup(con: duckdb.DuckDBPyConnection) -> int:
        # the dry run and the deletion read the catalog in one transaction, so they see the same list
        call = f"CALL ducklake_cleanup_old_files('{engine.alias}', cleanup_all => true"
        planned = [str(r[0]) for r in con.execute(call + ", dry_run => true)").fetchall()]
        if not planned or not all(is_inside(p, data_path) for p in planned):
            # nothing to do, or an entry outside arrived since ``_refuse_outside``: the next compact handles it
            return 0
        return len(con.execute(call + ")").fetchall())

    return cleanup


def _delete_orphans(engine: Engine, older_than: datetime) -> tuple[int, list[str]]:
    """Remove orphaned files last modified before ``older_than``; (how many, those refused as outside)."""
    data_path = _data_path(engine)
    call = f"CALL ducklake_delete_orphaned_files('{engine.alias}', older_than => ?"
    planned = [str(r["path"]) for r in engine.rows(call + ", dry_run => true)", [older_than])]
    outside = sorted(p for p in planned if not is_inside(p, data_path))
    if outside:
        for path in outside:
            warnings.warn(
                f"{engine.description}: {path} looks orphaned but resolves outside the data path {data_path};"
                " no orphan was removed",
                UnsafePathWarning,
                stacklevel=4,
            )
        return 0, outside
    if not planned:
        return 0, []
    return len(engine.rows(call + ")", [older_than])), []


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("+00", "+00:00") if str(value).endswith("+00") else str(value))


class AutoMerger:
    """Merges a table's small files after a commit once they pass a threshold (``Engine.after_write``).

    A run counts each table's live data files smaller than ``settings.small_file_bytes`` in the catalog (one catalog
    query), and for every table holding more than ``settings.threshold`` of them commits a DuckLake
    ``merge_adjacent_files`` restricted to files of that size: the rows move into files of up to the table's target
    size, sorted by its sort key, and every snapshot keeps its rows (time travel is unaffected). The merge is an
    ordinary write: it takes the store's writer lock, and readers re-run a query that overlapped it
    (``reads.consistent``). A merge that loses against other writers is given up (``skipped``) and tried again
    after the next commit; the write that triggered it has committed either way.

    Args:
        engine: the lake (a writable one).
        settings: the threshold and file size.
    """

    def __init__(self, engine: Engine, settings: AutoMerge) -> None:
        """Merge ``engine``'s tables by ``settings``; nothing counted yet."""
        self.engine = engine
        self.settings = settings
        #: merge commits made
        self.merges = 0
        #: how much those merges lowered the tables' small-file counts
        self.files_merged = 0
        #: runs given up (a conflict or an error; the files stay until the next run)
        self.skipped = 0
        #: the error of the last skipped run
        self.last_error: str | None = None
        # per table, the small files a run could not merge (files with deletes, which only ``compact()`` rewrites):
        # the next run waits until ``threshold`` more have come, so such files never cost a merge per commit
        self._unmerged: dict[str, int] = {}
        self._busy = False

    def small_files(self) -> dict[str, int]:
        """Live data files smaller than ``small_file_bytes``, per table name (tables without any left out)."""
        e = self.engine
        rows = e.rows(
            f"SELECT t.table_name AS name, count(*) AS n FROM {e.meta}.ducklake_data_file AS f "
            f"JOIN {e.meta}.ducklake_table AS t ON t.table_id = f.table_id AND t.end_snapshot IS NULL "
            "WHERE f.end_snapshot IS NULL AND f.file_size_bytes < ? GROUP BY t.table_name",
            [self.settings.small_file_bytes],
        )
        return {str(r["name"]): int(r["n"]) for r in rows}

    def __call__(self) -> None:
        """One run after a commit; never raises for a lost race (the commit that called it stands)."""
        if self._busy:  # the merge's own commit calls back here
            return
        self._busy = True
        try:
            self.run()
        except BehestLabError as exc:
            # lost against other writers (``CommitConflictError``) or could not read or write: a read reports a
            # damaged file to whoever reads it; the files simply wait for the next run
            self.skipped += 1
            self.last_error = str(exc)
        finally:
            self._busy = False

    def run(self) -> int:
        """Merge every table over the threshold now; how much its small-file count went down.

        Raises:
            CommitConflictError: the merge kept losing against other writers.
            BackendError: the catalog or a file could not be read or written.
        """
        threshold = self.settings.threshold
        due = {name: n for name, n in self.small_files().items() if n > self._unmerged.get(name, 0) + threshold}
        if not due:
            return 0
        for table in sorted(due):

            def merge(con: duckdb.DuckDBPyConnection, table: str = table) -> None:
                con.execute(
                    f"CALL ducklake_merge_adjacent_files('{self.engine.alias}', ?, max_file_size => ?)",
                    [table, self.settings.small_file_bytes],
                ).fetchall()
                self.engine.changed()

            self.engine.write(merge, f"auto-merge {table}: {due[table]} small files", retry=FLUSH_RETRY)
            self.merges += 1
        left = self.small_files()
        for name in due:
            self._unmerged[name] = left.get(name, 0) if left.get(name, 0) > threshold else 0
        replaced = sum(max(n - left.get(name, 0), 0) for name, n in due.items())
        self.files_merged += replaced
        return replaced
