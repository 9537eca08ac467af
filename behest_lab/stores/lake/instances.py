"""The process-wide DuckDB instances of the lake store and their extensions (loaded from pip packages).

Every lake store of a process shares two DuckDB instances: ``shared_instance`` for reads, bulk writes and
maintenance, and the single-threaded ``small_instance`` for one-row writes. Extensions are loaded from the pip
packages that ship them, never downloaded.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence

import duckdb

from behest_lab.errors import MissingExtensionError

#: DuckDB extension -> the pip package that ships it (loaded from the wheel, never from the network).
EXTENSIONS: dict[str, str] = {
    "parquet": "duckdb-extension-parquet",
    "json": "duckdb-extension-json",
    "sqlite_scanner": "duckdb-extension-sqlite-scanner",
    "ducklake": "duckdb-extension-ducklake",
}
#: Extensions loaded only for a shared lake (PostgreSQL catalog, object storage).
REMOTE_EXTENSIONS: dict[str, str] = {
    "postgres_scanner": "duckdb-extension-postgres-scanner",
    "httpfs": "duckdb-extension-httpfs",
}

_installed: set[str] = set()
#: guards extension installs, the instances and ``engine``'s table of attached catalogs
install_lock = threading.Lock()
_shared: duckdb.DuckDBPyConnection | None = None
_small: duckdb.DuckDBPyConnection | None = None


def load_extensions(con: duckdb.DuckDBPyConnection, *, lock: bool = True, names: Sequence[str] | None = None) -> None:
    """Load extensions from their pip packages (never the network); ``MissingExtensionError`` names a missing one.

    Args:
        con: a connection of the instance to load into (loading is instance-wide).
        lock: take the install lock (False when the caller holds it).
        names: the extensions (keys of ``EXTENSIONS`` or ``REMOTE_EXTENSIONS``); None: ``EXTENSIONS``.
    """
    packages = {**EXTENSIONS, **REMOTE_EXTENSIONS}
    for ext in EXTENSIONS if names is None else names:
        package = packages[ext]
        with install_lock if lock else contextlib.nullcontext():
            if ext not in _installed:
                try:
                    from duckdb_extensions import import_extension
                except ImportError as exc:
                    raise MissingExtensionError(ext, "duckdb-extensions", str(exc)) from None
                try:
                    import_extension(ext)
                except Exception as exc:  # the loader raises plain exceptions when the wheel is absent
                    raise MissingExtensionError(ext, package, str(exc)) from None
                _installed.add(ext)
        try:
            con.execute(f"LOAD {ext}")
        except duckdb.Error as exc:
            raise MissingExtensionError(ext, package, str(exc)) from None


def _prepare_instance(con: duckdb.DuckDBPyConnection) -> None:
    """Extensions and instance-wide settings of a process-wide instance (the caller holds the install lock).

    ``parquet_metadata_cache`` keeps each Parquet file's parsed footer in memory (checked against the file's
    modification time on use): a lake's data files never change once written, and parsing the footer again is a
    good part of a small read such as one session's messages.
    """
    load_extensions(con, lock=False)
    con.execute("SET parquet_metadata_cache = true")


def shared_instance() -> duckdb.DuckDBPyConnection:
    """The process-wide DuckDB instance with every extension loaded (created on first use)."""
    global _shared
    with install_lock:
        if _shared is None:
            con = duckdb.connect()
            try:
                _prepare_instance(con)
            except BaseException:
                con.close()
                raise
            _shared = con
        return _shared


def small_instance() -> duckdb.DuckDBPyConnection:
    """The process-wide single-threaded DuckDB instance for small writes (created on first use).

    With more than one thread, DuckDB's task scheduler wakes and parks workers for each of the dozen statements a
    DuckLake commit runs against its catalog; for a one-row write that costs more than the statements themselves
    (``append_message`` p50 about 12 ms with one thread against 17-22 ms with two on a 2-core machine). ``threads``
    is an instance-wide setting, hence a second instance; loading the extensions into it costs about 0.3 s once
    per process. It also skips the optimizer passes a one-row write gains nothing from (``_lean_optimizers``).
    """
    global _small
    with install_lock:
        if _small is None:
            con = duckdb.connect(config={"threads": 1})
            try:
                _prepare_instance(con)
                _lean_optimizers(con)
            except BaseException:
                con.close()
                raise
            _small = con
        return _small


#: optimizer passes the small-write instance keeps: pushing a filter into the lake scan and pruning files and
#: row groups by their min/max statistics is what makes an id lookup cheap (``_sql.has_id``)
SMALL_WRITE_OPTIMIZERS = frozenset(
    {"filter_pushdown", "statistics_propagation", "unused_columns", "limit_pushdown", "row_group_pruner", "extension"}
)


def _lean_optimizers(con: duckdb.DuckDBPyConnection) -> None:
    """Turn off the optimizer passes that a small write's statements gain nothing from.

    A one-row DuckLake commit runs a few dozen tiny queries against its catalog, and DuckDB runs every optimizer
    pass over each of them; ``python -m bench store`` shows ``append_message`` beside DuckLake's own single-row
    commit on a default instance. Optimizer passes never change a query's result, only its plan, and this instance
    only runs small writes.
    """
    names = [str(r[0]) for r in con.execute("SELECT name FROM duckdb_optimizers()").fetchall()]
    off = [n for n in names if n not in SMALL_WRITE_OPTIMIZERS]
    if off:
        con.execute(f"SET disabled_optimizers = {_quote(','.join(off))}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
