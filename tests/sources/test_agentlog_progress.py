"""The progress bar of an agent-log import ends at its total: ``count()`` and the steps ``units`` makes agree.

Each reader's committed fixture is imported with the bar replaced by a recorder of its total and steps (the
bar itself is tqdm's; what is checked here is what the reader tells it).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from behest_lab import open_store
from behest_lab.sources import agentlogs

DATA = Path(__file__).resolve().parents[2] / "data" / "agent_logs"


class _Recorder:
    def __init__(self, total: int | None, unit: str) -> None:
        self.total, self.unit, self.steps = total, unit, 0

    def update(self, n: int) -> None:
        self.steps += n

    def close(self) -> None:
        return None


def _llm_db(tmp_path: Path) -> Path:
    path = tmp_path / "logs.db"
    with sqlite3.connect(path) as con:
        for part in ("schema_0.27.sql", "migrate_0.32.sql", "logs_0.32.sql"):
            con.executescript((DATA / "llm" / part).read_text())
    con.close()
    return path


@pytest.mark.parametrize(
    ("fmt", "where", "unit"),
    [
        ("claude-code", "claude/projects", "file"),
        ("codex", "codex", "file"),
        ("atif", "atif", "file"),
        ("openai-agents", "openai_agents", "session"),
        ("llm", None, "session"),
        ("otel", "otel", "session"),
    ],
)
def test_the_bar_ends_at_its_total(
    fmt: str, where: str | None, unit: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bars: list[_Recorder] = []

    def record(progress: Any, kind: str, total: int | None, unit: str) -> _Recorder:
        bars.append(_Recorder(total, unit))
        return bars[-1]

    monkeypatch.setattr(agentlogs, "_bar", record)
    path = _llm_db(tmp_path) if where is None else DATA / where
    report = agentlogs.import_logs(fmt, open_store(None), path, progress=True)
    [bar] = bars
    assert report.imported > 0
    assert bar.unit == unit
    assert bar.steps > 0
    if fmt == "otel":
        assert bar.total is None  # sessions are known only once every file is read
    else:
        assert bar.steps == bar.total
