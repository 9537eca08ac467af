"""Agent-log import: 10,000 generated Claude Code sessions (~1 GB of JSON Lines) into a lake store.

The folder is written once by ``bench/claude_logs.py`` (Claude Code's line shapes, subagent files, streaming
copies, compactions) and kept under ``$BEHEST_BENCH_TMP`` (default ``/tmp``) for later runs. Each step runs in its
own Python process, so its peak resident memory (``ru_maxrss``) is its own:

* ``baseline``: a plain ``json.loads`` of every line of every file, streamed file by file (the floor any reader
  of the format pays);
* ``import``: ``behest_lab.sources.import_claude_code`` into a new lake store;
* ``reimport``: the same folder again, unchanged (the cursors kept in the store let it open no file);
* ``grown``: the same folder after one session in a hundred grew by a turn (only the new bytes are read).

Lines per second count the folder's lines over each step's wall time; ``--quick`` uses 500 sessions.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def _folder(sessions: int) -> tuple[Path, dict[str, int]]:
    """The generated folder for ``sessions`` sessions (written on first use) and its counts."""
    from bench.claude_logs import write_projects

    root = Path(os.environ.get("BEHEST_BENCH_TMP", "/tmp")) / f"behest_bench_agentlogs_{sessions}"
    manifest = root / "manifest.json"
    if manifest.exists():
        return root, dict(json.loads(manifest.read_text()))
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    started = time.perf_counter()
    counts = write_projects(root, sessions)
    counts["generate_s"] = round(time.perf_counter() - started, 1)
    manifest.write_text(json.dumps(counts))
    return root, counts


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _step(step: str, root: Path) -> dict[str, Any]:
    """Run one step in this process and return its figures (called in the child process)."""
    projects = root / "projects"
    if step == "baseline":
        idle = _peak_mb()
        started = time.perf_counter()
        lines = 0
        for path in projects.rglob("*.jsonl"):
            with path.open("rb") as f:
                for raw in f:
                    json.loads(raw)
                    lines += 1
        return {"seconds": time.perf_counter() - started, "lines": lines, "idle_mb": idle, "peak_mb": _peak_mb()}
    from behest_lab import open_store
    from behest_lab.sources.agentlogs import import_claude_code

    if step == "grow":
        from bench.claude_logs import grow

        files = sorted(projects.glob("*/*.jsonl"))[::100]
        sizes = [[str(p), p.stat().st_size] for p in files]
        added = sum(grow(p, i) for i, p in enumerate(files))
        return {"grown_files": len(files), "added_lines": added, "sizes": sizes}
    store_dir = root / "store"
    if step == "import":
        shutil.rmtree(store_dir, ignore_errors=True)
    store = open_store(store_dir)
    idle = _peak_mb()
    try:
        started = time.perf_counter()
        report = import_claude_code(store, projects, progress=False)
        seconds = time.perf_counter() - started
        counts = {t: c.imported for t, c in report.tables.items() if c.imported}
    finally:
        store.close()
    return {
        "seconds": seconds,
        "imported": counts,
        "updated": report.updated,
        "unchanged_files": report.unchanged,
        "idle_mb": idle,
        "peak_mb": _peak_mb(),
    }


def _run(step: str, root: Path) -> dict[str, Any]:
    """Run ``step`` in a new Python process; its JSON result."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_agentlogs", step, str(root)],
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench step {step} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(quick: bool = False) -> dict[str, Any]:
    sessions = 500 if quick else 10_000
    root, counts = _folder(sessions)
    lines = counts["lines"]
    print(f"folder: {sessions} sessions, {counts['files']} files, {lines} lines, {counts['bytes'] / 1e6:.0f} MB")
    results: dict[str, Any] = {"folder": counts, "load_average_before": os.getloadavg()[0]}
    for step in ("baseline", "import", "again"):
        r = _run(step, root)
        r["lines_per_s"] = round(lines / r["seconds"])
        results[step] = r
        print(
            f"{step:<10}{r['seconds']:>9.2f} s {r['lines_per_s']:>11,} lines/s  peak {r['peak_mb']:>7.0f} MB"
            f" (interpreter before the step {r['idle_mb']:.0f} MB)"
        )
    grew = _run("grow", root)
    try:
        r = _run("again", root)
    finally:
        for path, size in grew.pop("sizes"):  # back to the generated folder, for the next run
            os.truncate(path, size)
    results["grow"] = grew
    results["grown"] = r
    print(
        f"{'grown':<10}{r['seconds']:>9.2f} s  ({grew['grown_files']} files grew by {grew['added_lines']} lines;"
        f" {r['imported']} imported, {r['updated']} replaced, {r['unchanged_files']} files not read)"
        f"  peak {r['peak_mb']:.0f} MB"
    )
    results["import_vs_baseline"] = round(results["import"]["seconds"] / results["baseline"]["seconds"], 1)
    results["load_average_after"] = os.getloadavg()[0]
    return results


if __name__ == "__main__":
    print(json.dumps(_step(sys.argv[1], Path(sys.argv[2])), default=str))
