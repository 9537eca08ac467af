"""Schema versions of a lake store, upgraded by named migration steps.

The version lives in the lake itself (table ``behest_meta``, key ``schema_version``), so it changes in the same
transaction as the tables it describes. A brand-new catalog is version 0; opening it runs every step up to
``tables.SCHEMA_VERSION``. A store written by a newer behest_lab (a higher version) is refused, as is a DuckLake
catalog that is not a behest_lab store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from behest_lab.errors import MigrationError
from behest_lab.stores import tables
from behest_lab.stores.lake.engine import Engine

META_TABLE = "behest_meta"

#: Physical sort order per table: applied when DuckLake writes or compacts Parquet files, so row-group statistics
#: stay selective for the per-session reads (``list_messages`` and friends).
SORT_KEYS: dict[str, str] = {
    "sessions": "id",
    "messages": "session_id, created_at, seq",
    "tool_executions": "session_id, created_at",
    "usage_records": "session_id, created_at",
    "embeddings": "dim, id",
    "artifacts": "session_id, created_at",
    "artifact_data": "id",
}

#: DuckLake options for the Parquet files: small zstd row groups keep one session's rows in few groups.
LAKE_OPTIONS: dict[str, str] = {"parquet_row_group_size": "20000", "parquet_compression": "zstd"}

#: Per-table overrides. ``embeddings`` is read whole when a search index is built, and float vectors barely
#: compress: uncompressed pages decode about twice as fast as zstd (bench/bench_store.py's cold search).
#: ``artifact_data`` rows are wide, so its row groups stay small and fetching one artifact decodes little else.
TABLE_OPTIONS: dict[str, dict[str, str]] = {
    "embeddings": {"parquet_row_group_size": "20000", "parquet_compression": "uncompressed"},
    "artifact_data": {"parquet_row_group_size": "256"},
}


@dataclass(frozen=True)
class Migration:
    """One step from ``version - 1`` to ``version``.

    Attributes:
        version: the schema version after this step.
        name: a short, stable name (stored in the snapshot's commit message).
        apply: the statements, run inside the migration's transaction (arguments: the connection, whose default
            database is the lake, and the lake's alias).
    """

    version: int
    name: str
    apply: Callable[[duckdb.DuckDBPyConnection, str], None]


# --- the definitions each step made, frozen -------------------------------------------------------------------
# A step keeps the literal definitions it created: changing ``tables.SPECS`` never changes what an old step does.
# A new column is a new step here (with its ``tables`` spec entry); tests/lake/test_migrations.py holds a new
# store's tables to the specs.

#: The tables as schema version 1 created them, columns in stored order.
_V1_TABLES: dict[str, str] = {
    "sessions": "id UUID, title VARCHAR, model VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, metadata JSON",
    "messages": (
        "id UUID, session_id UUID, seq BIGINT, role VARCHAR, "
        "content STRUCT(type VARCHAR, text VARCHAR, value JSON, url VARCHAR, mime_type VARCHAR, cache_kind VARCHAR, "
        "cache_ttl VARCHAR)[], "
        "text VARCHAR, tool_calls STRUCT(id VARCHAR, name VARCHAR, arguments JSON)[], tool_call_id VARCHAR, "
        "tool_name VARCHAR, input_tokens UBIGINT, output_tokens UBIGINT, total_tokens UBIGINT, "
        "cache_creation_input_tokens UBIGINT, cache_read_input_tokens UBIGINT, cached_input_tokens UBIGINT, "
        "created_at TIMESTAMPTZ, is_compaction BOOLEAN, is_summary BOOLEAN, has_compaction_meta BOOLEAN, "
        "tail_start_id UUID, previous_compaction_id UUID, summary_text VARCHAR"
    ),
    "tool_executions": (
        "id UUID, session_id UUID, message_id UUID, call_id VARCHAR, tool_name VARCHAR, arguments JSON, result JSON, "
        "status VARCHAR, error VARCHAR, duration_us BIGINT, duration_ms BIGINT, created_at TIMESTAMPTZ"
    ),
    "usage_records": (
        "id UUID, session_id UUID, message_id UUID, provider VARCHAR, model VARCHAR, input_tokens UBIGINT, "
        "output_tokens UBIGINT, total_tokens UBIGINT, cache_creation_input_tokens UBIGINT, "
        "cache_read_input_tokens UBIGINT, cached_input_tokens UBIGINT, created_at TIMESTAMPTZ"
    ),
    "embeddings": (
        "id UUID, session_id UUID, model VARCHAR, dim INTEGER, vector FLOAT[], vector_f32 BLOB, metadata JSON, "
        "created_at TIMESTAMPTZ"
    ),
    "artifacts": (
        "id UUID, session_id UUID, name VARCHAR, content_type VARCHAR, size BIGINT, metadata JSON, "
        "created_at TIMESTAMPTZ"
    ),
    "artifact_data": "id UUID, data BLOB",
}

#: The columns schema version 3 added: (table, column, type), in the order they were added.
_V3_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("sessions", "created_at_ns", "SMALLINT"),
    ("sessions", "updated_at_ns", "SMALLINT"),
    ("messages", "created_at_ns", "SMALLINT"),
    ("tool_executions", "created_at_ns", "SMALLINT"),
    ("usage_records", "created_at_ns", "SMALLINT"),
    ("embeddings", "created_at_ns", "SMALLINT"),
    ("artifacts", "created_at_ns", "SMALLINT"),
)
_V4_COLUMNS = (("messages", "usage_cache_keys", "BOOLEAN"),)
_V5_COLUMNS = (("artifact_data", "sha256", "VARCHAR"),)
_V6_COLUMNS = (("embeddings", "vector_check", "BIGINT"),)


def _create_tables(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    for name, columns in _V1_TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
        con.execute(f"ALTER TABLE {name} SET SORTED BY ({SORT_KEYS[name]})")
    for option, value in LAKE_OPTIONS.items():
        con.execute(f"CALL {alias}.set_option(?, ?)", [option, value])


def _messages_small_files(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    """Write ``messages`` as files of about 4 MB with row groups of 8,192 rows.

    A session's messages are read together (``list_messages``), and after compaction they sit side by side in one
    file sorted by session. DuckLake picks that file by its catalog statistics, so the read costs what one file's
    layout costs: DuckDB's Parquet reader spends a few microseconds per column per row group even on the row
    groups it skips, and decodes every row of the row group it keeps, so small files of small row groups read a
    session fastest (``python -m bench store``: list_messages at 1M messages took 19.6-31 ms with one file of
    20,000-row groups, 16.7-19.6 ms with this layout).
    Files already written keep their layout (``compact()`` merges only files below the target size and rewrites
    files with many deletes).
    """
    for option, value in (("parquet_row_group_size", "8192"), ("target_file_size", "4MB")):
        con.execute(f"CALL {alias}.set_option(?, ?, table_name => 'messages')", [option, value])


def _add_columns(con: duckdb.DuckDBPyConnection, alias: str, columns: tuple[tuple[str, str, str], ...]) -> None:
    """Add ``columns`` (table, name, type) at the end of their tables, skipping any a table has already.

    Older rows get NULL there.
    """
    for table, name, sql in columns:
        present = con.execute(
            "SELECT 1 FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main' AND table_name = ? "
            "AND column_name = ?",
            [alias, table, name],
        ).fetchone()
        if present is None:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql}")


def _timestamp_nanoseconds(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    """Add the ``<timestamp>_ns`` columns (``SMALLINT``, nanoseconds past the microsecond).

    DuckDB's ``TIMESTAMPTZ`` holds microseconds; behest's timestamps have nanoseconds, kept from schema 3 on in these
    columns. Rows stored before this step get NULL there: their sub-microsecond part was never stored, so it is
    not known (readers take it as 0).
    """
    _add_columns(con, alias, _V3_COLUMNS)


def _usage_key_shape(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    """Add ``messages.usage_cache_keys``: FALSE marks a usage read with behest 0.3.1's three keys only.

    Rows stored before this step get NULL (their usage is written with the cache keys, as before).
    """
    _add_columns(con, alias, _V4_COLUMNS)


def _artifact_checksums(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    """Add ``artifact_data.sha256``: the SHA-256 of each artifact's bytes, checked by ``artifacts.get``.

    Parquet checks the structure of a file, not the bytes of a BLOB value: an overwritten byte inside an artifact
    would come back changed without any error. Artifacts stored before this step get NULL there and stay
    unverified (their bytes are returned as read; nothing is known to compare them with).
    """
    _add_columns(con, alias, _V5_COLUMNS)


def _vector_checksums(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    """Add ``embeddings.vector_check``: a checksum of each row's vector bytes, checked when a search loads them.

    The embeddings files are uncompressed, and an uncompressed page carries no checksum the readers verify: a
    flipped bit would change a vector, and so search results, without any error. Rows stored before this step
    get NULL there and stay unverified.
    """
    _add_columns(con, alias, _V6_COLUMNS)


def _provenance(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    """Add the ``provenance`` table: where synced and imported records came from, and each source's sync state.

    One row per record and source location (``stores/provenance.py``); sorted by location and record so a sync
    reads its own source's rows from few files.
    """
    con.execute(
        'CREATE TABLE IF NOT EXISTS provenance (record_id UUID, "table" VARCHAR, source VARCHAR, location VARCHAR, '
        "ref VARCHAR, fingerprint UBIGINT)"
    )
    con.execute("ALTER TABLE provenance SET SORTED BY (location, record_id)")


#: Every step, in order. Append new steps; never edit a released one (a new column: a new step adding it, and its
#: entry in ``tables.SPECS``).
MIGRATIONS: list[Migration] = [
    Migration(1, "create_tables", _create_tables),
    Migration(2, "messages_small_files", _messages_small_files),
    Migration(3, "timestamp_nanoseconds", _timestamp_nanoseconds),
    Migration(4, "usage_key_shape", _usage_key_shape),
    Migration(5, "artifact_checksums", _artifact_checksums),
    Migration(6, "vector_checksums", _vector_checksums),
    Migration(7, "provenance", _provenance),
]


def _lake_tables(engine: Engine) -> set[str]:
    rows = engine.rows(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'", [engine.alias]
    )
    return {r["table_name"] for r in rows}


def read_version(engine: Engine) -> int:
    """The store's schema version: 0 for an empty catalog; ``MigrationError`` for a foreign DuckLake."""
    present = _lake_tables(engine)
    if META_TABLE not in present:
        if present:
            raise MigrationError(
                f"{engine.description} holds a DuckLake catalog without behest_lab's {META_TABLE} table "
                f"(tables: {', '.join(sorted(present))}); it is not a behest_lab store",
                supported=tables.SCHEMA_VERSION,
            )
        return 0
    value = engine.scalar(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MigrationError(
            f"{engine.description}: {META_TABLE}.schema_version is {value!r}, not a version number",
            supported=tables.SCHEMA_VERSION,
        ) from None


def plan(found: int, target: int = tables.SCHEMA_VERSION) -> list[Migration]:
    """The steps from version ``found`` to ``target``; ``MigrationError`` with the reason if there is no path."""
    if found > target:
        raise MigrationError(
            f"the store has schema version {found}, newer than this behest_lab supports ({target}); "
            "upgrade behest_lab to open it",
            found=found,
            supported=target,
        )
    steps = [m for m in MIGRATIONS if found < m.version <= target]
    expected = list(range(found + 1, target + 1))
    if [m.version for m in steps] != expected:
        raise MigrationError(
            f"no migration path from schema version {found} to {target} "
            f"(known steps: {', '.join(f'{m.version}:{m.name}' for m in MIGRATIONS)})",
            found=found,
            supported=target,
        )
    return steps


def migrate(engine: Engine, target: int = tables.SCHEMA_VERSION) -> int:
    """Bring the store to ``target`` (one transaction per step); returns the version found.

    ``target`` is ``tables.SCHEMA_VERSION`` except in tests that build a store as an older behest_lab left it. A
    read-only (time-travel) view is never migrated: it must already be at the target version.
    """
    found = read_version(engine)
    steps = plan(found, target)
    if steps and engine.read_only:
        raise MigrationError(
            f"the snapshot has schema version {found}; a read-only view cannot be migrated to {target}",
            found=found,
            supported=target,
        )
    if found == 0 and target == tables.SCHEMA_VERSION:
        engine.write(lambda con: _new_store(con, engine.alias), f"new store at schema version {target}")
        # table options cannot be set in the transaction that created the table
        engine.write(lambda con: _messages_small_files(con, engine.alias), "new store: messages_small_files")
        _set_table_options(engine)
        return found
    for step in steps:

        def body(con: duckdb.DuckDBPyConnection, step: Migration = step) -> None:
            # a concurrent opener may have run this step already: re-check inside the transaction
            current = _current_in_tx(con, engine.alias)
            if current >= step.version:
                return
            step.apply(con, engine.alias)
            con.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR, value VARCHAR)")
            con.execute(f"DELETE FROM {META_TABLE} WHERE key = 'schema_version'")
            con.execute(f"INSERT INTO {META_TABLE} VALUES ('schema_version', ?)", [str(step.version)])

        engine.write(body, f"migration {step.version}: {step.name}")
    if steps:
        _set_table_options(engine)
    return found


def _new_store(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    """Create an empty store at ``tables.SCHEMA_VERSION`` in one transaction, every table in its current form.

    The steps' result without their ``ALTER TABLE``s: a table created and then altered keeps DuckLake's inlined rows
    in a table of its later schema version, and under writers in other processes that flush, readers and writers
    then failed on the replaced inlined table ("Failed to read inlined data ... ducklake_inlined_data_12_1 does not
    exist", ``tests/lake/test_consistency.py``). The steps still define every older version, and
    ``tests/lake/test_migrations.py`` checks that a store migrated through them equals a new one.
    """
    if _current_in_tx(con, alias) >= tables.SCHEMA_VERSION:
        return  # a concurrent opener created it first
    for name in tables.SPECS:
        con.execute(tables.create_table_sql(name, name))
        con.execute(f"ALTER TABLE {name} SET SORTED BY ({SORT_KEYS[name]})")
    for option, value in LAKE_OPTIONS.items():
        con.execute(f"CALL {alias}.set_option(?, ?)", [option, value])
    _provenance(con, alias)
    con.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR, value VARCHAR)")
    con.execute(f"INSERT INTO {META_TABLE} VALUES ('schema_version', ?)", [str(tables.SCHEMA_VERSION)])


def _set_table_options(engine: Engine) -> None:
    """Apply ``TABLE_OPTIONS`` (DuckLake refuses table options in the transaction that created the table)."""

    def body(con: duckdb.DuckDBPyConnection) -> None:
        for table, options in TABLE_OPTIONS.items():
            for option, value in options.items():
                con.execute(f"CALL {engine.alias}.set_option(?, ?, table_name => ?)", [option, value, table])

    engine.write(body, "table options")


def _current_in_tx(con: duckdb.DuckDBPyConnection, alias: str) -> int:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' AND table_name = ?",
        [alias, META_TABLE],
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'").fetchone()
    return 0 if row is None else int(row[0])
