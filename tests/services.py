"""Real services for the shared-store tests and benchmarks: a throwaway PostgreSQL and an S3 emulator (moto).

Both listen on 127.0.0.1 only and keep all state in a temporary folder. Nothing here imports pytest. The fixtures in
``tests/conftest.py`` skip only when ``missing()`` names something not installed (an error on CI); any other
``ServiceUnavailable`` (a start that failed) is a test error. ``bench/bench_remote.py`` prints it as an error.

- ``PostgresServer``: ``initdb`` into a temp folder (as the ``postgres`` user via ``runuser`` when running as root,
  because initdb refuses root), ``fsync=off``, a free port, one login role with a password and ``CREATEDB``.
  ``new_database()`` gives a fresh empty database; ``new_database(template=...)`` a copy of a prepared one.
- ``S3Server``: moto's ``ThreadedMotoServer`` inside this process (port chosen by the OS); ``new_bucket()``.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from behest_lab import S3Options

#: How to get the services when they are missing (named in every skip / error message).
ENABLE_HINT = (
    "install PostgreSQL with `make system-deps` (Debian: apt-get install postgresql) and moto with "
    "`pip install 'moto[s3]' flask flask-cors` (both are in `make install`)"
)

#: The S3 emulator accepts any key. Not the conventional "testing": error text is scrubbed of secret values, and
#: a dictionary word as the secret would be replaced wherever it occurs in a message.
S3_KEY_ID = "behest-test-key-id"
S3_SECRET = "behest-test-secret-0123"
S3_REGION = "us-east-1"


class ServiceUnavailable(RuntimeError):
    """A service cannot be started here; the message says why and how to enable it."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bin_dir() -> Path | None:
    """The folder with ``initdb``/``pg_ctl``/``psql``: the newest /usr/lib/postgresql/*/bin, else the PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0))
    for folder in reversed(candidates):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(os.path.realpath(initdb)).parent
    return None


def missing() -> str | None:
    """What is not installed for the services (PostgreSQL binaries, psql, moto), or None when all of it is.

    Only this decides whether the shared-store tests may be skipped: a service that is installed but fails to start
    is a failure, not a reason to skip.
    """
    import importlib.util

    try:
        PostgresServer().stop()  # the constructor checks the tools; stop() removes the temp folder it made
    except ServiceUnavailable as exc:
        return str(exc)
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        return f"the Python packages moto and flask (moto's S3 server) are not installed; {ENABLE_HINT}"
    return None


class PostgresServer:
    """A PostgreSQL cluster in a temp folder on 127.0.0.1 (see the module docstring).

    Attributes:
        user: the login role the stores use (password authentication over TCP).
        password: its password.
        host: always 127.0.0.1.
        port: the TCP port.
    """

    user = "lake"
    host = "127.0.0.1"

    def __init__(self, root: Path | None = None) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise ServiceUnavailable(f"PostgreSQL binaries (initdb, pg_ctl) not found; {ENABLE_HINT}")
        self.bin_dir: Path = bin_dir
        psql = self.bin_dir / "psql"
        self._psql = str(psql) if psql.is_file() else shutil.which("psql")
        if self._psql is None:
            raise ServiceUnavailable(f"psql not found next to {self.bin_dir} nor on PATH; {ENABLE_HINT}")
        self._as: list[str] = []
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root: run them as the `postgres` account the Debian package makes
            if shutil.which("runuser") is None:
                raise ServiceUnavailable("running as root but `runuser` is missing (needed to start PostgreSQL)")
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError:
                raise ServiceUnavailable(f"running as root but there is no `postgres` user; {ENABLE_HINT}") from None
            self._as = ["runuser", "-u", "postgres", "--"]
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="behest-pg-")) if root is None else root
        self.password = "lake-" + os.urandom(6).hex()
        self.port = 0
        self._names = itertools.count(1)
        self._lock = threading.Lock()
        self._started = False

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> PostgresServer:
        """initdb + pg_ctl start (about 2 s) + the login role; ``ServiceUnavailable`` with the log on failure.

        A failure part way (the server runs but the role cannot be made) stops the server and removes the temp
        folder before the error propagates: nothing outlives a failed start.
        """
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> PostgresServer:
        if self._as:
            self.root.chmod(0o755)
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        self._run(
            [
                *self._as,
                str(self.bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            what="initdb",
        )
        last = ""
        for _ in range(3):  # the port may be taken between free_port() and the bind
            self.port = free_port()
            opts = (
                f"-c listen_addresses={self.host} -p {self.port} -k {self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            proc = subprocess.run(
                [*self._pg_ctl, "-l", str(self.root / "server.log"), "-w", "-t", "30", "-o", opts, "start"],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode == 0:
                self._started = True
                break
            last = proc.stderr + self._log_tail()
        if not self._started:
            raise ServiceUnavailable(f"PostgreSQL did not start: {last.strip()[-800:]}")
        self.admin(f"CREATE ROLE {self.user} LOGIN CREATEDB PASSWORD '{self.password}'")
        return self

    @property
    def _pg_ctl(self) -> list[str]:
        return [*self._as, str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data")]

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder when this object created it."""
        # also after a start that failed half way (pg_ctl timed out but the postmaster came up)
        if self._started or (self.root / "data" / "postmaster.pid").exists():
            subprocess.run(
                [*self._pg_ctl, "-m", "immediate", "-w", "stop"],
                capture_output=True,
                check=False,
            )
            self._started = False
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- databases -----------------------------------------------------------------------------------------------

    def url(self, database: str, *, password: bool = True) -> str:
        """``postgresql://lake[:password]@127.0.0.1:PORT/database``."""
        secret = f":{self.password}" if password else ""
        return f"postgresql://{self.user}{secret}@{self.host}:{self.port}/{database}"

    def new_database(
        self,
        template: str | None = None,
        *,
        prefix: str = "db",
        setup: Sequence[str] = (),
        drop: Sequence[str] = (),
    ) -> str:
        """A fresh database owned by the login role; its URL (with the password). One ``psql`` run does it all.

        Args:
            template: copy this database (connections to it are terminated first: the copy needs it idle).
            prefix: the start of the new database's name.
            setup: statements to run inside the new database as the superuser.
            drop: databases to drop first (finished tests' databases: each copy takes ~8 MB on disk).
        """
        with self._lock:
            name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        statements = [f'DROP DATABASE IF EXISTS "{d}" WITH (FORCE)' for d in drop]
        if template is None:
            statements.append(f'CREATE DATABASE "{name}" OWNER {self.user}')
        else:
            statements += [
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{template}' AND pid <> pg_backend_pid()",
                f'CREATE DATABASE "{name}" TEMPLATE "{template}" OWNER {self.user}',
            ]
        if setup:
            statements += [f"\\c {name}", *setup]
        self.admin(*statements)
        return self.url(name)

    def drop_database(self, *names: str) -> None:
        """Drop databases (open connections are closed by force)."""
        if names:
            self.admin(*(f'DROP DATABASE IF EXISTS "{d}" WITH (FORCE)' for d in names))

    def admin(self, *statements: str, database: str = "postgres") -> str:
        """Run SQL statements as the superuser over the Unix socket (each in its own transaction); stdout."""
        args = [*self._as, self._psql or "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        args += ["-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", database]
        for s in statements:
            args += ["-c", s]
        return self._run(args, what="psql")

    def _run(self, args: list[str], *, what: str) -> str:
        proc = subprocess.run(args, capture_output=True, text=True, check=False, cwd=self.root)
        if proc.returncode != 0:
            raise ServiceUnavailable(
                f"{what} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-800:]}"
            )
        return proc.stdout

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "server.log").read_text(errors="replace")[-800:]
        return ""


class S3Server:
    """moto's S3 emulator in a thread of this process, on 127.0.0.1 and a port the OS picks.

    Attributes:
        endpoint: ``"127.0.0.1:PORT"`` (no scheme, as DuckDB's S3 ``ENDPOINT`` wants it).
    """

    def __init__(self) -> None:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:
            raise ServiceUnavailable(f"moto's S3 server is not importable ({exc}); {ENABLE_HINT}") from None
        self._server: Any = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint = ""
        self._names = itertools.count(1)
        self._lock = threading.Lock()

    def start(self) -> S3Server:
        """Start the server thread (about 0.5 s the first time: moto's imports)."""
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"{host}:{port}"
        return self

    def options(self) -> S3Options:
        """``S3Options`` for this emulator (path-style URLs, plain HTTP, the dummy keys)."""
        from behest_lab import S3Options

        return S3Options(
            endpoint=self.endpoint,
            key_id=S3_KEY_ID,
            secret=S3_SECRET,
            region=S3_REGION,
            url_style="path",
            use_ssl=False,
        )

    def stop(self) -> None:
        """Shut the server thread down."""
        self._server.stop()

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.endpoint}"

    def new_bucket(self, prefix: str = "lake") -> str:
        """Create a fresh bucket; ``"s3://name/"``."""
        with self._lock:
            name = f"{prefix}-{os.getpid()}-{next(self._names)}-{int(time.time() * 1000) % 100000}"
        # the emulator needs no request signing for bucket creation
        request = urllib.request.Request(f"{self.url}/{name}", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        return f"s3://{name}/"

    def list_keys(self, bucket_url: str) -> list[str]:
        """Every object key under an ``s3://bucket/prefix/`` URL (via boto3)."""
        import boto3  # type: ignore[import-untyped]

        bucket, _, prefix = bucket_url.removeprefix("s3://").partition("/")
        client = boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=S3_KEY_ID,
            aws_secret_access_key=S3_SECRET,
            region_name=S3_REGION,
        )
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return keys
