"""Naming damaged files: engine errors that mean a store file is damaged become ``DataCorruptionError``.

A lake store is a catalog (``catalog.sqlite`` for a local store) and Parquet files under ``data/``. When one of
them is truncated, overwritten or has flipped bits, DuckDB and SQLite report it in their own words and classes
(``duckdb.IOException`` "... is not a valid Parquet file", ``duckdb.InvalidInputException`` naming the file,
``sqlite3.DatabaseError`` "file is not a database", "database disk image is malformed"). ``corruption_error``
recognises those reports and returns one ``DataCorruptionError`` naming the file and, for a data file, its table
(``data/main/<table>/...``), so callers see one error class with the file in its message and attributes.
Errors that do not mean damage (a conflict, a locked catalog, a syntax error) are left alone (``None``).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from behest_lab.errors import DataCorruptionError
from behest_lab.stores.lake.config import CATALOG_FILE, DATA_DIR

# a Parquet file named in an engine message (quoted or not)
_PARQUET_PATH = re.compile(r"""(?P<path>(?:[A-Za-z]:)?[^\s'"]*?\.parquet)\b""")
# engine messages that mean a Parquet file's bytes are damaged (the file is also named in the message)
_PARQUET_DAMAGE = re.compile(
    r"not a valid parquet file|no magic bytes|corrupt|invalid input|footer|out of range|unexpected end"
    r"|could not read|failed to read|decompress|snappy|zstd|thrift|page header|unsupported|invalid"
    r"|bad |mismatch|exceeds|overflow|truncated|too (?:small|large|short)|checksum|encoding",
    re.IGNORECASE,
)
# messages that mean the SQLite catalog file is damaged
_CATALOG_DAMAGE = re.compile(
    r"file is not a database|database disk image is malformed|malformed database schema|file is encrypted"
    r"|disk I/O error|database corrupt|not a database",
    re.IGNORECASE,
)
# engine messages that mean some Parquet file's bytes are damaged, without naming the file
_UNNAMED_DAMAGE = re.compile(r"TProtocolException|Invalid data|thrift|no magic bytes|corrupt", re.IGNORECASE)
# a conflict or a lock is never damage, even when a file is named
_NOT_DAMAGE = re.compile(r"database is locked|conflict|busy|could not set lock|no such file", re.IGNORECASE)


def _table_of(path: str) -> str | None:
    """The lake table a data file belongs to (``.../data/main/<table>/<file>.parquet``), if the path says."""
    parts = Path(path).parts
    if len(parts) >= 3 and parts[-3] == "main":
        return parts[-2]
    return None


def find_damaged_file(data_dir: Path) -> Path | None:
    """The first Parquet file under ``data_dir`` whose footer (the file's own description) cannot be read.

    Used only after the engine reported damage without naming the file: reading every footer costs a little per
    file, which an error path can afford.
    """
    for path in sorted(data_dir.rglob("*.parquet")):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            pq.read_metadata(path)
        except (OSError, pa.ArrowException):
            return path
    return None


def corruption_error(
    exc: BaseException,
    *,
    catalog: Path | None = None,
    data_dir: Path | None = None,
    scrub: Callable[[str], str] = str,
) -> DataCorruptionError | None:
    """The ``DataCorruptionError`` that ``exc`` means, or None when it does not report a damaged file.

    Args:
        exc: an exception from DuckDB, SQLite or pyarrow.
        catalog: the store's local catalog file (named when SQLite reports its file damaged), if any.
        data_dir: the store's local data folder, searched for the damaged file when the engine's message names
            none.
        scrub: removes credentials from message text (``Engine.scrub``).
    """
    if isinstance(exc, DataCorruptionError):
        return exc
    text = scrub(str(exc))
    if _NOT_DAMAGE.search(text):
        return None
    if _CATALOG_DAMAGE.search(text) and isinstance(exc, (sqlite3.DatabaseError, duckdb.Error)):
        where = "the catalog" if catalog is None else f"the catalog {catalog}"
        return DataCorruptionError(
            "catalog", f"{where} is damaged: {text}", path=None if catalog is None else str(catalog)
        )
    match = _PARQUET_PATH.search(text)
    if match is None:
        if data_dir is None or not isinstance(exc, duckdb.Error) or not _UNNAMED_DAMAGE.search(text):
            return None
        found = find_damaged_file(data_dir)
        if found is None:
            return DataCorruptionError("data file", f"a data file under {data_dir} is damaged: {text}")
        table = _table_of(str(found))
        return DataCorruptionError(
            table or "data file", f"the data file {found} is damaged: {text}", path=str(found), table=table
        )
    if isinstance(exc, duckdb.Error) and not isinstance(
        exc, (duckdb.IOException, duckdb.InvalidInputException, duckdb.InternalException, duckdb.ConversionException)
    ):
        return None
    if not _PARQUET_DAMAGE.search(text) and not isinstance(exc, (duckdb.IOException, duckdb.InvalidInputException)):
        return None
    path = match.group("path")
    table = _table_of(path)
    field = table or "data file"
    return DataCorruptionError(field, f"the data file {path} is damaged: {text}", path=path, table=table)


def translate(
    exc: BaseException,
    *,
    catalog: Path | None = None,
    data_dir: Path | None = None,
    scrub: Callable[[str], str] = str,
) -> None:
    """Raise the ``DataCorruptionError`` that ``exc`` means (from None), or return when it means no damage."""
    error = corruption_error(exc, catalog=catalog, data_dir=data_dir, scrub=scrub)
    if error is not None and error is not exc:
        raise error from None


def translate_for(exc: BaseException, store: object) -> None:
    """``translate`` for an error from ``store`` (any store; a local lake store's files are searched and named).

    Args:
        exc: the exception a read of ``store`` raised.
        store: the store, or a local store folder (``str`` or ``Path``), or None.
    """
    root: object
    if isinstance(store, (str, Path)):
        root = Path(store)
    else:
        try:
            root = getattr(store, "path", None)
        except AttributeError:  # a shared lake store has no local folder
            root = None
    if isinstance(root, Path):
        translate(exc, catalog=root / CATALOG_FILE, data_dir=root / DATA_DIR)
    else:
        translate(exc)
