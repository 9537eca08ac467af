"""Run the benchmarks: ``python -m bench [NAME ...] [--quick]`` (``make bench`` runs them all).

Each ``bench/bench_<name>.py`` defines ``main(quick: bool) -> dict``; results go to ``bench/results/<name>.json``
and a table with the targets is printed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def available() -> list[str]:
    return sorted(
        m.name.removeprefix("bench_") for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(available())})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    (HERE / "results").mkdir(exist_ok=True)
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        started = time.perf_counter()
        print(f"== {name} ==", flush=True)
        result = module.main(quick=args.quick)
        result["_wall_seconds"] = round(time.perf_counter() - started, 1)
        result["_quick"] = args.quick
        out = HERE / "results" / f"{name}{'.quick' if args.quick else ''}.json"
        out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"-> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
