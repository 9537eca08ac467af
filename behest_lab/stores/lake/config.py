"""Where a lake lives: a local folder, or a PostgreSQL catalog with Parquet files in S3-compatible storage.

``StoreConfig`` and ``S3Options`` are the public settings (pydantic, secrets as ``SecretStr`` so reprs never show
them). ``Location`` is what the engine attaches: the DuckLake metadata string, the data path, the ``CREATE SECRET``
statements the DuckDB instance needs, and every secret value to scrub from error text.

Credentials never enter the ATTACH string: the PostgreSQL extension echoes the whole connection string when a login
fails, so the password goes into a *named* ``TYPE postgres`` secret that holds only the password and is passed with
``METADATA_PARAMETERS MAP {'SECRET': name}``. S3 keys go into an ``s3`` secret scoped to the data path. Secret names
carry a salted hash of their content, so two stores with different credentials can share one DuckDB instance.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import os
import re
import secrets as _random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from behest_lab.errors import MissingExtensionError

CATALOG_FILE = "catalog.sqlite"
DATA_DIR = "data"

#: Catalog URL schemes understood as PostgreSQL.
_PG_SCHEMES = ("postgresql", "postgres")
#: libpq connection parameters accepted in the URL's query string (everything else is refused by name).
_PG_PARAMS = frozenset(
    {
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "connect_timeout",
        "application_name",
        "options",
        "target_session_attrs",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "gssencmode",
        "krbsrvname",
        "channel_binding",
        "passfile",
    }
)
# Per-process key for secret names: a plain hash of a password in ``duckdb_secrets()`` would allow offline guessing.
_NAME_KEY = _random.token_bytes(32)


def _dsn_value(value: str) -> str:
    """A libpq ``key=value`` value, quoted when it holds spaces, quotes or backslashes."""
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _secret_name(prefix: str, *parts: str) -> str:
    digest = hmac.new(_NAME_KEY, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()[:20]
    return f"{prefix}_{digest}"


class S3Options(BaseModel):
    """Credentials and endpoint of S3-compatible object storage (AWS S3, MinIO, moto, R2, ...).

    Every field is optional: ``None`` leaves DuckDB's default (or a DuckDB secret the user created) in charge.

    Attributes:
        endpoint: ``host:port`` or ``http(s)://host:port`` of an S3-compatible server; None for AWS S3. A URL's
            scheme sets ``use_ssl`` when that is not given.
        key_id: access key id.
        secret: secret access key (never shown in reprs or errors).
        session_token: temporary session token (never shown).
        region: the bucket's region, e.g. ``us-east-1``.
        url_style: ``"path"`` (emulators, MinIO) or ``"vhost"``; default ``"path"`` when ``endpoint`` is given.
        use_ssl: HTTPS (True) or plain HTTP (False); default True, or the endpoint URL's scheme.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    endpoint: str | None = None
    key_id: str | None = None
    secret: SecretStr | None = None
    session_token: SecretStr | None = None
    region: str | None = None
    url_style: Literal["path", "vhost"] | None = None
    use_ssl: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_endpoint_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("endpoint"), str) and "://" in data["endpoint"]:
            parts = urlsplit(data["endpoint"])
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"endpoint: expected host:port or http(s)://host:port, got {data['endpoint']!r}")
            data = {**data, "endpoint": parts.netloc}
            data.setdefault("use_ssl", parts.scheme == "https")
        return data

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> S3Options | None:
        """Options from the ``AWS_*`` environment variables; None when none is set.

        Read: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` (or
        ``AWS_DEFAULT_REGION``) and ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "key_id": env.get("AWS_ACCESS_KEY_ID"),
            "secret": env.get("AWS_SECRET_ACCESS_KEY"),
            "session_token": env.get("AWS_SESSION_TOKEN"),
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            "endpoint": env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"),
        }
        values = {k: v for k, v in values.items() if v}
        return cls(**values) if values else None

    def secret_values(self) -> list[str]:
        """The secret strings, for scrubbing error text."""
        return [s.get_secret_value() for s in (self.secret, self.session_token) if s is not None]


class StoreConfig(BaseModel):
    """Where a shared store lives: a PostgreSQL catalog plus a data path (usually ``s3://bucket/prefix/``).

    ``catalog`` may also be a local folder: the ordinary single-machine store (``data_path`` and ``s3`` must then
    be None).

    Attributes:
        catalog: ``postgresql://user@host:port/dbname`` (libpq parameters such as ``sslmode`` in the query string;
            missing parts come from libpq's ``PG*`` environment variables), or a local store folder. A password in
            the URL is moved to ``password``.
        password: the PostgreSQL password; None: ``PGPASSWORD``/``~/.pgpass`` through libpq, or ``catalog_secret``.
        data_path: where Parquet files go (``s3://bucket/prefix/``, or a folder every machine mounts). Needed to
            create a store; None for an existing one reads it from the catalog.
        s3: object-storage options; None: ``AWS_*`` environment variables when set, else DuckDB's own defaults and
            any persistent DuckDB ``s3`` secret the user created.
        catalog_secret: the name of a persistent DuckDB ``postgres`` secret to log in with instead of ``password``.
        inlining_row_limit: inserts of at most this many rows stay inside the catalog until ``compact()``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    catalog: str
    password: SecretStr | None = None
    data_path: str | None = None
    s3: S3Options | None = None
    catalog_secret: str | None = None
    inlining_row_limit: int = 1000

    @model_validator(mode="before")
    @classmethod
    def _password_out_of_url(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("catalog"), str):
            return data
        catalog = data["catalog"]
        parts = urlsplit(catalog)
        if parts.scheme not in _PG_SCHEMES:
            return data
        found = unquote(parts.password) if parts.password is not None else None
        query = parse_qsl(parts.query, keep_blank_values=True)
        for key, value in query:
            if key == "password":
                found = value
        if found is None:
            return data
        if not found:
            # ``postgresql://u:@h/db`` or ``?password=``: no password (libpq's PGPASSWORD / ~/.pgpass apply)
            found = None
        given = data.get("password")
        given_text = given.get_secret_value() if isinstance(given, SecretStr) else given
        if found is not None and given_text is not None and given_text != found:
            raise ValueError("password: the catalog URL and the password argument give different passwords")
        netloc = parts.netloc.rsplit("@", 1)
        user = unquote(parts.username) if parts.username else ""
        host = netloc[-1]
        netloc_clean = f"{quote(user, safe='')}@{host}" if user else host
        rest = "&".join(f"{k}={quote(v, safe='')}" for k, v in query if k != "password")
        clean = f"{parts.scheme}://{netloc_clean}{parts.path}" + (f"?{rest}" if rest else "")
        return {**data, "catalog": clean} if found is None else {**data, "catalog": clean, "password": found}

    @field_validator("password", mode="before")
    @classmethod
    def _empty_password_is_none(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return None if text == "" else value

    @field_validator("catalog")
    @classmethod
    def _check_catalog(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("catalog: empty; give a postgresql:// URL or a store folder")
        parts = urlsplit(value)
        if parts.scheme in _PG_SCHEMES:
            try:
                parts.port  # noqa: B018 -- urlsplit validates the port only when it is read
            except ValueError:
                raise ValueError(f"catalog: bad port in {value!r}") from None
            if "," in parts.netloc:
                raise ValueError("catalog: several hosts in one URL are not supported")
            if not unquote(parts.path.lstrip("/")):
                raise ValueError(f"catalog: {value!r} names no database (postgresql://user@host:port/dbname)")
            bad = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)} - _PG_PARAMS - {"password"})
            if bad:
                raise ValueError(f"catalog: unknown connection parameter(s) {', '.join(bad)}")
        elif re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", value):
            raise ValueError(f"catalog: unsupported scheme {parts.scheme!r}; use postgresql://... or a folder")
        return value

    @field_validator("data_path")
    @classmethod
    def _check_data_path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("data_path: empty")
        scheme = urlsplit(value).scheme
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", value):
            if scheme not in ("s3", "s3a", "file"):
                raise ValueError(f"data_path: unsupported scheme {scheme!r}; use s3://bucket/prefix/ or a folder")
            return value if value.endswith("/") else value + "/"
        path = Path(value).expanduser().resolve()
        return str(path) + "/"

    @field_validator("inlining_row_limit")
    @classmethod
    def _check_limit(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"inlining_row_limit: must be >= 0, got {value}")
        return value

    @property
    def is_local(self) -> bool:
        """True when ``catalog`` is a local store folder."""
        return urlsplit(self.catalog).scheme not in _PG_SCHEMES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> StoreConfig:
        """Settings from the environment.

        ``BEHEST_LAB_CATALOG`` (the catalog URL or folder; when unset, ``PGDATABASE`` with libpq's other ``PG*``
        variables supplies it), ``BEHEST_LAB_DATA_PATH``, ``PGPASSWORD``, and the ``AWS_*`` variables read by
        ``S3Options.from_env``. ``overrides`` replace single fields.

        Raises:
            ValueError: neither ``BEHEST_LAB_CATALOG`` nor ``PGDATABASE`` is set.
        """
        env = os.environ if environ is None else environ
        catalog = env.get("BEHEST_LAB_CATALOG")
        if not catalog:
            database = env.get("PGDATABASE")
            if not database:
                raise ValueError(
                    "BEHEST_LAB_CATALOG is not set (a postgresql://user@host:port/dbname URL or a store folder), "
                    "and neither is PGDATABASE"
                )
            catalog = f"postgresql:///{quote(database, safe='')}"
        values: dict[str, Any] = {"catalog": catalog}
        if env.get("BEHEST_LAB_DATA_PATH"):
            values["data_path"] = env["BEHEST_LAB_DATA_PATH"]
        if urlsplit(catalog).scheme in _PG_SCHEMES:
            if env.get("PGPASSWORD"):
                values["password"] = env["PGPASSWORD"]
            s3 = S3Options.from_env(env)
            if s3 is not None:
                values["s3"] = s3
        values.update(overrides)
        return cls(**values)

    def redacted(self) -> str:
        """The catalog URL (no password) and data path, e.g. ``postgresql://lake@db:5432/cat + s3://b/p/``."""
        if self.is_local:
            return str(Path(self.catalog).expanduser().resolve())
        text = self.catalog
        return f"{text} + {self.data_path}" if self.data_path else text


#: Inserts and updates whose values take more than this many bytes are written to a Parquet file of their own,
#: never inlined into the catalog: every query of a table reads all of its inlined rows, so one 50 MB message kept
#: inline slowed every query of the store (``python -m bench maintenance``).
LARGE_INSERT_BYTES = 256_000


class AutoMerge(BaseModel):
    """Automatic, bounded merging of a table's small Parquet files after writes (``open_lake(auto_merge=...)``).

    Every bulk write (and every flush of inlined rows) adds a file to each table it touches, and a session read
    opens every file whose statistics may hold the session: after 20 bulk batches that each span all sessions,
    ``list_messages`` took twice as long as on the compacted store. After such a commit the writer counts each
    table's small files in the catalog; a table holding more than ``threshold`` of them has them merged (a DuckLake
    ``merge_adjacent_files`` commit, sorted by the table's sort key, under the store's writer lock). See
    ``maintenance.AutoMerger``.

    The work of one run is bounded: only files smaller than ``small_file_bytes`` are read and rewritten, and since
    every bulk commit and every flush checks the count, a table rarely holds more than ``threshold`` plus the files
    of one commit when a run starts (more only when runs were skipped: another writer held the lake, or writers
    without automatic merging added files).

    Attributes:
        threshold: merge a table once it holds more than this many live data files smaller than
            ``small_file_bytes``.
        small_file_bytes: files of at least this size are left alone (merged already, or holding a large row, see
            ``LARGE_INSERT_BYTES``); only smaller files take part in a merge.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: int = Field(default=8, ge=1)
    small_file_bytes: int = Field(default=4_000_000, ge=1)


#: Secret values shorter than this are not scrubbed from error text (see ``Location.scrub``).
MIN_SCRUBBED = 6


@dataclass(frozen=True)
class Location:
    """Everything the engine needs to attach one lake (built by ``local_location`` or ``remote_location``).

    Attributes:
        metadata: the DuckLake metadata path after ``ducklake:`` (``sqlite:<file>`` or ``postgres:<dsn>``).
        data_path: DATA_PATH for ATTACH, or None to take it from an existing catalog.
        description: redacted text naming the lake (for ``store.location`` and error messages).
        root: the store folder of a local lake, else None.
        override_data_path: re-point an existing catalog at ``data_path`` (moved local store folders).
        attach_options: extra ATTACH options (``METADATA_PARAMETERS`` naming the login secret).
        setup: ``CREATE SECRET`` statements to run on a DuckDB instance before attaching (hold secret values:
            never show them).
        s3_fields: the options of the object-storage secret without its scope (see ``s3_secret``), or None.
        extensions: extensions needed beyond the base set (``postgres_scanner``, ``httpfs``).
        secrets: secret values that must never appear in error text.
        catalog_file: the local catalog file (None for a server catalog).
        cache_dir: a local folder for derived data kept between runs.
    """

    metadata: str
    data_path: str | None
    description: str
    root: Path | None = None
    override_data_path: bool = False
    attach_options: tuple[str, ...] = ()
    setup: tuple[str, ...] = field(default=(), repr=False)
    s3_fields: str | None = field(default=None, repr=False)
    extensions: tuple[str, ...] = ()
    secrets: tuple[str, ...] = field(default=(), repr=False)
    catalog_file: Path | None = None
    cache_dir: Path = Path()

    def s3_secret(self, data_path: str) -> str | None:
        """The ``CREATE SECRET`` statement for object storage, scoped to ``data_path`` (None without S3 options).

        The scope keeps another store's keys (another bucket or prefix) from being used for this lake's files; the
        engine calls this before ATTACH when the data path is known, else after it with the catalog's data path.
        """
        if self.s3_fields is None:
            return None
        body = f"{self.s3_fields}, SCOPE {_sql_text(data_path)}"
        return f"CREATE OR REPLACE SECRET {_secret_name('behest_s3', body)} (TYPE s3, {body})"

    def scrub(self, text: str) -> str:
        """``text`` with every known secret value (and its URL-encoded and SQL-quoted forms) replaced by ``***``.

        Values shorter than ``MIN_SCRUBBED`` (6) characters are NOT scrubbed: replacing every occurrence of a short
        string would rewrite ordinary words of the error text (a dummy key "test" would garble "testing"), and such
        a value is no secret worth the name. Use real-length credentials.
        """
        for value in sorted(self.secrets, key=len, reverse=True):
            if len(value) < MIN_SCRUBBED:
                continue
            for form in {value, quote(value, safe=""), _sql_text(value)[1:-1]}:
                if form:
                    text = text.replace(form, "***")
        return text


def local_location(root: Path) -> Location:
    """The folder layout: ``<root>/catalog.sqlite`` and ``<root>/data/``."""
    catalog = root / CATALOG_FILE
    return Location(
        metadata=f"sqlite:{catalog}",
        data_path=str(root / DATA_DIR) + "/",
        description=str(root),
        root=root,
        # the catalog remembers the absolute data path it was created with; a store folder that was moved or
        # copied keeps working because file paths inside the catalog are relative to it
        override_data_path=catalog.exists(),
        catalog_file=catalog,
        cache_dir=root / "cache",
    )


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "behest_lab" / "lakes"


def _pg_metadata(catalog: str) -> str:
    """The DuckLake metadata string of a ``postgresql://`` catalog URL, in libpq ``key=value`` form."""
    parts = urlsplit(catalog)
    dsn = {"dbname": unquote(parts.path.lstrip("/"))}
    if parts.hostname:
        dsn["host"] = parts.hostname
    if parts.port is not None:
        dsn["port"] = str(parts.port)
    if parts.username:
        dsn["user"] = unquote(parts.username)
    dsn.update(parse_qsl(parts.query, keep_blank_values=True))
    return "postgres:" + " ".join(f"{k}={_dsn_value(v)}" for k, v in dsn.items())


def _catalog_login(config: StoreConfig, env: Mapping[str, str]) -> tuple[list[str], list[str], list[str]]:
    """How the catalog connection logs in, as ``(setup statements, ATTACH options, secret values)``.

    A configured password becomes a named ``TYPE postgres`` secret; a named ``catalog_secret`` is passed as is. A
    ``PGPASSWORD`` in ``env`` is listed among the secret values, since libpq may log in with it.
    """
    setup: list[str] = []
    options: list[str] = []
    secret_values: list[str] = []
    if config.password is not None:
        password = config.password.get_secret_value()
        name = _secret_name("behest_pg", password)
        setup.append(f"CREATE OR REPLACE SECRET {name} (TYPE postgres, PASSWORD {_sql_text(password)})")
        options.append(f"METADATA_PARAMETERS MAP {{'SECRET': {_sql_text(name)}}}")
        secret_values.append(password)
    elif config.catalog_secret is not None:
        options.append(f"METADATA_PARAMETERS MAP {{'SECRET': {_sql_text(config.catalog_secret)}}}")
    if env.get("PGPASSWORD"):
        # libpq may log in with it; it must not leak through our errors either
        secret_values.append(env["PGPASSWORD"])
    return setup, options, secret_values


def _s3_secret_fields(s3: S3Options) -> str:
    """The field list of the ``s3`` secret for ``s3``: only the options that are set, path-style for endpoints."""
    fields: list[tuple[str, str]] = [("PROVIDER", "config")]
    if s3.key_id is not None:
        fields.append(("KEY_ID", _sql_text(s3.key_id)))
    if s3.secret is not None:
        fields.append(("SECRET", _sql_text(s3.secret.get_secret_value())))
    if s3.session_token is not None:
        fields.append(("SESSION_TOKEN", _sql_text(s3.session_token.get_secret_value())))
    if s3.region is not None:
        fields.append(("REGION", _sql_text(s3.region)))
    if s3.endpoint is not None:
        fields.append(("ENDPOINT", _sql_text(s3.endpoint)))
    url_style = s3.url_style or ("path" if s3.endpoint is not None else None)
    if url_style is not None:
        fields.append(("URL_STYLE", _sql_text(url_style)))
    if s3.use_ssl is not None or s3.endpoint is not None:
        fields.append(("USE_SSL", "true" if s3.use_ssl in (None, True) else "false"))
    return ", ".join(f"{k} {v}" for k, v in fields)


def remote_location(config: StoreConfig, environ: Mapping[str, str] | None = None) -> Location:
    """The PostgreSQL-catalog layout of ``config`` (which must not be local)."""
    env = os.environ if environ is None else environ
    metadata = _pg_metadata(config.catalog)
    setup, options, secret_values = _catalog_login(config, env)

    extensions = ["postgres_scanner"]
    data_path = config.data_path
    remote_data = data_path is None or urlsplit(data_path).scheme not in ("", "file")
    if remote_data:
        extensions.append("httpfs")
    s3 = config.s3 if config.s3 is not None else S3Options.from_env(env)
    s3_fields: str | None = None
    if s3 is not None and remote_data:
        secret_values += s3.secret_values()
        s3_fields = _s3_secret_fields(s3)

    _require_shared_extra(extensions)
    description = config.redacted()
    key = hashlib.sha256(f"{config.catalog}\x00{data_path or ''}".encode()).hexdigest()[:24]
    return Location(
        metadata=metadata,
        data_path=data_path,
        description=description,
        attach_options=tuple(options),
        setup=tuple(setup),
        s3_fields=s3_fields,
        extensions=tuple(extensions),
        secrets=tuple(v for v in secret_values if v),
        cache_dir=_user_cache() / key,
    )


#: The pip extra that installs the extension wheels of a shared store (``pip install 'behest_lab[shared]'``).
SHARED_EXTRA = "behest_lab[shared]"


def _require_shared_extra(extensions: list[str]) -> None:
    """Fail early, naming the ``shared`` extra, when an extension wheel a shared store loads is not installed.

    The core install leaves out the PostgreSQL-scanner and httpfs wheels; only a shared store needs them.

    Raises:
        MissingExtensionError: the wheel of one of ``extensions`` is not installed.
    """
    for ext in extensions:
        if importlib.util.find_spec(f"duckdb_extension_{ext}") is None:
            raise MissingExtensionError(
                ext,
                f"duckdb-extension-{ext.replace('_', '-')}",
                f"a shared store needs the optional extra: pip install '{SHARED_EXTRA}'",
            )
