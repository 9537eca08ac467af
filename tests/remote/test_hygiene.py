"""Hygiene of the shared store and its test services: no lake created by a read, credentials dropped with the last
store, errors scrubbed but typed, test services that clean up after a failed start, skips only for what is missing."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import SecretStr

from behest_lab import StoreConfig, open_store
from behest_lab.cli import main
from behest_lab.errors import BackendError
from behest_lab.interchange.store_copy import redact
from behest_lab.stores.lake import LakeStore
from behest_lab.stores.lake.config import MIN_SCRUBBED, Location
from behest_lab.stores.lake.engine import shared_instance, small_instance
from tests.conftest import skip_or_fail
from tests.services import PostgresServer, ServiceUnavailable
from tests.stores._build import embedding, message, session


def _behest_secrets() -> set[str]:
    names: set[str] = set()
    for instance in (shared_instance(), small_instance()):
        cur = instance.cursor()
        try:
            names |= {str(n) for (n,) in cur.execute("SELECT name FROM duckdb_secrets()").fetchall()}
        finally:
            cur.close()
    return {n for n in names if n.startswith("behest_")}


# --- no services -------------------------------------------------------------------------------------------------


def test_an_empty_password_is_no_password() -> None:
    for cfg in (
        StoreConfig(catalog="postgresql://u:@h/db"),
        StoreConfig(catalog="postgresql://u@h/db?password="),
        StoreConfig(catalog="postgresql://u@h/db", password=""),
    ):
        assert cfg.password is None
        assert cfg.catalog == "postgresql://u@h/db"
    # an empty URL password does not conflict with a real one given beside it
    assert StoreConfig(catalog="postgresql://u:@h/db", password="real-one").password == SecretStr("real-one")


def test_scrub_leaves_short_values_and_replaces_long_ones() -> None:
    short, long = "x" * (MIN_SCRUBBED - 1), "y" * MIN_SCRUBBED
    location = Location(metadata="", data_path=None, description="", secrets=(short, long, "pa ss/word"))
    text = f"testing {short} {long} pa%20ss%2Fword 'pa ss/word'"
    assert location.scrub(text) == f"testing {short} *** *** '***'"


def test_skip_or_fail_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="not installed"):
        skip_or_fail("not installed")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        skip_or_fail("not installed")


def test_a_failed_embedding_read_keeps_its_own_error(tmp_path: Path) -> None:
    with open_store(tmp_path / "s") as store:
        assert isinstance(store, LakeStore)
        store.embeddings.upsert_many([embedding([1.0, float(i)]) for i in range(2000)])  # over the inlining limit
        files = list((tmp_path / "s" / "data").rglob("*.parquet"))
        assert files
        for f in files:
            f.unlink()
        with pytest.raises(BackendError, match="reading the embeddings") as err:
            store.embeddings.search([1.0, 0.0], 1)
        text = str(err.value)
        # the read's own error (a missing file), not the failed COMMIT of an aborted transaction
        assert any(f.name in text for f in files), text
        assert "commit" not in text.lower()


# --- against the services -----------------------------------------------------------------------------------------


def test_a_remote_source_without_a_store_is_refused(
    remote_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty: StoreConfig = remote_factory.new(initialised=False)
    assert empty.password is not None
    password = empty.password.get_secret_value()
    url = empty.catalog.replace("@", f":{password}@", 1)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main(["migrate", "--from", url, "--to", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "no behest_lab store" in err
    assert redact(url) in err  # named, without the password
    assert password not in err
    assert not (tmp_path / "b").exists()
    # and the wrong database was left alone: no DuckLake catalog created in it
    database = empty.catalog.rsplit("/", 1)[1]
    found = remote_factory.pg.admin(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ducklake_metadata'", database=database
    )
    assert found.strip() == "0"
    remote_factory.release(empty)


def test_closing_the_only_store_drops_its_secrets(remote_config: StoreConfig) -> None:
    before = _behest_secrets()
    store = open_store(remote_config)
    session(store, title="uses the small instance too")
    mine = _behest_secrets() - before
    assert any(n.startswith("behest_pg_") for n in mine)
    assert any(n.startswith("behest_s3_") for n in mine)
    store.close()
    assert not (_behest_secrets() & mine)


def test_two_stores_sharing_a_secret(remote_config: StoreConfig) -> None:
    before = _behest_secrets()
    first = open_store(remote_config)
    second = open_store(remote_config)
    s = session(first, title="first")
    first.sessions.append_messages([message(s.id, f"m{i}") for i in range(1500)])  # Parquet files on S3
    mine = _behest_secrets() - before
    first.close()
    assert _behest_secrets() & mine == mine
    # the other store still logs in and reads its files
    assert isinstance(second, LakeStore)
    second.compact()
    assert len(second.sessions.list_messages(s.id)) == 1500
    session(second, title="second")
    second.close()
    assert not (_behest_secrets() & mine)


def test_sql_errors_keep_their_class_but_not_the_password(remote_config: StoreConfig) -> None:
    assert remote_config.password is not None
    password = remote_config.password.get_secret_value()
    with open_store(remote_config) as store:
        with pytest.raises(duckdb.CatalogException) as err:
            store.sql(f'SELECT * FROM "{password}"')
        assert password not in str(err.value)
        assert "***" in str(err.value)


def test_a_failed_start_leaves_no_server_and_no_folder(services_installed: None) -> None:
    server = PostgresServer()
    server.user = "bad role"  # CREATE ROLE fails after initdb and pg_ctl start worked
    with pytest.raises(ServiceUnavailable, match="psql failed"):
        server.start()
    assert server.port > 0  # it got as far as starting the server
    assert not server.root.exists()
    running = subprocess.run(["pgrep", "-f", "--", str(server.root)], capture_output=True, text=True, check=False)
    assert running.returncode == 1, running.stdout  # 1: no process matched
