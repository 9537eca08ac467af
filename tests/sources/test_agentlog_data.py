"""The agent logs under ``data/agent_logs`` (read by notebook 08) are the tests' fixtures, byte for byte."""

from __future__ import annotations

from pathlib import Path

from tests.sources._claude_fixture import write_projects
from tests.sources._codex_fixture import write_rollout

DATA = Path(__file__).resolve().parents[2] / "data" / "agent_logs"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.jsonl"))}


def test_the_committed_logs_are_the_fixtures(tmp_path: Path) -> None:
    """Regenerating the fixtures gives the committed files (so the notebook shows what the tests check)."""
    write_projects(tmp_path / "claude")
    write_rollout(tmp_path / "codex")
    assert _files(tmp_path) == _files(DATA)
    assert len(_files(DATA)) == 3
