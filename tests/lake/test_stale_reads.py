"""A read planned against inlined rows a concurrent flush replaced is run again, not surfaced (``reads.consistent``).

Under writers that flush, a reader's query sometimes failed with DuckDB's "Failed to read inlined data from DuckLake:
Table with name ducklake_inlined_data_12_1 does not exist!" (seen in ``test_consistency.py``'s reader processes);
that is the missed-rows race of ``reads.py`` seen from the other side. These tests drive ``consistent`` itself with
reads that fail the way DuckDB does.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pytest

from behest_lab.stores.lake import reads
from behest_lab.stores.lake.retry import RETRYABLE

STALE = "Failed to read inlined data from DuckLake: Table with name ducklake_inlined_data_12_1 does not exist!"


def _failing(times: int, message: str) -> tuple[Callable[[], int], list[int]]:
    calls: list[int] = []

    def run() -> int:
        calls.append(1)
        if len(calls) <= times:
            raise duckdb.CatalogException(message)
        return 42

    return run, calls


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """A connection with a one-row snapshot table standing for the catalog's (no commit lands between tries)."""
    c = duckdb.connect()
    c.execute("CREATE SCHEMA meta; CREATE TABLE meta.ducklake_snapshot_changes (snapshot_id INT, changes_made TEXT)")
    return c


def test_a_read_that_met_replaced_inlined_rows_is_run_again(con: duckdb.DuckDBPyConnection) -> None:
    run, calls = _failing(2, STALE)
    assert reads.consistent(con, "SELECT 1", "meta", run, "list_messages") == 42
    assert len(calls) == 3


def test_other_catalog_errors_are_not_retried(con: duckdb.DuckDBPyConnection) -> None:
    run, calls = _failing(1, "Table with name nope does not exist!")
    with pytest.raises(duckdb.CatalogException, match="nope"):
        reads.consistent(con, "SELECT 1", "meta", run, "list_messages")
    assert len(calls) == 1


def test_a_read_that_keeps_failing_gives_up_with_the_engine_error(con: duckdb.DuckDBPyConnection) -> None:
    run, calls = _failing(10_000, STALE)
    with pytest.raises(duckdb.CatalogException, match="inlined data"):
        reads.consistent(con, "SELECT 1", "meta", run, "list_messages")
    assert len(calls) == reads.READ_ATTEMPTS


def test_a_write_that_met_replaced_inlined_rows_is_retried() -> None:
    assert RETRYABLE.search(f"Catalog Error: {STALE}")
