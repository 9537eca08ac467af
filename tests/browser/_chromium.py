"""What every real-browser test shares: Debian's Chromium through Playwright, a Voila server, and the rule for a
machine without them (skipped with a reason saying how to enable them; on CI, ``CI=true``, a failure instead)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a headless Chromium in a container: no sandbox (we may run as root), no GPU, and none of the background
# services that would reach out to the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def require(what: str, *modules: str) -> None:
    """Skip the calling test (fail it on CI) when Chromium or one of the Python ``modules`` is missing; ``what``
    names the check in the reason."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"{what} did not run: {CHROMIUM} not found; enable it with `make system-deps`"
    for module in modules:
        if reason is None and importlib.util.find_spec(module) is None:
            reason = f"{what} did not run: the Python package {module!r} is missing; install it with `make install`"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium (Debian's, driven by Playwright), closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class VoilaServer:
    """A running Voila: its URL, how long it took to accept connections, and its log file."""

    url: str
    port: int
    log: Path
    started_in: float


@contextlib.contextmanager
def voila(folder: Path, notebook: str, tmp: Path) -> Iterator[VoilaServer]:
    """Voila serving ``folder / notebook`` on 127.0.0.1, with Jupyter's config, data and runtime dirs under ``tmp``
    (nothing from the user's own Jupyter setup leaks in); stopped on exit."""
    port = free_port()
    env = {
        **os.environ,
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_DATA_DIR": str(tmp / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "IPYTHONDIR": str(tmp / "ipython"),
        "PYTHONHASHSEED": "0",
        "TZ": "UTC",
    }
    log = tmp / "voila.log"
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voila", notebook, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = started + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"voila exited with code {proc.returncode}:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.perf_counter() > deadline:
                    pytest.fail(f"voila did not listen on port {port} within 60 s:\n{log.read_text()}")
                time.sleep(0.1)
        yield VoilaServer(f"http://127.0.0.1:{port}/", port, log, time.perf_counter() - started)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
