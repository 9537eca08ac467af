"""The shared store's settings and its multi-machine gaps, against a real PostgreSQL and an S3 emulator.

Parsing and redaction tests need no services. The race tests run separate OS processes (each its own DuckDB
instance, as on separate machines) that share only the PostgreSQL catalog and the S3 bucket.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from behest_lab import EmbeddingRecord, S3Options, StoreConfig, open_store
from behest_lab.errors import CommitConflictError, ConnectionFailedError
from behest_lab.stores import tables
from behest_lab.stores.lake import LakeStore
from behest_lab.stores.lake.config import remote_location
from behest_lab.stores.lake.engine import Engine, shared_instance, small_instance
from tests.services import PostgresServer, S3Server
from tests.stores._build import message, session

ROOT = Path(__file__).resolve().parents[2]

# --- parsing (no services) -----------------------------------------------------------------------------------


def test_password_in_the_url_moves_to_a_secret_field() -> None:
    cfg = StoreConfig(catalog="postgresql://lake:pa%40ss%20w@db.example:5433/cat?sslmode=require")
    assert cfg.catalog == "postgresql://lake@db.example:5433/cat?sslmode=require"
    assert cfg.password is not None
    assert cfg.password.get_secret_value() == "pa@ss w"
    for text in (repr(cfg), str(cfg), cfg.model_dump_json()):
        assert "pa@ss" not in text
        assert "pa%40ss" not in text


def test_password_as_query_parameter_and_conflicting_passwords() -> None:
    cfg = StoreConfig(catalog="postgres://lake@h/cat?password=qq1&application_name=x")
    assert cfg.catalog == "postgres://lake@h/cat?application_name=x"
    assert cfg.password == SecretStr("qq1")
    with pytest.raises(ValidationError) as err:
        StoreConfig(catalog="postgresql://lake:one111@h/cat", password="two222")
    assert "password" in str(err.value)
    assert "one111" not in str(err.value)
    assert "two222" not in str(err.value)


@pytest.mark.parametrize(
    ("catalog", "words"),
    [
        ("postgresql://lake@h:99999/cat", "port"),
        ("postgresql://lake@h:5432/", "names no database"),
        ("postgresql://lake@h/cat?bogus=1", "bogus"),
        ("mysql://lake@h/cat", "unsupported scheme"),
        ("  ", "empty"),
    ],
)
def test_bad_catalog_urls_are_refused_by_field(catalog: str, words: str) -> None:
    with pytest.raises(ValidationError) as err:
        StoreConfig(catalog=catalog)
    assert "catalog" in str(err.value)
    assert words in str(err.value)


def test_data_path_is_normalised_and_checked(tmp_path: Path) -> None:
    assert StoreConfig(catalog="postgresql://h/c", data_path="s3://b/p").data_path == "s3://b/p/"
    assert StoreConfig(catalog="postgresql://h/c", data_path=str(tmp_path)).data_path == f"{tmp_path}/"
    with pytest.raises(ValidationError, match="data_path: unsupported scheme 'ftp'"):
        StoreConfig(catalog="postgresql://h/c", data_path="ftp://x/y/")


def test_from_env_reads_libpq_and_aws_variables() -> None:
    env = {
        "BEHEST_LAB_CATALOG": "postgresql://lake@10.0.0.5:6432/lakecat",
        "BEHEST_LAB_DATA_PATH": "s3://bucket/prefix",
        "PGPASSWORD": "pg-pass-1",
        "AWS_ACCESS_KEY_ID": "AKIA1",
        "AWS_SECRET_ACCESS_KEY": "aws-secret-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://minio.local:9000",
    }
    cfg = StoreConfig.from_env(env)
    assert cfg.catalog == env["BEHEST_LAB_CATALOG"]
    assert cfg.data_path == "s3://bucket/prefix/"
    assert cfg.password == SecretStr("pg-pass-1")
    assert cfg.s3 == S3Options(
        endpoint="minio.local:9000", key_id="AKIA1", secret="aws-secret-1", region="eu-west-1", use_ssl=False
    )
    assert "pg-pass-1" not in repr(cfg)
    assert "aws-secret-1" not in repr(cfg)
    assert StoreConfig.from_env(env, data_path="s3://other/").data_path == "s3://other/"


def test_from_env_falls_back_to_pgdatabase_and_names_the_missing_variable() -> None:
    assert StoreConfig.from_env({"PGDATABASE": "my db"}).catalog == "postgresql:///my%20db"
    with pytest.raises(ValueError, match="BEHEST_LAB_CATALOG is not set"):
        StoreConfig.from_env({})


def test_location_keeps_credentials_out_of_the_attach_string() -> None:
    cfg = StoreConfig(
        catalog="postgresql://lake:pg-secret-9@127.0.0.1:5432/cat",
        data_path="s3://bucket/p/",
        s3=S3Options(endpoint="127.0.0.1:9000", key_id="k", secret="s3-secret-9", use_ssl=False),
    )
    loc = remote_location(cfg, environ={})
    assert loc.metadata == "postgres:dbname=cat host=127.0.0.1 port=5432 user=lake"
    assert "pg-secret-9" not in " ".join(loc.attach_options)
    assert "pg-secret-9" not in repr(loc)
    assert "s3-secret-9" not in repr(loc)
    s3_statement = loc.s3_secret("s3://bucket/p/") or ""
    assert "s3-secret-9" in s3_statement
    for option in ("ENDPOINT '127.0.0.1:9000'", "URL_STYLE 'path'", "USE_SSL false", "SCOPE 's3://bucket/p/'"):
        assert option in s3_statement
    assert loc.description == "postgresql://lake@127.0.0.1:5432/cat + s3://bucket/p/"
    assert loc.scrub("a pg-secret-9 b s3-secret-9 c") == "a *** b *** c"
    # different credentials give different secret names, so stores can share one DuckDB instance
    other = remote_location(cfg.model_copy(update={"password": SecretStr("pg-other")}), environ={})
    assert other.attach_options != loc.attach_options


def test_open_store_rejects_misplaced_remote_options(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="data_path: only for a postgresql:// catalog"):
        open_store(tmp_path / "s", data_path="s3://b/p/")
    with pytest.raises(TypeError, match="inside the StoreConfig"):
        open_store(StoreConfig(catalog="postgresql://h/c"), password="x")
    with pytest.raises(ValueError, match="a local store folder takes no data_path"):
        open_store(StoreConfig(catalog=str(tmp_path / "s"), data_path=str(tmp_path / "d")))


def test_a_local_config_opens_the_folder_store(tmp_path: Path) -> None:
    with open_store(StoreConfig(catalog=str(tmp_path / "s"))) as store:
        assert isinstance(store, LakeStore)
        assert store.path == tmp_path / "s"
        assert store.location == str(tmp_path / "s")
        assert (tmp_path / "s" / "catalog.sqlite").is_file()


# --- against the services -------------------------------------------------------------------------------------


def _chain(exc: BaseException) -> str:
    """The text of an exception and every exception it was raised from or during."""
    texts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


def test_a_wrong_password_error_contains_no_secret(remote_config: StoreConfig) -> None:
    assert remote_config.s3 is not None
    s3 = remote_config.s3.model_copy(update={"secret": SecretStr("s3-secret-" + os.urandom(4).hex())})
    wrong = "pw-" + os.urandom(6).hex()
    cfg = remote_config.model_copy(update={"password": SecretStr(wrong), "s3": s3})
    with pytest.raises(ConnectionFailedError) as err:
        open_store(cfg)
    text = _chain(err.value)
    assert "password authentication failed" in text
    assert wrong not in text
    assert s3.secret is not None
    assert s3.secret.get_secret_value() not in text
    # the same text through the URL form of open_store
    url = cfg.catalog.replace("://lake@", f"://lake:{wrong}@")
    with pytest.raises(ConnectionFailedError) as err2:
        open_store(url, data_path=cfg.data_path, s3=s3)
    assert wrong not in _chain(err2.value)
    # the scrubbing above hides the password whatever the text: the attach itself must never carry it either
    location = remote_location(cfg)
    for shown in (location.metadata, location.description, *location.attach_options, repr(location)):
        assert wrong not in shown
    assert not any(wrong in statement for statement in location.setup if "TYPE postgres" not in statement)


def test_a_wrong_pgpassword_shows_up_nowhere_even_unscrubbed(
    remote_config: StoreConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "pgpw-" + os.urandom(6).hex()
    monkeypatch.setenv("PGPASSWORD", wrong)
    cfg = remote_config.model_copy(update={"password": None})
    location = remote_location(cfg)
    for shown in (location.metadata, location.description, *location.attach_options, *location.setup):
        assert wrong not in shown
    # with nothing to scrub, the error text itself must not contain the password libpq logged in with
    bare = dataclasses.replace(location, secrets=())
    with pytest.raises(ConnectionFailedError) as err:
        Engine(bare)
    text = _chain(err.value)
    assert "password authentication failed" in text
    assert wrong not in text


def test_store_reprs_show_no_secrets(remote_config: StoreConfig) -> None:
    assert remote_config.password is not None
    password = remote_config.password.get_secret_value()
    with open_store(remote_config) as store:
        assert isinstance(store, LakeStore)
        assert store.location == remote_config.redacted()
        for text in (repr(store), store.location, repr(remote_config), str(remote_config)):
            assert password not in text
        with pytest.raises(AttributeError, match="no local folder"):
            _ = store.path


@pytest.mark.slow
def test_two_stores_with_different_credentials_in_one_process(
    pg_server: PostgresServer, s3_server: S3Server, remote_config: StoreConfig
) -> None:
    role, secret = f"other_{os.getpid()}", "other-" + os.urandom(6).hex()
    pg_server.admin(f"DROP ROLE IF EXISTS {role}", f"CREATE ROLE {role} LOGIN PASSWORD '{secret}'")
    database = f"other_{os.getpid()}_{time.time_ns() % 10**9}"
    pg_server.admin(f'CREATE DATABASE "{database}" OWNER {role}')
    assert remote_config.s3 is not None
    other = StoreConfig(
        catalog=f"postgresql://{role}@{pg_server.host}:{pg_server.port}/{database}",
        password=secret,
        data_path=s3_server.new_bucket("other"),
        s3=remote_config.s3.model_copy(update={"key_id": "other-key", "secret": SecretStr("other-secret")}),
    )
    with open_store(remote_config) as first, open_store(other) as second:
        a, b = session(first), session(second)
        first.sessions.append_message(message(a.id, "first"))
        second.sessions.append_message(message(b.id, "second"))
        assert [m.content[0].text for m in first.sessions.list_messages(a.id)] == ["first"]  # type: ignore[union-attr]
        assert second.sessions.get_session(a.id) is None
        scopes = {
            tuple(r[0])
            for r in shared_instance().execute("SELECT scope FROM duckdb_secrets() WHERE type = 's3'").fetchall()
        }
        assert (remote_config.data_path,) in scopes
        assert (other.data_path,) in scopes
        # the right login of one store is no help to a store given the wrong password for the same role
        with pytest.raises(ConnectionFailedError, match="password authentication failed"):
            open_store(remote_config.model_copy(update={"password": SecretStr("not-it")}))


def test_compact_deletes_replaced_files_from_the_bucket(remote_config: StoreConfig, s3_server: S3Server) -> None:
    assert remote_config.data_path is not None
    with open_store(remote_config, inlining_row_limit=0) as store:
        s = session(store)
        for i in range(4):
            store.sessions.append_message(message(s.id, f"m{i}"))
        before = s3_server.list_keys(remote_config.data_path)
        report = store.compact(keep=timedelta(0))
        after = s3_server.list_keys(remote_config.data_path)
        assert report.files_deleted > 0
        assert len(set(before) - set(after)) == report.files_deleted  # really gone from the bucket
        assert len(after) == report.files_after  # and nothing but the live files is left
        assert len(store.sessions.list_messages(s.id)) == 4


def test_a_second_machine_opens_without_data_path(remote_config: StoreConfig) -> None:
    assert remote_config.data_path is not None
    with open_store(remote_config, inlining_row_limit=0) as store:
        s = session(store)
        store.sessions.append_message(message(s.id, "in a parquet file"))
    # as on a fresh machine: no secret for that path in this process any more
    for instance in (shared_instance(), small_instance()):
        query = "SELECT name FROM duckdb_secrets() WHERE type = 's3' AND list_contains(scope, ?)"
        for (name,) in instance.execute(query, [remote_config.data_path]).fetchall():
            instance.execute(f"DROP SECRET {name}")
    later = remote_config.model_copy(update={"data_path": None})
    with open_store(later) as store:
        # the message lives in S3 only (no inlining): reading it needs the secret scoped to the catalog's path
        assert [m.content[0].text for m in store.sessions.list_messages(s.id)] == ["in a parquet file"]  # type: ignore[union-attr]
        scopes = [
            r[0] for r in shared_instance().execute("SELECT scope FROM duckdb_secrets() WHERE type = 's3'").fetchall()
        ]
        assert [remote_config.data_path] in scopes
    elsewhere = remote_config.model_copy(update={"data_path": remote_config.data_path + "elsewhere/"})
    with pytest.raises(ConnectionFailedError, match="does not match existing data path"):
        open_store(elsewhere)


def test_credentials_from_libpq_and_aws_environment(
    remote_config: StoreConfig, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert remote_config.password is not None
    monkeypatch.setenv("PGPASSWORD", remote_config.password.get_secret_value())
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.url)
    monkeypatch.setenv("BEHEST_LAB_CATALOG", remote_config.catalog)
    monkeypatch.setenv("BEHEST_LAB_DATA_PATH", remote_config.data_path or "")
    bare = StoreConfig(catalog=remote_config.catalog, data_path=remote_config.data_path)
    assert bare.password is None
    assert bare.s3 is None
    for cfg in (bare, StoreConfig.from_env()):
        with open_store(cfg, inlining_row_limit=0) as store:
            s = session(store)
            store.sessions.append_message(message(s.id, "via env"))
            assert len(store.sessions.list_messages(s.id)) == 1


def test_time_travel_snapshots_search_and_sql_on_the_shared_layout(remote_config: StoreConfig) -> None:
    with open_store(remote_config) as store:
        s = session(store)
        store.sessions.append_message(message(s.id, "one"))
        first = store.snapshot_id
        between = datetime.now(UTC)
        time.sleep(0.05)
        vectors = [[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]
        records = store.embeddings.upsert_many([EmbeddingRecord(model="e", session_id=s.id, vector=v) for v in vectors])
        store.sessions.append_message(message(s.id, "two"))
        assert [r.record.id for r in store.embeddings.search([0.0, 1.0], 2)] == [records[2].id, records[1].id]
        assert store.sql("SELECT count(*) FROM messages WHERE session_id = ?", [str(s.id)]).fetchone() == (2,)
        assert [x.id for x in store.snapshots()][-1] == store.snapshot_id
        assert first in [x.id for x in store.snapshots()]
        for past in (open_store(remote_config, snapshot=first), open_store(remote_config, as_of=between)):
            with past:
                assert past.read_only
                assert len(past.sessions.list_messages(s.id)) == 1
                assert past.embeddings.search([0.0, 1.0], 2) == []


# --- several processes ----------------------------------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    sys.path.insert(0, {root!r})
    args = json.loads(sys.argv[1])
    from behest_lab import EmbeddingRecord, S3Options, Session, StoreConfig, open_store
    from behest_lab.stores.lake import _sql
    from behest_lab.stores.lake.engine import REMOTE_EXTENSIONS, RetryPolicy, load_extensions
    from behest_lab.stores.lake.engine import Engine, shared_instance, small_instance
    from tests.stores._build import message

    def wait_for(name):
        path = os.path.join(args["signals"], name)
        deadline = time.time() + 60
        while not os.path.exists(path):
            if time.time() > deadline:
                raise TimeoutError(name)
            time.sleep(0.005)

    def touch(name):
        open(os.path.join(args["signals"], name), "w").close()

    cfg = StoreConfig(catalog=args["catalog"], data_path=args["data_path"], s3=S3Options(**args["s3"]))
    # warm up first: loading the extensions takes seconds when three processes share two cores
    load_extensions(shared_instance(), names=list(REMOTE_EXTENSIONS))
    out = {{}}
    role = args["role"]
    if role == "open":
        small_instance()
        touch(f"ready-{{os.getpid()}}")  # then start together: the processes collide on the catalog itself
        deadline = time.time() + 120
        while len([n for n in os.listdir(args["signals"]) if n.startswith("ready-")]) < args["processes"]:
            if time.time() > deadline:
                raise TimeoutError("the other processes did not get ready")
            time.sleep(0.001)
        began = time.perf_counter()
        store = open_store(cfg)
        out["open_s"] = round(time.perf_counter() - began, 3)
        out["attach_attempts"] = store._engine.attach_attempts
        sid = store.sessions.create_session(Session(title=str(os.getpid()), model="m")).id
        for i in range(args["appends"]):
            store.sessions.append_message(message(sid, str(i)))
        out["conflicts_retried"] = store._engine.conflicts_retried
        out["work_s"] = round(time.perf_counter() - began, 3)
    elif role == "persistent":
        import duckdb

        user = duckdb.connect()
        load_extensions(user, names=["postgres_scanner", "httpfs"])
        user.execute(f"CREATE PERSISTENT SECRET users_pg (TYPE postgres, PASSWORD '{{args['password']}}')")
        user.execute(
            "CREATE PERSISTENT SECRET users_s3 (TYPE s3, KEY_ID 'testing', SECRET 'testing', REGION 'us-east-1', "
            f"ENDPOINT '{{args['s3']['endpoint']}}', URL_STYLE 'path', USE_SSL false)"
        )
        user.close()
        cfg = StoreConfig(catalog=args["bare_catalog"], data_path=args["data_path"], catalog_secret="users_pg")
        store = open_store(cfg, inlining_row_limit=0)
        sid = store.sessions.create_session(Session(title="t", model="m")).id
        store.sessions.append_message(message(sid, "with the user's secrets"))
        out["texts"] = [m.content[0].text for m in store.sessions.list_messages(sid)]
    elif role == "insert":
        store = open_store(cfg)
        for k in range(1, args["rounds"] + 1):
            wait_for(f"deleting-{{k}}")
            store.embeddings.upsert_many(
                [EmbeddingRecord(model="e", session_id=args["session"], vector=[1.0, float(k)])]
            )
            touch(f"inserted-{{k}}")
    elif role == "delete":
        store = open_store(cfg, retry=RetryPolicy(attempts=args["attempts"]))
        calls = []

        def body(con):
            calls.append(1)
            n = _sql.delete_ids(con, "embeddings", args["ids"])
            if len(calls) <= args["rounds"]:
                touch(f"deleting-{{len(calls)}}")  # our delete is in, not committed
                wait_for(f"inserted-{{len(calls)}}")  # the other host has committed an insert meanwhile
            return n

        try:
            out["deleted"] = store._engine.write(body, "test: delete against a concurrent insert")
        except Exception as exc:
            out["error"] = type(exc).__name__
            out["message"] = str(exc)
        out["calls"] = len(calls)
    store.close()
    print(json.dumps(out))
    """
)


def _worker_args(cfg: StoreConfig, role: str, **extra: Any) -> str:
    assert cfg.password is not None
    assert cfg.s3 is not None
    s3 = cfg.s3.model_dump()
    s3["secret"] = cfg.s3.secret.get_secret_value() if cfg.s3.secret is not None else None
    catalog = cfg.catalog.replace("://lake@", f"://lake:{cfg.password.get_secret_value()}@")
    return json.dumps({"catalog": catalog, "data_path": cfg.data_path, "s3": s3, "role": role, **extra})


def _run_workers(argv: list[str], **env_changes: str) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_changes}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER.format(root=str(ROOT)), a],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for a in argv
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.fixture
def signals(tmp_path: Path) -> Path:
    folder = tmp_path / "signals"
    folder.mkdir()
    return folder


@pytest.mark.slow
def test_three_processes_create_the_store_on_an_empty_database_at_once(remote_factory: Any, signals: Path) -> None:
    cfg: StoreConfig = remote_factory.new(initialised=False)
    together = {"signals": str(signals), "processes": 3, "appends": 10}
    results = _run_workers([_worker_args(cfg, "open", **together) for _ in range(3)])
    print("workers (attach attempts, open s, open + 10 appends s):", [tuple(r.values()) for r in results])
    with open_store(cfg) as store:
        assert isinstance(store, LakeStore)
        assert store.sql("SELECT count(*) FROM sessions").fetchone() == (3,)
        assert store.sql("SELECT count(*) FROM messages").fetchone() == (30,)
        meta = store._engine.rows("SELECT key, value FROM behest_meta")
        assert meta == [{"key": "schema_version", "value": str(tables.SCHEMA_VERSION)}]
        created = [s for s in store.snapshots() if s.message and s.message.startswith("new store at schema version")]
        assert len(created) == 1


@pytest.mark.slow
def test_three_processes_migrate_an_initialised_catalog_at_once(remote_factory: Any, signals: Path) -> None:
    cfg: StoreConfig = remote_factory.new(initialised=False)
    # DuckLake's catalog tables exist, behest_lab's tables do not: only the migrations race
    from behest_lab.stores.lake.engine import Engine

    Engine(remote_location(cfg)).close()
    together = {"signals": str(signals), "processes": 3, "appends": 0}
    results = _run_workers([_worker_args(cfg, "open", **together) for _ in range(3)])
    assert all(r["attach_attempts"] == 1 for r in results)
    with open_store(cfg) as store:
        assert isinstance(store, LakeStore)
        assert store._engine.rows("SELECT key, value FROM behest_meta") == [
            {"key": "schema_version", "value": str(tables.SCHEMA_VERSION)}
        ]
        assert store.sql("SELECT count(*) FROM sessions").fetchone() == (3,)
        created = [s for s in store.snapshots() if s.message and s.message.startswith("new store at schema version")]
        assert len(created) == 1


def _with_embeddings(cfg: StoreConfig, n: int) -> tuple[str, list[str]]:
    with open_store(cfg) as store:
        s = session(store)
        records = store.embeddings.upsert_many(
            [EmbeddingRecord(model="e", session_id=s.id, vector=[float(i), 1.0]) for i in range(n)]
        )
        return str(s.id), [str(r.id) for r in records]


@pytest.mark.slow
def test_a_delete_that_loses_to_another_hosts_insert_is_rerun(remote_config: StoreConfig, signals: Path) -> None:
    sid, ids = _with_embeddings(remote_config, 5)
    common = {"signals": str(signals), "session": sid, "rounds": 1}
    results = _run_workers(
        [
            _worker_args(remote_config, "delete", ids=ids, attempts=12, **common),
            _worker_args(remote_config, "insert", **common),
        ]
    )
    deleter = results[0]
    assert "error" not in deleter, deleter
    assert deleter["calls"] == 2  # the first commit conflicted, the whole transaction ran again
    assert deleter["deleted"] == 5
    with open_store(remote_config) as store:
        rows = store.sql("SELECT id::VARCHAR AS id, vector FROM embeddings").fetchall()
        assert [r[1] for r in rows] == [[1.0, 1.0]]  # only the other host's insert is left
        assert not {r[0] for r in rows} & set(ids)


@pytest.mark.slow
def test_a_delete_that_keeps_losing_ends_in_commit_conflict_error(remote_config: StoreConfig, signals: Path) -> None:
    sid, ids = _with_embeddings(remote_config, 3)
    common = {"signals": str(signals), "session": sid, "rounds": 2}
    results = _run_workers(
        [
            _worker_args(remote_config, "delete", ids=ids, attempts=2, **common),
            _worker_args(remote_config, "insert", **common),
        ]
    )
    deleter = results[0]
    assert deleter["error"] == CommitConflictError.__name__
    assert deleter["calls"] == 2
    assert "commit failed after 2 attempts" in deleter["message"]
    assert remote_config.password is not None
    assert remote_config.password.get_secret_value() not in deleter["message"]
    with open_store(remote_config) as store:
        assert store.sql("SELECT count(*) FROM embeddings").fetchone() == (3 + 2,)  # nothing of the delete applied


@pytest.mark.slow
def test_secrets_the_user_created_in_duckdb(remote_config: StoreConfig, tmp_path: Path) -> None:
    assert remote_config.password is not None
    # a fresh home folder: DuckDB keeps persistent secrets in ~/.duckdb/stored_secrets
    args = json.loads(_worker_args(remote_config, "persistent"))
    args |= {"password": remote_config.password.get_secret_value(), "bare_catalog": remote_config.catalog}
    clean = {k: "" for k in os.environ if k.startswith(("AWS_", "PG"))}
    (result,) = _run_workers([json.dumps(args)], HOME=str(tmp_path), **clean)
    assert result["texts"] == ["with the user's secrets"]
