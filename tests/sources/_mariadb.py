"""A throwaway MariaDB server for the MySQL-source tests, started the way ``tests/services.py`` starts PostgreSQL.

``mariadb-install-db`` into a temp folder, ``mariadbd`` on 127.0.0.1 and a free port (as the ``mysql`` account
when running as root), one login user with a password over TCP. ``new_database()`` gives a fresh empty database
and its ``mysql://`` URL; ``run()`` executes SQL as the server's root user over the Unix socket. Nothing here
imports pytest.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests.services import ServiceUnavailable, free_port

#: How to get the server when it is missing (named in every skip / error message).
ENABLE_HINT = "install MariaDB with `make system-deps` (Debian: apt-get install mariadb-server)"


def missing() -> str | None:
    """What is not installed for MariaDB (server, installer, client), or None when all of it is."""
    for tool in ("mariadbd", "mariadb-install-db", "mariadb"):
        if _which(tool) is None:
            return f"{tool} not found; {ENABLE_HINT}"
    return None


def _which(tool: str) -> str | None:
    return shutil.which(tool) or next(
        (str(p) for p in (Path("/usr/sbin") / tool, Path("/usr/bin") / tool) if p.is_file()), None
    )


class MariaDBServer:
    """A MariaDB server in a temp folder on 127.0.0.1.

    Attributes:
        user: the login user the sources use (password over TCP).
        password: its password.
        host: always 127.0.0.1.
        port: the TCP port.
    """

    user = "behest"
    host = "127.0.0.1"

    def __init__(self) -> None:
        reason = missing()
        if reason is not None:
            raise ServiceUnavailable(reason)
        self.root = Path(tempfile.mkdtemp(prefix="behest-mariadb-"))
        self.password = "mdb-" + os.urandom(6).hex()
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._as: list[str] = []
        self._user_flag: list[str] = []
        if os.geteuid() == 0:
            self._user_flag = ["--user=mysql"]
        self._names = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def socket(self) -> Path:
        """The server's Unix socket (root's way in)."""
        return self.root / "mysqld.sock"

    def start(self) -> MariaDBServer:
        """Install the system tables and start the server (a few seconds); ``ServiceUnavailable`` on failure."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> MariaDBServer:
        data = self.root / "data"
        if self._user_flag:
            self.root.chmod(0o755)
            shutil.chown(self.root, "mysql", "mysql")
        install = subprocess.run(
            [
                str(_which("mariadb-install-db")),
                "--no-defaults",
                f"--datadir={data}",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
                *self._user_flag,
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
        )
        if install.returncode != 0:
            raise ServiceUnavailable(f"mariadb-install-db failed: {(install.stderr or install.stdout)[-800:]}")
        for _ in range(3):  # the port may be taken between free_port() and the bind
            self.port = free_port()
            log = self.root / "server.log"
            self._proc = subprocess.Popen(
                [
                    str(_which("mariadbd")),
                    "--no-defaults",
                    f"--datadir={data}",
                    f"--port={self.port}",
                    f"--bind-address={self.host}",
                    f"--socket={self.socket}",
                    f"--pid-file={self.root / 'mysqld.pid'}",
                    f"--log-error={log}",
                    "--skip-log-bin",
                    "--innodb-buffer-pool-size=64M",
                    "--innodb-flush-log-at-trx-commit=0",
                    "--innodb-doublewrite=0",
                    "--max-connections=200",
                    *self._user_flag,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_ready():
                break
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        if self._proc is None:
            tail = (
                (self.root / "server.log").read_text(errors="replace")[-800:]
                if (self.root / "server.log").exists()
                else ""
            )
            raise ServiceUnavailable(f"MariaDB did not start: {tail}")
        self.run(
            f"CREATE USER '{self.user}'@'%' IDENTIFIED BY '{self.password}'",
            f"GRANT ALL PRIVILEGES ON *.* TO '{self.user}'@'%'",
        )
        return self

    def _wait_ready(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                return False
            if self.socket.exists():
                probe = subprocess.run(
                    [str(_which("mariadb")), "--no-defaults", "-S", str(self.socket), "-u", "root", "-e", "SELECT 1"],
                    capture_output=True,
                    check=False,
                )
                if probe.returncode == 0:
                    return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> MariaDBServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, database: str, *, password: bool = True) -> str:
        """``mysql://behest[:password]@127.0.0.1:PORT/database``."""
        secret = f":{self.password}" if password else ""
        return f"mysql://{self.user}{secret}@{self.host}:{self.port}/{database}"

    def new_database(self, prefix: str = "db") -> str:
        """A fresh empty database; its name."""
        with self._lock:
            name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        self.run(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return name

    def run(self, *statements: str, database: str | None = None) -> str:
        """Run SQL statements as root over the socket, in order, in one client session; its output."""
        args = [
            str(_which("mariadb")),
            "--no-defaults",
            "-S",
            str(self.socket),
            "-u",
            "root",
            "-N",
            "-B",
            "--default-character-set=utf8mb4",
        ]
        if database is not None:
            args.append(database)
        script = "".join(s.rstrip().rstrip(";") + ";\n" for s in statements)
        proc = subprocess.run(args, input=script, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ServiceUnavailable(f"mariadb client failed: {proc.stderr.strip()[-800:]}")
        return proc.stdout
