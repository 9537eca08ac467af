"""``pytest -m memory`` / ``-m lake`` / ``-m shared`` select the tests of one backend, marked from their parameter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _collected(marker: str, *paths: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", marker, *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: every test deselected
    return [line for line in result.stdout.splitlines() if "::" in line]


@pytest.mark.parametrize(("marker", "param"), [("memory", "[memory"), ("lake", "[lake]"), ("shared", "[lake-pg-s3")])
def test_a_backend_marker_selects_that_backend_of_the_parametrized_suite(marker: str, param: str) -> None:
    ids = _collected(marker, "tests/stores/test_cascade.py")
    assert ids
    assert all(param in i for i in ids), ids


def test_backend_folders_and_unparametrized_tests() -> None:
    assert all(
        i.startswith("tests/lake/") for i in _collected("lake", "tests/lake/test_open.py", "tests/test_errors.py")
    )
    assert _collected("memory or lake or shared", "tests/test_errors.py") == []
