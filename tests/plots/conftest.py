"""A memory store of sample sessions shared by the plot tests (read-only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from behest_lab import Store, open_store
from behest_lab.sample import generate


@pytest.fixture(scope="package")
def sample() -> Iterator[Store]:
    """50 deterministic sample sessions: eight models, thirteen tools, failures, pending calls, compactions."""
    with open_store(None) as store:
        generate(store, sessions=50, seed=6)
        yield store


@pytest.fixture
def empty() -> Iterator[Store]:
    with open_store(None) as store:
        yield store
