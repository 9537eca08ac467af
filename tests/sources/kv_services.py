"""Servers for the key-value source tests: a throwaway ``redis-server`` on 127.0.0.1 in a temp folder.

Nothing here imports pytest. ``RedisServer.missing()`` names what is not installed (the test skips on a workstation
and fails on CI); a server that is installed but does not start is an error.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.services import ServiceUnavailable, free_port

ENABLE_HINT = "install Redis with `make system-deps` (Debian: apt-get install redis-server)"


class RedisServer:
    """``redis-server`` with a password, no persistence, listening on 127.0.0.1 and a free port.

    Attributes:
        password: the ``requirepass`` secret.
        port: the TCP port.
    """

    host = "127.0.0.1"

    def __init__(self) -> None:
        binary = shutil.which("redis-server") or (
            "/usr/bin/redis-server" if Path("/usr/bin/redis-server").is_file() else None
        )
        if binary is None:
            raise ServiceUnavailable(f"redis-server not found; {ENABLE_HINT}")
        self.binary = binary
        self.password = "kv-secret-7f3a9c"
        self.port = 0
        self.root = Path(tempfile.mkdtemp(prefix="behest-redis-"))
        self._proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def missing() -> str | None:
        """Why Redis cannot run here (not installed), or None."""
        if shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").is_file():
            return f"redis-server is not installed; {ENABLE_HINT}"
        return None

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING (ServiceUnavailable with its log otherwise)."""
        import redis

        for _ in range(3):  # the port may be taken between free_port() and the bind
            self.port = free_port()
            log = self.root / "redis.log"
            self._proc = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    self.host,
                    "--dir",
                    str(self.root),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--requirepass",
                    self.password,
                    "--logfile",
                    str(log),
                    "--daemonize",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            client = redis.Redis(host=self.host, port=self.port, password=self.password)
            for _ in range(100):
                if self._proc.poll() is not None:
                    break
                try:
                    client.ping()
                    client.close()
                    return self
                except redis.ConnectionError:
                    time.sleep(0.05)
            self._kill()
        tail = (
            (self.root / "redis.log").read_text(errors="replace")[-800:] if (self.root / "redis.log").exists() else ""
        )
        self.stop()
        raise ServiceUnavailable(f"redis-server did not start: {tail}")

    def url(self, db: int = 0, *, password: bool = True) -> str:
        """``redis://:password@127.0.0.1:PORT/db``."""
        secret = f":{self.password}@" if password else ""
        return f"redis://{secret}{self.host}:{self.port}/{db}"

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def stop(self) -> None:
        """Stop the server (by its own process id) and delete its folder."""
        self._kill()
        shutil.rmtree(self.root, ignore_errors=True)
