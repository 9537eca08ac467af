"""``behest-lab sessions|costs|tools|sql`` on a store folder: output equals the library's frames."""

from __future__ import annotations

import importlib.metadata
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
from behest_lab.cli import STORE_ENV, main
from behest_lab.cli.analytics import emit, totals_row
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
    assert [r["model"] for r in rows] == by_model["model"].to_list()
    assert all(type(r["cost"]) is float for r in rows)  # numbers, not text
    assert [r["cost"] for r in rows] == pytest.approx([float(c) for c in by_model["cost"]], rel=1e-12)
    assert [r["requests"] for r in rows] == by_model["requests"].to_list()


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
    assert [r["model"] for r in rows] == expected["model"].to_list()
    assert [r["requests"] for r in rows] == expected["requests"].to_list()
    assert [r["cost"] for r in rows] == pytest.approx([float(c) for c in expected["cost"]], rel=1e-12)


def test_tools_by_tool_and_model(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "tools", "--store", str(folder), "--by", "tool_name,model", "--format", "json")
    assert code == 0
    with open_store(folder) as store:
        expected = tool_stats(store, by=("tool_name", "model"))
    rows = json.loads(out)
    assert [(r["tool_name"], r["model"], r["calls"]) for r in rows] == list(
        zip(expected["tool_name"], expected["model"], expected["calls"], strict=True)
    )
    assert [r["top_errors"] for r in rows] == expected["top_errors"].to_list()  # JSON arrays, not JSON text
    assert all(isinstance(r["failure_rate"], float | int) for r in rows)


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
    commands = [(["sessions"], []), (["costs"], []), (["tools"], []), (["sql"], ["SELECT 1"])]
    commands.append((["export", "parquet"], [str(tmp_path / "out")]))
    for command, rest in commands:
        code, _, err = _run(capsys, *command, "--store", str(missing), *rest)
        assert code == 1
        assert "does not exist" in err
        assert len(err.strip().splitlines()) == 1
    assert not missing.exists()


def _table(out: str) -> tuple[list[str], list[list[str]], list[str] | None]:
    """Header cells, body rows and the totals line (None without one) of an aligned table."""
    lines = out.splitlines()
    rules = [i for i, line in enumerate(lines) if line and set(line) <= {"-", " "}]
    body_end = rules[1] if len(rules) > 1 else len(lines)
    body = [line.split("  ") for line in lines[2:body_end]]
    body = [[cell.strip() for cell in row if cell.strip()] for row in body]
    total = None
    if len(rules) > 1:
        total = [cell.strip() for cell in lines[rules[1] + 1].split("  ") if cell.strip()]
    return lines[0].split(), body, total


def test_costs_table_has_thousands_separators_and_a_totals_line(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "costs", "--store", str(folder), "--by", "model")
    assert (code, err) == (0, "")
    with open_store(folder) as store:
        expected = costs(store, by="model")
    headers, body, total = _table(out)
    assert headers == ["model", "requests", "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens",
                       "cost"]  # fmt: skip
    assert [row[0] for row in body] == expected["model"].to_list()
    assert [row[2] for row in body] == [f"{n:,}" for n in expected["prompt_tokens"]]
    assert any("," in row[2] for row in body)  # the sample has models with over 1,000 prompt tokens
    assert total == [
        "total",
        f"{expected['requests'].sum():,}",
        f"{expected['prompt_tokens'].sum():,}",
        f"{expected['cache_read_tokens'].sum():,}",
        f"{expected['cache_write_tokens'].sum():,}",
        f"{expected['output_tokens'].sum():,}",
        f"{sum(expected['cost'].to_list()):,.4f}",
    ]
    width = len(out.splitlines()[0])
    assert all(len(line) == width for line in out.splitlines()[2:])  # the totals line is aligned with the rows
    code, out, _ = _run(capsys, "costs", "--store", str(folder), "--by", "model", "--limit", "1")
    _, body, total = _table(out)
    assert len(body) == 1
    assert total is not None
    assert total[:2] == [f"total ({expected.height:,} rows)", f"{expected['requests'].sum():,}"]  # of every row


def test_tools_table_totals_calls_and_failures_not_percentiles(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "tools", "--store", str(folder))
    assert code == 0
    with open_store(folder) as store:
        expected = tool_stats(store)
    headers, _, total = _table(out)
    assert total is not None
    by_name = dict(zip(headers[: len(total)], total, strict=True))
    assert by_name["tool_name"] == "total"
    assert by_name["calls"] == f"{expected['calls'].sum():,}"
    assert by_name["failures"] == f"{expected['failures'].sum():,}"
    rate = expected["failures"].sum() / expected["calls"].sum()
    assert by_name["failure_rate"] == f"{rate:,.3f}".rstrip("0").rstrip(".")
    assert len(total) == headers.index("failure_rate") + 1  # nothing under the latency percentiles


def test_sessions_and_sql_tables_have_no_totals_line(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["sessions"], ["sql", "SELECT model, count(*) AS n FROM usage_records GROUP BY ALL"]):
        code, out, _ = _run(capsys, argv[0], "--store", str(folder), *argv[1:])
        assert code == 0
        assert _table(out)[2] is None


@pytest.mark.parametrize("dtype", [pl.Decimal(38, 24), pl.Float64])
def test_json_writes_costs_as_numbers_and_csv_keeps_decimals_exact(
    dtype: pl.DataType, capsys: pytest.CaptureFixture[str]
) -> None:
    exact = Decimal("0.123456789012345678901234")
    frame = pl.DataFrame(
        {"model": ["m", "n"], "requests": [1_234, 5], "cost": [exact, None]},
        schema={"model": pl.Utf8, "requests": pl.Int64, "cost": dtype},
    )
    emit(frame, "json")
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {"model": "m", "requests": 1234, "cost": pytest.approx(0.12345678901234568, rel=1e-15)},
        {"model": "n", "requests": 5, "cost": None},
    ]
    assert type(rows[0]["cost"]) is float
    emit(frame, "csv")
    cost = capsys.readouterr().out.splitlines()[1].split(",")[2]
    if isinstance(dtype, pl.Decimal):
        assert Decimal(cost) == exact
    else:
        assert float(cost) == float(exact)
    emit(frame, "table", totals=totals_row(frame, ("requests", "cost")))
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split() == ["m", "1,234", "0.1235"]
    assert lines[-1].split() == ["total", "1,239", "0.1235"]  # an unpriced (null) cost adds nothing


def test_json_writes_non_finite_floats_as_null(capsys: pytest.CaptureFixture[str]) -> None:
    emit(pl.DataFrame({"x": [1.5, float("nan"), float("inf")]}), "json")
    assert json.loads(capsys.readouterr().out) == [{"x": 1.5}, {"x": None}, {"x": None}]


def test_store_defaults_to_the_environment_variable(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STORE_ENV, str(folder))
    code, out, err = _run(capsys, "sessions", "--format", "csv")
    assert (code, err) == (0, "")
    with open_store(folder) as store:
        assert pl.read_csv(io.StringIO(out))["id"].to_list() == sessions(store)["id"].to_list()
    monkeypatch.delenv(STORE_ENV)
    with pytest.raises(SystemExit) as exit_info:
        main(["sessions"])
    assert exit_info.value.code == 2
    assert "--store" in capsys.readouterr().err


def test_version_is_the_installed_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"behest-lab {importlib.metadata.version('behest_lab')}\n"


@pytest.mark.parametrize("command", [["sessions"], ["costs"], ["tools"], ["sql", "SELECT 1"], ["export", "jsonl"]])
def test_an_empty_folder_is_a_one_line_error_and_stays_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    extra = [str(tmp_path / "out.jsonl")] if command[0] == "export" else []
    code, out, err = _run(capsys, *command, "--store", str(empty), *extra)
    assert (code, out) == (1, "")
    assert err == f"behest-lab: error: no behest_lab store in {empty} (no catalog.sqlite)\n"
    assert list(empty.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]  # no export file either
