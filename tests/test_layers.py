"""The import rules of ``make lint`` fail the moment a planted import breaks them.

Each test copies the package, the project file and the private-module contract to a temporary folder, plants one
import, and runs ``lint-imports`` there (the tool puts its working folder first on the import path, so it reads the
copy, never the installed package).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout's package, project file and contract module (no caches)."""
    where = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "behest_lab", where / "behest_lab", ignore=shutil.ignore_patterns("__pycache__"))
    (where / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "import_contracts.py", where / "scripts")
    shutil.copy(ROOT / "pyproject.toml", where)
    return where


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=where, capture_output=True, text=True, timeout=120, check=False
    )


def _planted(clean: Path, tmp_path: Path, module: str, line: str) -> Path:
    """A copy of ``clean`` in which ``module`` (a path under it) ends with the import ``line``."""
    where = tmp_path / "tree"
    shutil.copytree(clean, where)
    target = where / module
    target.write_text(target.read_text() + f"\n{line}\n")
    return where


def test_the_checkout_keeps_every_contract(clean_copy: Path) -> None:
    result = _lint(clean_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_a_private_module_imported_from_another_package_fails(clean_copy: Path, tmp_path: Path) -> None:
    where = _planted(clean_copy, tmp_path, "behest_lab/plots/cost.py", "from behest_lab.stores.lake import _sql")
    result = _lint(where)
    assert result.returncode != 0
    assert "behest_lab.plots.cost -> behest_lab.stores.lake._sql" in result.stdout


def test_an_upward_import_fails(clean_copy: Path, tmp_path: Path) -> None:
    """The stores sit below analytics: a store module importing analytics breaks the layers."""
    where = _planted(clean_copy, tmp_path, "behest_lab/stores/tables.py", "import behest_lab.analytics")
    result = _lint(where)
    assert result.returncode != 0
    assert "behest_lab.stores.tables -> behest_lab.analytics" in result.stdout
    assert "behest_lab's layers: records <- stores <- analytics <- views <- cli BROKEN" in result.stdout


def test_a_new_top_level_package_must_be_given_its_layer(clean_copy: Path, tmp_path: Path) -> None:
    where = tmp_path / "tree"
    shutil.copytree(clean_copy, where)
    (where / "behest_lab" / "newthing.py").write_text('"""A module nobody placed in the layers."""\n')
    result = _lint(where)
    assert result.returncode != 0
    assert "behest_lab.newthing" in result.stdout
