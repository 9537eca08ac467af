"""``behest-lab sessions|costs|tools|sql`` on a store folder: output equals the library's frames."""

from __future__ import annotations

import io
import json
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from behest_lab import open_store
from behest_lab.analytics import costs, sessions, tool_stats
from behest_lab.cli import main
from behest_lab.interchange import export_behest_sqlite, import_behest_sqlite
from behest_lab.sample import generate


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "s"
    with open_store(path) as store:
        generate(store, sessions=5, seed=4, embedding_dim=None)
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sessions_table_is_aligned(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "sessions", "--store", str(folder))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    with open_store(folder) as store:
        expected = sessions(store)
    assert lines[0].split()[:3] == ["id", "title", "model"]
    assert len(lines) == 2 + expected.height
    assert set(lines[1]) <= {"-", " "}
    assert [line.split()[0] for line in lines[2:]] == expected["id"].to_list()
    cost_end = lines[0].index("cost") + len("cost")
    assert all(len(line) == cost_end for line in lines[2:])  # right-aligned last column
    code, out, _ = _run(capsys, "sessions", "--store", str(folder), "--limit", "2")
    assert len(out.splitlines()) == 4


def test_costs_csv_and_json_equal_the_library(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with open_store(folder) as store:
        expected = costs(store, by=("week", "provider"))
    code, out, _ = _run(capsys, "costs", "--store", str(folder), "--by", "week,provider", "--format", "csv")
    assert code == 0
    got = pl.read_csv(io.StringIO(out), infer_schema=False)
    assert got["provider"].to_list() == expected["provider"].to_list()
    assert [float(v) for v in got["cost"].to_list()] == expected["cost"].to_list()  # Float64 USD, written exactly
    code, out, _ = _run(capsys, "costs", "--store", str(folder), "--by", "model", "--format", "json")
    rows = json.loads(out)
    with open_store(folder) as store:
        by_model = costs(store, by="model")
    assert [(r["model"], Decimal(r["cost"])) for r in rows] == list(
        zip(by_model["model"], by_model["cost"], strict=True)
    )


def test_costs_of_a_behest_import_come_from_the_message_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, folder = tmp_path / "behest.db", tmp_path / "imported"
    with open_store(None) as original:
        generate(original, sessions=2, seed=9, embedding_dim=None)
        expected = costs(original, by="model")
        export_behest_sqlite(original, db)
        # behest's runtime writes no usage records: drop them, as in a real behest database
        with closing(sqlite3.connect(db)) as con, con:
            con.execute("DELETE FROM usage_records")
    with open_store(folder) as store:
        import_behest_sqlite(store, db)
    code, out, err = _run(capsys, "costs", "--store", str(folder), "--by", "model", "--format", "json")
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert [(r["model"], r["requests"], Decimal(r["cost"])) for r in rows] == list(
        zip(expected["model"], expected["requests"], expected["cost"], strict=True)
    )


def test_tools_by_tool_and_model(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "tools", "--store", str(folder), "--by", "tool_name,model", "--format", "json")
    assert code == 0
    with open_store(folder) as store:
        expected = tool_stats(store, by=("tool_name", "model"))
    rows = json.loads(out)
    assert [(r["tool_name"], r["model"], r["calls"]) for r in rows] == list(
        zip(expected["tool_name"], expected["model"], expected["calls"], strict=True)
    )
    assert [json.loads(r["top_errors"]) for r in rows] == expected["top_errors"].to_list()


def test_sql_prints_the_query_result(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = "SELECT model, count(*) AS n FROM usage_records GROUP BY model ORDER BY n DESC, model"
    code, out, _ = _run(capsys, "sql", "--store", str(folder), query, "--format", "csv")
    assert code == 0
    with open_store(folder) as store:
        expected = store.sql(query).fetchall()
    got = pl.read_csv(io.StringIO(out))
    assert list(got.iter_rows()) == expected
    code, out, _ = _run(capsys, "sql", "--store", str(folder), query)
    assert out.splitlines()[0].split() == ["model", "n"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sql", "SELEC 1"], "SQL failed: Parser Error"),
        (["sql", "SELECT * FROM no_such_table"], "SQL failed: Catalog Error"),
        (["costs", "--by", "day,year"], "'year' is not one of"),
        (["sessions", "--since", "yesterday"], "not an ISO 8601"),
        (["tools", "--limit", "-1"], "--limit must be >= 0"),
    ],
)
def test_errors_are_one_line_and_exit_1(
    folder: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = _run(capsys, argv[0], "--store", str(folder), *argv[1:])
    assert (code, out) == (1, "")
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert err.startswith("behest-lab: error: ")


def test_missing_store_folder_is_an_error_and_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope"
    for command in (["sessions"], ["costs"], ["tools"], ["sql", "SELECT 1"]):
        code, _, err = _run(capsys, command[0], "--store", str(missing), *command[1:])
        assert code == 1
        assert "does not exist" in err
        assert len(err.strip().splitlines()) == 1
    assert not missing.exists()
