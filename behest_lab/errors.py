"""Every exception behest_lab raises, in one tree.

::

    BehestLabError                      root: catch this to catch everything from behest_lab
    ├── StoreError                      mirrors behest's StorageError
    │   ├── NotFoundError               also LookupError; .id names the missing entity
    │   ├── AlreadyExistsError          a record with this .id is already stored
    │   ├── BackendError                the engine failed (.backend); nothing was changed
    │   │   ├── MissingExtensionError   a DuckDB extension wheel is not installed (.package)
    │   │   └── CommitConflictError     a commit kept conflicting with other writers (.attempts)
    │   ├── ConnectionFailedError       a store could not be reached or opened (.backend)
    │   ├── SerializationError          a value could not be encoded for storage
    │   ├── MigrationError              a store's schema version cannot be used (.found, .supported)
    │   ├── DataCorruptionError         stored data is damaged or does not parse (.field, .path, .table)
    │   └── ReadOnlyStoreError          a write on a time-travel (read-only) view
    ├── VectorDimensionError            also ValueError; query dimension matches no stored vector
    ├── ReportError                     a report could not be built or written; the message says why
    └── InterchangeError                also ValueError; bad input while importing (.path, .table, .line, .row_id)
        └── SourceError                 a behest backend read as a source failed (.source, .location, .key, .row)

Exceptions carry their context as attributes so callers never parse messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

__all__ = [
    "AlreadyExistsError",
    "BackendError",
    "BehestLabError",
    "CommitConflictError",
    "ConnectionFailedError",
    "DataCorruptionError",
    "InterchangeError",
    "MigrationError",
    "MissingExtensionError",
    "NotFoundError",
    "ReadOnlyStoreError",
    "ReportError",
    "SerializationError",
    "SourceError",
    "StoreError",
    "VectorDimensionError",
]


class BehestLabError(Exception):
    """Root of every behest_lab exception."""


class StoreError(BehestLabError):
    """A store operation failed (behest's ``StorageError``)."""


class NotFoundError(StoreError, LookupError):
    """The entity a write refers to does not exist (behest's ``NotFound``)."""

    def __init__(self, id: UUID | str, what: str = "entity") -> None:
        self.id = id
        self.what = what
        super().__init__(f"storage entity not found: `{id}` ({what})")


class AlreadyExistsError(StoreError):
    """A record with the same id is already stored; nothing was written."""

    def __init__(self, id: UUID | str, what: str = "entity") -> None:
        self.id = id
        self.what = what
        super().__init__(f"{what} `{id}` already exists")


class BackendError(StoreError):
    """The storage engine failed; the operation was not applied."""

    def __init__(self, backend: str, message: str) -> None:
        self.backend = backend
        super().__init__(f"storage backend error ({backend}): {message}")


class MissingExtensionError(BackendError):
    """A DuckDB extension could not be loaded because its pip package is missing."""

    def __init__(self, extension: str, package: str, detail: str = "") -> None:
        self.extension = extension
        self.package = package
        suffix = f" ({detail})" if detail else ""
        super().__init__(
            "duckdb",
            f"DuckDB extension {extension!r} is not available offline: install the pip package "
            f"{package}=={_duckdb_version()}{suffix}",
        )


class CommitConflictError(BackendError):
    """A commit conflicted with other writers on every retry."""

    def __init__(self, attempts: int, detail: str) -> None:
        self.attempts = attempts
        super().__init__("ducklake", f"commit failed after {attempts} attempts: {detail}")


class ConnectionFailedError(StoreError):
    """The store could not be opened or reached."""

    def __init__(self, backend: str, message: str) -> None:
        self.backend = backend
        super().__init__(f"storage connection failed ({backend}): {message}")


class SerializationError(StoreError):
    """A value could not be encoded for storage."""


class MigrationError(StoreError):
    """The store's schema version cannot be used by this behest_lab."""

    def __init__(self, message: str, *, found: int | None = None, supported: int | None = None) -> None:
        self.found = found
        self.supported = supported
        super().__init__(f"storage migration failed: {message}")


class DataCorruptionError(StoreError):
    """Stored data is damaged or does not parse.

    ``field`` names the column or key (or the table, when the whole file is unreadable); ``path`` names the damaged
    file and ``table`` its table, when known (None otherwise).
    """

    def __init__(self, field: str, message: str, *, path: str | None = None, table: str | None = None) -> None:
        self.field = field
        self.path = path
        self.table = table
        where = f" ({path})" if path is not None and path not in message else ""
        super().__init__(f"data corruption in `{field}`{where}: {message}")


class ReadOnlyStoreError(StoreError):
    """A write was attempted on a read-only view (for example a time-travel snapshot)."""


class VectorDimensionError(BehestLabError, ValueError):
    """A query vector's dimension matches none of the stored vectors."""

    def __init__(self, dimension: int, present: Iterable[int]) -> None:
        self.dimension = dimension
        self.present = sorted(set(present))
        dims = ", ".join(str(d) for d in self.present)
        super().__init__(f"query has dimension {dimension}, but the stored vectors have dimension(s) {dims}")


class ReportError(BehestLabError):
    """A report could not be built or written: the folder holds no store, a tour notebook cell failed, or the page
    would load an external resource; the message says which."""


class InterchangeError(BehestLabError, ValueError):
    """Bad input while importing; names the file and the row."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        table: str | None = None,
        line: int | None = None,
        row_id: str | None = None,
    ) -> None:
        self.path = path
        self.table = table
        self.line = line
        self.row_id = row_id
        where = []
        if path is not None:
            where.append(str(path))
        if table is not None:
            where.append(f"table {table}")
        if line is not None:
            where.append(f"line {line}")
        if row_id is not None:
            where.append(f"row {row_id}")
        prefix = ", ".join(where)
        self.reason = message
        super().__init__(f"{prefix}: {message}" if prefix else message)


class SourceError(InterchangeError):
    """A source (one of behest's backends, read by ``behest_lab.sources``) is unreachable, is not behest's, has an
    unknown schema version, or holds a row that does not decode.

    ``source`` is the kind of backend, ``location`` the source without secrets, ``table`` the table, collection or
    key family, ``key`` the row's id or key, ``row`` its position (a SQLite rowid, a line) when known.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str,
        location: str,
        table: str | None = None,
        key: str | None = None,
        row: int | None = None,
    ) -> None:
        self.source = source
        self.location = location
        self.key = key
        self.row = row
        super().__init__(message, path=f"{source} {location}", table=table, line=row, row_id=key)


def _duckdb_version() -> str:
    try:
        import duckdb

        return str(duckdb.__version__)
    except Exception:  # pragma: no cover - duckdb is a hard dependency
        return "1.5.5"
