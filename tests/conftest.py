"""Fixtures shared by the whole suite.

``store`` is parametrized over every backend in ``BACKENDS``: test bodies never name a backend.

The shared-store backend ("lake-pg-s3": DuckLake catalog in PostgreSQL, Parquet files in S3) runs against real
services started once per test session (``tests/services.py``): ``pg_server``, ``s3_server``, and ``remote_config``
(a ``StoreConfig`` for a fresh, already initialised database and its own bucket prefix). When PostgreSQL or moto
is not installed (decided once, up front: ``tests.services.missing``) those fixtures skip, saying which tests did not
run and how to enable them; on CI (``CI=true``, where ``make test`` installs them) the same message is a failure.
A service that is installed but fails to start is always an error, never a skip.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from behest_lab import Store, StoreConfig, open_store
from tests.lake.template import lake_store
from tests.services import PostgresServer, S3Server, missing

#: A backend factory: the requesting test (for session fixtures such as ``remote_config``) and a fresh temp folder.
BackendFactory = Callable[[pytest.FixtureRequest, Path], Store]


def _remote_store(request: pytest.FixtureRequest, _tmp: Path) -> Store:
    # the session-scoped factory (not ``remote_config``), so module-scoped fixtures can use this backend too
    factory: RemoteFactory = request.getfixturevalue("remote_factory")
    config = factory.new()
    request.addfinalizer(lambda: factory.release(config))
    return open_store(config)


#: Every backend the conformance suite runs on.
BACKENDS: dict[str, BackendFactory] = {
    "memory": lambda _request, _tmp: open_store(None),
    # copies of one freshly created template store: same empty store, without a schema migration per test
    "lake": lambda _request, tmp: lake_store(tmp / "lake"),
    # PostgreSQL catalog + S3 (moto) data: a copy of an initialised template database per test
    "lake-pg-s3": _remote_store,
}


#: The pytest marker of each backend: ``pytest -m memory`` (or ``lake``, ``shared``) runs that backend's tests only.
BACKEND_MARKS = {"memory": "memory", "lake": "lake", "lake-pg-s3": "shared"}
#: Folders whose tests exercise one backend directly, without a backend parameter.
FOLDER_MARKS = {"lake": "lake", "remote": "shared"}
#: Fixtures that open the shared store themselves.
SHARED_FIXTURES = frozenset({"pg_server", "s3_server", "remote_factory", "remote_config"})


def backend_marks(item: pytest.Item) -> set[str]:
    """The backend markers of one collected test.

    A test parametrized by a fixture whose parameters are backend names (``store`` here, and the analytics and
    widget fixtures built the same way) gets the marker of its parameter; a test in ``tests/lake`` or
    ``tests/remote``, or one using the shared-store fixtures, gets ``lake`` or ``shared``.
    """
    marks: set[str] = set()
    callspec = getattr(item, "callspec", None)
    info = getattr(item, "_fixtureinfo", None)
    if callspec is not None and info is not None:
        for name, value in callspec.params.items():
            defs = info.name2fixturedefs.get(name)
            params = defs[-1].params if defs else None
            if params and set(params) <= set(BACKEND_MARKS) and value in BACKEND_MARKS:
                marks.add(BACKEND_MARKS[value])
    parts = (
        item.path.relative_to(Path(__file__).parent).parts if item.path.is_relative_to(Path(__file__).parent) else ()
    )
    if len(parts) > 1 and parts[0] in FOLDER_MARKS:
        marks.add(FOLDER_MARKS[parts[0]])
    if SHARED_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        marks.add("shared")
    return marks


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with the backends it runs on (see ``backend_marks``)."""
    for item in items:
        for mark in sorted(backend_marks(item)):
            item.add_marker(getattr(pytest.mark, mark))


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each backend."""
    s = BACKENDS[request.param](request, tmp_path)
    try:
        yield s
    finally:
        s.close()


# --- real services for the shared store ------------------------------------------------------------------------

_SKIP = "the shared-store tests (lake-pg-s3 backend, tests/remote) did not run: {reason}"


def on_ci() -> bool:
    """True on CI (``CI=true``, set by ``.ci/run``): whatever a test needs is installed there, so nothing skips."""
    return os.environ.get("CI") == "true"


def skip_or_fail(message: str) -> None:
    """Skip with ``message``, or on CI fail with it (a missing dependency there is a broken setup)."""
    if on_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def services_installed() -> None:
    """Skips (fails on CI) when PostgreSQL or moto is not installed; says nothing about whether they start."""
    reason = missing()
    if reason is not None:
        skip_or_fail(_SKIP.format(reason=reason))


@pytest.fixture(scope="session")
def pg_server(services_installed: None) -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test session (``.new_database()`` gives a fresh database URL).

    A failing start raises ``ServiceUnavailable``: an error of every test using it, not a skip.
    """
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server(services_installed: None) -> Iterator[S3Server]:
    """moto's S3 server in this process (``.endpoint``, ``.new_bucket()``); a failing start is an error."""
    # the emulator logs every request at INFO through werkzeug
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = S3Server().start()
    try:
        yield server
    finally:
        server.stop()


class RemoteFactory:
    """Fresh shared-store configurations, each a copy of one initialised template database.

    Opening a store on an empty catalog creates DuckLake's ~30 catalog tables and behest_lab's tables (about a
    second); ``CREATE DATABASE ... TEMPLATE`` copies the result in 0.1-0.3 s, and the next copy is made in a
    background thread while the current test runs. A copy still names the template's data path, so it is pointed
    at its own bucket prefix (paths of the files inside the catalog are relative to it, and the template has no
    files: its few rows are inlined in the catalog).
    """

    def __init__(self, pg: PostgresServer, s3: S3Server) -> None:
        self.pg = pg
        self.s3 = s3
        self.bucket = s3.new_bucket("behest")
        self._template: str | None = None
        self._numbers = itertools.count(1)  # next() is atomic: the prefetch thread takes numbers too
        self._finished: list[str] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="behest-pg-prefetch")
        self._next: Future[tuple[str, str]] | None = None

    def template(self) -> str:
        """The name of the initialised template database (created on first use)."""
        if self._template is None:
            url = self.pg.new_database(prefix="template")
            open_store(StoreConfig(catalog=url, data_path=self.bucket + "template/", s3=self.s3.options())).close()
            self._template = url.rsplit("/", 1)[1]
        return self._template

    def _copy(self, drop: list[str]) -> tuple[str, str]:
        data_path = f"{self.bucket}t{next(self._numbers)}/"
        url = self.pg.new_database(
            template=self.template(),
            prefix="store",
            setup=[f"UPDATE ducklake_metadata SET value = '{data_path}' WHERE key = 'data_path'"],
            drop=drop,
        )
        return url, data_path

    def new(self, *, initialised: bool = True) -> StoreConfig:
        """A ``StoreConfig`` for a fresh database and data prefix (``initialised=False``: an empty database)."""
        drop, self._finished = self._finished, []
        if not initialised:
            url = self.pg.new_database(prefix="empty", drop=drop)
            data_path = f"{self.bucket}t{next(self._numbers)}/"
        else:
            if self._next is None:
                url, data_path = self._copy(drop)
            else:
                url, data_path = self._next.result()
                self.pg.drop_database(*drop)
            self._next = self._pool.submit(self._copy, [])
        return StoreConfig(catalog=url, data_path=data_path, s3=self.s3.options())

    def release(self, config: StoreConfig) -> None:
        """The test using ``config`` is over: its database is dropped with the next ``new()``."""
        self._finished.append(config.catalog.rsplit("/", 1)[1])

    def close(self) -> None:
        """Wait for a copy in progress (the server stops next)."""
        self._pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def remote_factory(pg_server: PostgresServer, s3_server: S3Server) -> Iterator[RemoteFactory]:
    """Makes fresh shared-store configurations (see ``RemoteFactory``)."""
    factory = RemoteFactory(pg_server, s3_server)
    yield factory
    factory.close()


@pytest.fixture
def remote_config(remote_factory: RemoteFactory) -> Iterator[StoreConfig]:
    """A ``StoreConfig`` for a fresh, initialised shared store: its own database and its own S3 prefix."""
    config = remote_factory.new()
    yield config
    remote_factory.release(config)
