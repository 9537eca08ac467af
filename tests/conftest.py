"""Fixtures shared by the whole suite.

``store`` is parametrized over every backend in ``BACKENDS``: test bodies never name a backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from behest_lab import Store, open_store
from tests.lake.template import lake_store

#: Every backend the conformance suite runs on, with a factory taking a fresh temporary folder.
BACKENDS: dict[str, Callable[[Path], Store]] = {
    "memory": lambda _tmp: open_store(None),
    # copies of one freshly created template store: same empty store, without a schema migration per test
    "lake": lambda tmp: lake_store(tmp / "lake"),
}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each backend."""
    s = BACKENDS[request.param](tmp_path)
    try:
        yield s
    finally:
        s.close()
