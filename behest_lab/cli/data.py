"""``behest-lab sample-data DIR``: write the committed sample (``data/`` in the repository, ``make data``).

Two files from the deterministic generator (``behest_lab.sample.generate``, fixed seed and sessions), byte for byte
the same on every run:

* ``sample.jsonl``: every record as behest JSON Lines (``behest_lab.interchange.export_jsonl``), embeddings and
  artifacts included;
* ``sample.sqlite``: sessions, messages, tool executions and usage records in behest's own SQLite schema
  (``behest_lab.interchange.export_behest_sqlite``; that schema has no embeddings or artifacts).

Each file is written under a temporary name in ``DIR`` and renamed into place, so a failed run leaves the old file
and regenerating never appends to an existing database.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from behest_lab.cli import non_negative

SAMPLE_SEED = 17
"""Seed of the committed sample. Chosen among seeds 0-39 as the one with most compactions (10) among those whose
first ``SAMPLE_SESSIONS`` sessions keep both files under ``MAX_BYTES`` together."""

SAMPLE_SESSIONS = 94
"""Sessions in the committed sample (about 2,400 messages, eight models, thirteen tools, failures, compactions)."""

MAX_BYTES = 5_000_000
"""Budget of the two committed files together."""

JSONL_NAME = "sample.jsonl"
SQLITE_NAME = "sample.sqlite"


@dataclass(frozen=True)
class SampleFiles:
    """Where ``write_sample`` put the files, and what went in."""

    jsonl: Path
    sqlite: Path
    counts: dict[str, int]

    @property
    def total_bytes(self) -> int:
        """Size of both files together."""
        return self.jsonl.stat().st_size + self.sqlite.stat().st_size


def _replace(target: Path, write: Callable[[Path], object]) -> None:
    """Run ``write(tmp)`` on a fresh temporary path next to ``target``, then rename it over ``target``."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # the exporters create the file themselves (an existing SQLite file would be appended to)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_sample(
    directory: str | os.PathLike[str], *, sessions: int = SAMPLE_SESSIONS, seed: int = SAMPLE_SEED
) -> SampleFiles:
    """Write the sample data set into ``directory``.

    Generates ``sessions`` sample sessions with ``seed`` in a memory store and writes ``sample.jsonl`` and
    ``sample.sqlite`` (the folder is created if missing; existing files are replaced).

    Returns:
        The two paths and the record counts the generator wrote (``SampleSummary.as_dict()``).
    """
    from behest_lab import open_store
    from behest_lab.interchange import export_behest_sqlite, export_jsonl
    from behest_lab.sample import DEFAULT_START, generate

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    with open_store(None) as store:
        counts = generate(store, sessions=sessions, seed=seed).as_dict()
        _replace(folder / JSONL_NAME, lambda p: export_jsonl(store, p, progress=False))
        _replace(
            folder / SQLITE_NAME, lambda p: export_behest_sqlite(store, p, progress=False, migrated_at=DEFAULT_START)
        )
    return SampleFiles(jsonl=folder / JSONL_NAME, sqlite=folder / SQLITE_NAME, counts=counts)


def register(subparsers: Any) -> None:
    """Add the ``sample-data`` command."""
    parser = subparsers.add_parser(
        "sample-data",
        help="write the deterministic sample (sample.jsonl, sample.sqlite) into a folder",
        description=(
            f"Generate {SAMPLE_SESSIONS} sample sessions (seed {SAMPLE_SEED}) and write them as behest JSON Lines "
            f"({JSONL_NAME}, every record) and as a behest SQLite database ({SQLITE_NAME}; no embeddings or "
            "artifacts, behest's schema has no tables for them). The same options give the same bytes."
        ),
    )
    parser.add_argument("directory", metavar="DIR", type=Path, help="output folder, created if missing")
    parser.add_argument(
        "--sessions",
        metavar="N",
        type=non_negative,
        default=SAMPLE_SESSIONS,
        help=f"sessions (default: {SAMPLE_SESSIONS})",
    )
    parser.add_argument("--seed", metavar="S", type=int, default=SAMPLE_SEED, help=f"seed (default: {SAMPLE_SEED})")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``behest-lab sample-data``; returns the exit code."""
    files = write_sample(args.directory, sessions=args.sessions, seed=args.seed)
    counts = ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in files.counts.items())
    print(
        f"Wrote {files.jsonl} ({files.jsonl.stat().st_size:,} bytes) and {files.sqlite} "
        f"({files.sqlite.stat().st_size:,} bytes): {counts}."
    )
    if files.total_bytes > MAX_BYTES:
        print(f"note: together {files.total_bytes:,} bytes, over the {MAX_BYTES:,}-byte budget of the committed sample")
    return 0
