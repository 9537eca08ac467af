"""Connecting DuckDB to a behest SQL database: URLs, secret-free locations, ATTACH, schema checks.

One ``SqlDialect`` per behest SQL backend says how its URL becomes a DuckDB ``ATTACH`` string, which DuckDB
extension reads it, which sqlx migrations behest ships for it and which tables those migrations create. Every error
here is scrubbed of the password before it is raised: the password never appears in a message, a ``repr`` or a
recorded location.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import duckdb

from behest_lab.errors import MissingExtensionError, SourceError
from behest_lab.interchange.behest_schema import COLUMNS

#: behest's tables and the columns its SQL readers select: the SQLite schema's (``behest_schema.COLUMNS``, the same in
#: every dialect) plus ``embeddings``, which only the PostgreSQL backend keeps.
BEHEST_COLUMNS: dict[str, tuple[str, ...]] = {
    **COLUMNS,
    "embeddings": ("id", "session_id", "model", "vector", "metadata", "created_at"),
}

#: Columns the last migration adds to ``messages``; a database migrated only up to the one before lacks them.
COMPACTION_COLUMNS = ("is_compaction", "is_summary", "compaction_meta")


@dataclass(frozen=True)
class SqlDialect:
    """What differs between behest's SQL backends, as far as reading them goes.

    Attributes:
        kind: the source kind recorded in provenance (``postgresql``, ``mysql``, ``sqlite``).
        duck_type: DuckDB's ``ATTACH ... (TYPE x)`` name.
        extension: the DuckDB extension that reads it.
        package: the pip package that ships that extension for offline loading.
        migrations: sqlx migration version -> description, as behest ships them for this backend.
        tables: behest's tables on this backend.
        query_function: DuckDB's table function that runs a query on the server (None: SQLite, read directly).
        password_env: the environment variable the server's own client reads a password from.
    """

    kind: str
    duck_type: str
    extension: str
    package: str
    migrations: dict[int, str]
    tables: tuple[str, ...]
    query_function: str | None
    password_env: str | None = None
    schemes: tuple[str, ...] = field(default=())


_COMMON_TABLES = ("sessions", "messages", "tool_executions", "usage_records")

POSTGRES = SqlDialect(
    kind="postgresql",
    duck_type="postgres",
    extension="postgres_scanner",
    package="duckdb-extension-postgres-scanner",
    migrations={
        1: "create sessions",
        2: "create messages",
        3: "create embeddings",
        4: "create tool executions",
        5: "create usage records",
        6: "add compaction fields",
    },
    tables=(*_COMMON_TABLES, "embeddings"),
    query_function="postgres_query",
    password_env="PGPASSWORD",
    schemes=("postgresql", "postgres"),
)

MYSQL = SqlDialect(
    kind="mysql",
    duck_type="mysql",
    extension="mysql_scanner",
    package="duckdb-extension-mysql-scanner",
    migrations={
        1: "create sessions",
        2: "create messages",
        3: "create tool executions",
        4: "create usage records",
        5: "add compaction fields",
    },
    tables=_COMMON_TABLES,
    query_function="mysql_query",
    password_env="MYSQL_PWD",
    schemes=("mysql", "mariadb"),
)

SQLITE = SqlDialect(
    kind="sqlite",
    duck_type="sqlite",
    extension="sqlite_scanner",
    package="duckdb-extension-sqlite-scanner",
    migrations=MYSQL.migrations,
    tables=_COMMON_TABLES,
    query_function=None,
    schemes=("sqlite",),
)


@dataclass(frozen=True)
class SqlTarget:
    """A parsed source URL: where to connect, and the same without any secret.

    Attributes:
        dialect: the backend.
        location: the URL without password (and without ``password=`` query options); safe to print and store.
        attach: DuckDB's ``ATTACH`` string (holds the password; never shown).
        password: the password, kept only to scrub it out of error messages.
    """

    dialect: SqlDialect
    location: str
    attach: str = field(repr=False)
    password: str | None = field(repr=False, default=None)

    def scrub(self, text: str) -> str:
        """``text`` with the password (also URL-quoted) replaced by ``***``."""
        if self.password:
            for secret in {self.password, _quote_libpq(self.password)}:
                text = text.replace(secret, "***")
        return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", text, flags=re.IGNORECASE)


def _quote_libpq(value: str) -> str:
    """A connection-string value: as it is when plain, else in single quotes with backslashes and quotes escaped."""
    if value and not any(c in value for c in " '\\\"="):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def parse_url(url: str, dialect: SqlDialect, *, password: str | None = None) -> SqlTarget:
    """Split a ``postgresql://``/``mysql://`` URL (or a ``sqlite://`` path) into a ``SqlTarget``.

    The password comes from ``password``, else the URL, else the backend's usual environment variable
    (``PGPASSWORD``/``MYSQL_PWD``; libpq also reads ``~/.pgpass`` itself).

    Raises:
        ValueError: the URL is not of this dialect or names no database.
    """
    if dialect is SQLITE:
        path = url.split("://", 1)[1] if "://" in url else url
        if not path:
            raise ValueError(f"a sqlite URL needs a path: {url!r}")
        return SqlTarget(dialect, f"sqlite://{path}", path)
    parts = urlsplit(url)
    if parts.scheme not in dialect.schemes:
        raise ValueError(f"not a {dialect.kind} URL (expected {' or '.join(s + '://' for s in dialect.schemes)})")
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ValueError(f"the {dialect.kind} URL names no database: {_without_password(url)!r}")
    secret = password if password is not None else (unquote(parts.password) if parts.password else None)
    options = dict(parse_qsl(parts.query))
    secret = secret if secret is not None else options.pop("password", None)
    options.pop("password", None)
    if secret is None and dialect.password_env:
        secret = os.environ.get(dialect.password_env)
    host = parts.hostname or "localhost"
    port = parts.port or (5432 if dialect is POSTGRES else 3306)
    user = unquote(parts.username) if parts.username else None
    pairs: dict[str, str] = {"host": host, "port": str(port)}
    if dialect is POSTGRES:
        pairs["dbname"] = database
    else:
        pairs["database"] = database
    if user:
        pairs["user"] = user
    if secret:
        pairs["password"] = secret
    pairs.update(options)
    attach = " ".join(f"{k}={_quote_libpq(v)}" for k, v in pairs.items())
    who = f"{user}@" if user else ""
    query = "&".join(f"{k}={v}" for k, v in options.items())
    location = f"{parts.scheme}://{who}{host}:{port}/{database}" + (f"?{query}" if query else "")
    return SqlTarget(dialect, location, attach, secret)


def _without_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1@", url)


def _quote_sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def load_extension(con: duckdb.DuckDBPyConnection, dialect: SqlDialect) -> None:
    """Load the DuckDB extension for ``dialect`` from its pip wheel (never from the network).

    Raises:
        MissingExtensionError: the wheel is not installed.
    """
    try:
        con.execute(f"LOAD {dialect.extension}")
        return
    except duckdb.Error:
        pass
    try:
        from duckdb_extensions import import_extension

        import_extension(dialect.extension)
        con.execute(f"LOAD {dialect.extension}")
    except (ImportError, duckdb.Error, OSError, ValueError) as exc:
        raise MissingExtensionError(dialect.extension, dialect.package, type(exc).__name__) from None


def attach(con: duckdb.DuckDBPyConnection, target: SqlTarget, alias: str = "src") -> None:
    """``ATTACH`` the source read-only as ``alias``.

    Raises:
        SourceError: unreachable server, wrong credentials, missing file (password scrubbed).
    """
    load_extension(con, target.dialect)
    if target.dialect is SQLITE:
        path = target.location.removeprefix("sqlite://")
        if not os.path.isfile(path):
            raise SourceError("no such file", source="sqlite", location=target.location)
    try:
        con.execute(f"ATTACH {_quote_sql(target.attach)} AS {alias} (TYPE {target.dialect.duck_type}, READ_ONLY)")
    except duckdb.Error as exc:
        raise SourceError(
            f"cannot connect: {target.scrub(_first_line(exc))}", source=target.dialect.kind, location=target.location
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def server_rows(
    con: duckdb.DuckDBPyConnection, target: SqlTarget, query: str, alias: str = "src"
) -> list[tuple[Any, ...]]:
    """Rows of ``query`` run by the server itself (SQLite: by DuckDB over the attached file).

    Raises:
        SourceError: the query failed (the message names the source, password scrubbed).
    """
    function = target.dialect.query_function
    sql = f"SELECT * FROM {function}('{alias}', {_quote_sql(query)})" if function else query
    try:
        return con.execute(sql).fetchall()
    except duckdb.Error as exc:
        raise SourceError(
            f"query failed: {target.scrub(_first_line(exc))}", source=target.dialect.kind, location=target.location
        ) from None


@dataclass
class SchemaInfo:
    """What ``inspect_schema`` found: applied migration versions and the columns of each behest table."""

    versions: list[int]
    columns: dict[str, set[str]]

    def has(self, table: str, column: str) -> bool:
        """Whether ``table`` has ``column``."""
        return column in self.columns.get(table, set())


def _columns_query(target: SqlTarget, tables: tuple[str, ...]) -> str:
    names = ", ".join(_quote_sql(t) for t in tables)
    if target.dialect is POSTGRES:
        return (
            "SELECT table_name::text, column_name::text FROM information_schema.columns "
            f"WHERE table_schema = current_schema() AND table_name IN ({names})"
        )
    if target.dialect is MYSQL:
        return (
            "SELECT CAST(table_name AS CHAR), CAST(column_name AS CHAR) FROM information_schema.columns "
            f"WHERE table_schema = DATABASE() AND table_name IN ({names})"
        )
    return (
        f"SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = 'src' AND table_name IN ({names})"
    )


def inspect_schema(con: duckdb.DuckDBPyConnection, target: SqlTarget) -> SchemaInfo:
    """Check that the attached database is behest's, at a schema version this reader knows.

    Raises:
        SourceError: a behest table or column is missing (not a behest database), or ``_sqlx_migrations``
            records a migration behest does not ship for this backend, or one that did not finish.
    """
    d = target.dialect
    columns: dict[str, set[str]] = {}
    for table, column in server_rows(con, target, _columns_query(target, (*d.tables, "_sqlx_migrations"))):
        columns.setdefault(str(table).lower(), set()).add(str(column).lower())
    versions: list[int] = []
    if "_sqlx_migrations" in columns:
        prefix = "src." if d is SQLITE else ""
        rows = server_rows(con, target, f"SELECT version, success FROM {prefix}_sqlx_migrations ORDER BY version")
        for version, success in rows:
            v = int(version)
            if v not in d.migrations:
                raise SourceError(
                    f"unknown schema version: _sqlx_migrations records migration {v}, which no behest release known "
                    f"to behest_lab ships for {d.kind} (known: 1-{max(d.migrations)}); upgrade behest_lab",
                    source=d.kind,
                    location=target.location,
                    table="_sqlx_migrations",
                    key=str(v),
                )
            if not success:
                raise SourceError(
                    f"behest's migration {v} did not finish (sqlx marked it failed)",
                    source=d.kind,
                    location=target.location,
                    table="_sqlx_migrations",
                    key=str(v),
                )
            versions.append(v)
    for table in d.tables:
        if table not in columns:
            raise SourceError(
                "not a behest database: the table is missing", source=d.kind, location=target.location, table=table
            )
        missing = [c for c in BEHEST_COLUMNS[table] if c not in columns[table] and c not in COMPACTION_COLUMNS]
        if missing:
            raise SourceError(
                f"not a behest database: missing columns {missing}",
                source=d.kind,
                location=target.location,
                table=table,
            )
    return SchemaInfo(versions, {t: columns[t] for t in d.tables})


def connect(target: SqlTarget) -> tuple[duckdb.DuckDBPyConnection, SchemaInfo]:
    """A fresh DuckDB connection with the source attached as ``src`` and its schema checked."""
    con = duckdb.connect()
    try:
        attach(con, target)
        return con, inspect_schema(con, target)
    except BaseException:
        con.close()
        raise


__all__ = [
    "BEHEST_COLUMNS",
    "COMPACTION_COLUMNS",
    "MYSQL",
    "POSTGRES",
    "SQLITE",
    "SchemaInfo",
    "SqlDialect",
    "SqlTarget",
    "attach",
    "connect",
    "inspect_schema",
    "load_extension",
    "parse_url",
    "server_rows",
]
