"""The built wheel installs beside a user's own versions of its dependencies and works outside the checkout.

One test, as a user would do it: build the wheel from a copy of the sources, make a new virtual environment that
already holds polars and pyarrow releases other than those ``constraints.txt`` pins (inside the ranges of
``pyproject.toml``), install the wheel there, then run the console script from a folder outside the checkout on a
small store. The packages come from PyPI through pip (its cache makes a second run quick).
"""

from __future__ import annotations

import email.parser
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

#: Releases the user already has: compatible with behest_lab's ranges, different from the pins in constraints.txt.
PREINSTALLED = {"polars": "1.44.2", "pyarrow": "24.0.0"}
#: Pins that must not apply in the user's environment (the pre-installed packages and polars' runtime wheel).
UNPINNED = {"polars", "polars-runtime-32", "pyarrow"}
#: The extension wheels of a shared store: only the ``shared`` extra installs them.
SHARED_WHEELS = ("duckdb_extension_postgres_scanner", "duckdb_extension_httpfs")


def _run(argv: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    """Run a command; its stdout, or a failure showing both output streams."""
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{argv} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def _version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def _constraints_without(names: set[str], target: Path) -> Path:
    """``constraints.txt`` without the pins of ``names``."""
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line.split("==", 1)[0].strip().lower().replace("_", "-") not in names]
    assert len(kept) == len(lines) - len(names)  # every name was pinned there
    target.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return target


def test_wheel_installs_beside_the_users_versions_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BEHEST_LAB_STORE", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    work = tmp_path / "work"  # the user's folder: outside the checkout
    work.mkdir()

    # build the wheel from a copy of what the sdist would hold, so the checkout gets no build/ or egg-info
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "behest_lab", source / "behest_lab", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, source], cwd=work, env=env)
    (wheel,) = dist.glob("behest_lab-*.whl")
    assert wheel.name.startswith(f"behest_lab-{_version()}-py3-none-any")
    with zipfile.ZipFile(wheel) as archive:
        assert "behest_lab/py.typed" in archive.namelist()
        (metadata,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [v for k, v in email.parser.HeaderParser().parsestr(archive.read(metadata).decode()).items()
                    if k == "Requires-Dist"]  # fmt: skip
    core = [r for r in requires if "extra ==" not in r]
    assert any(r.startswith("polars") and ">=" in r for r in core)
    assert not [r for r in core if "postgres" in r or "httpfs" in r]
    assert any(r.startswith("duckdb-extension-postgres-scanner") and 'extra == "shared"' in r for r in requires)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=work, env=env)
    python = venv / "bin" / "python"
    pip: list[str | Path] = [python, "-m", "pip"]
    quiet = ["install", "--quiet", "--no-compile"]  # no byte-compiling of every dependency up front
    _run([*pip, *quiet, *(f"{k}=={v}" for k, v in PREINSTALLED.items())], cwd=work, env=env)
    constraints = _constraints_without(UNPINNED, tmp_path / "constraints.txt")
    _run([*pip, *quiet, "-c", constraints, wheel], cwd=work, env=env)

    # the user's polars and pyarrow are kept
    listed = json.loads(_run([*pip, "list", "--format", "json"], cwd=work, env=env))
    installed = {row["name"].lower().replace("_", "-"): row["version"] for row in listed}
    assert {k: installed[k] for k in PREINSTALLED} == PREINSTALLED
    # the core leaves out the shared-store extension wheels (the `shared` extra) and the Jupyter pieces
    assert not {w.replace("_", "-") for w in SHARED_WHEELS} & installed.keys()
    assert not {"jupyterlab", "nbclient", "nbconvert", "ipykernel"} & installed.keys()
    assert installed["duckdb"] == "1.5.5"

    behest_lab = venv / "bin" / "behest-lab"
    assert _run([behest_lab, "--version"], cwd=work, env=env) == f"behest-lab {_version()}\n"
    where = _run(
        [python, "-c", "import behest_lab, behest_lab.analytics, behest_lab.plots, behest_lab.widgets; "
         "print(behest_lab.__file__)"],
        cwd=work,
        env=env,
    )  # fmt: skip
    assert Path(where.strip()).is_relative_to(venv)  # the installed copy, not the checkout

    # a shared store without the extra names it
    shared = _run(
        [python, "-c", "from behest_lab import StoreConfig, open_store\n"
         "from behest_lab.errors import MissingExtensionError\n"
         "try:\n"
         "    open_store(StoreConfig(catalog='postgresql://lab@127.0.0.1:9/lab', data_path='s3://bucket/lab/'))\n"
         "except MissingExtensionError as exc:\n"
         "    print(exc)\n"],
        cwd=work,
        env=env,
    )  # fmt: skip
    assert "DuckDB extension 'postgres_scanner'" in shared
    assert "pip install 'behest_lab[shared]'" in shared

    # a small store made with the installed command line, read from the user's folder
    _run([behest_lab, "sample-data", "sample", "--sessions", "6", "--seed", "3"], cwd=work, env=env)
    _run([behest_lab, "import", "jsonl", "sample/sample.jsonl", "--store", "lab", "--no-progress"], cwd=work, env=env)
    sessions = _run([behest_lab, "sessions", "--store", "lab", "--format", "json"], cwd=work, env=env)
    assert len(json.loads(sessions)) == 6
    costs = _run([behest_lab, "costs", "--store", "lab", "--by", "model"], cwd=work, env=env)
    assert costs.splitlines()[-1].startswith("total ")

    # the report of that store, from the plain install (no notebook extra, no kernel)
    _run([behest_lab, "report", "--store", "lab", "--out", "R.html"], cwd=work, env=env)
    page = (work / "R.html").read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    assert str(work) not in page  # no absolute path of the machine
