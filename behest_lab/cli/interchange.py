"""``behest-lab import`` and ``behest-lab export``: move data between a store and behest's formats.

::

    behest-lab import behest-sqlite PATH --store DIR [--skip-bad]
    behest-lab import jsonl PATH --store DIR [--skip-bad]
    behest-lab import claude-code PATH --store DIR [--skip-bad]   (~/.claude/projects, a project, a session)
    behest-lab import codex PATH --store DIR [--skip-bad]         (~/.codex/sessions, archived_sessions, a rollout)
    behest-lab import atif PATH --store DIR [--skip-bad]          (ATIF trajectory.json files: a folder or one file)
    behest-lab import openai-agents PATH --store DIR [--skip-bad] (an Agents SDK session database, or a folder)
    behest-lab import otel PATH --store DIR [--skip-bad]          (OTLP JSON or protobuf trace files)
    behest-lab import llm PATH --store DIR [--skip-bad]           (simonw/llm's logs.db, or its folder)
    behest-lab import PATH --store DIR [--skip-bad]               (the format recognised from PATH)
    behest-lab export jsonl|sqlite|parquet --store DIR OUT

``--store`` defaults to ``$BEHEST_LAB_STORE``. An import creates the store when the folder holds none; an export
only reads, so a folder without a store is an error and nothing is created. The report goes to stdout; an error is
one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from behest_lab.cli import add_store_option, open_existing_store, open_store_folder
from behest_lab.errors import InterchangeError

_IMPORTERS = ("behest-sqlite", "jsonl")
_AGENT_LOGS = (
    ("claude-code", "Claude Code's session logs (a folder or file)"),
    ("codex", "Codex CLI's rollouts"),
    ("atif", "ATIF trajectories (Harbor's trajectory.json files, a folder of them or one)"),
    ("openai-agents", "OpenAI Agents SDK session databases (SQLiteSession, AdvancedSQLiteSession)"),
    ("otel", "OpenTelemetry GenAI spans as OTLP JSON (a file or folder)"),
    ("llm", "simonw/llm's logs.db (the file or its folder)"),
)


def _formats() -> list[str]:
    """Every format ``behest-lab import`` names: the agent logs, then behest's own."""
    return [f for f, _ in _AGENT_LOGS] + list(_IMPORTERS)


#: The subcommand ``behest-lab import PATH`` runs (``import_argv`` inserts it).
AUTO = "auto"


def import_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``auto`` inserted after ``import`` when what follows is a path, not a format."""
    args = list(argv)
    formats = {*_IMPORTERS, *(f for f, _ in _AGENT_LOGS), AUTO}
    if len(args) >= 2 and args[0] == "import" and args[1] not in formats and not args[1].startswith("-"):
        args.insert(1, AUTO)
    return args


_EXPORTERS = ("jsonl", "sqlite", "parquet")


def _progress_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--progress",
        dest="progress",
        action="store_const",
        const=True,
        default=None,
        help="always show a progress bar (default: only on a terminal)",
    )
    group.add_argument("--no-progress", dest="progress", action="store_const", const=False, help="never show one")


def register(subparsers: Any) -> None:
    """Add the ``import`` and ``export`` commands."""
    imp = subparsers.add_parser("import", help="import behest data into a store", description=_import.__doc__)
    imp_sub = imp.add_subparsers(dest="format", metavar="FORMAT", required=True)
    for fmt, text in (("behest-sqlite", "a behest SQLite database"), ("jsonl", "a behest JSON Lines file")):
        p = imp_sub.add_parser(fmt, help=f"import {text}")
        p.add_argument("path", metavar="PATH", type=Path, help=f"{text} to read")
        add_store_option(p, create=True)
        p.add_argument("--skip-bad", action="store_true", help="skip bad rows and report them instead of stopping")
        _progress_flags(p)
        p.set_defaults(func=_import)
    for fmt, text in (*_AGENT_LOGS, (AUTO, "any of the formats above, recognised from PATH")):
        p = imp_sub.add_parser(fmt, help=f"import {text}")
        p.add_argument("path", metavar="PATH", type=Path, help="the file or folder to read")
        add_store_option(p, create=True)
        p.add_argument("--skip-bad", action="store_true", help="skip bad lines and report them instead of stopping")
        _progress_flags(p)
        p.set_defaults(func=_import_logs)

    exp = subparsers.add_parser("export", help="export a store to a behest format", description=_export.__doc__)
    exp_sub = exp.add_subparsers(dest="format", metavar="FORMAT", required=True)
    for fmt, text in (
        ("jsonl", "a behest JSON Lines file"),
        ("sqlite", "a behest SQLite database (existing behest database or new file)"),
        ("parquet", "a folder of Parquet files, one per table"),
    ):
        p = exp_sub.add_parser(fmt, help=f"export to {text}")
        add_store_option(p, help="store folder to read")
        p.add_argument("out", metavar="OUT", type=Path, help=text)
        _progress_flags(p)
        p.set_defaults(func=_export)


def _import(args: argparse.Namespace) -> int:
    """Import behest data into a store; ids already present are skipped."""
    from behest_lab.interchange import import_behest_sqlite, import_jsonl

    path: Path = args.path
    if not path.is_file():
        raise InterchangeError("no such file", path=str(path))
    importer: Callable[..., Any] = import_behest_sqlite if args.format == "behest-sqlite" else import_jsonl
    with open_store_folder(args.store, create=True) as store:
        report = importer(store, path, skip_bad=args.skip_bad, progress=args.progress)
    print(report)
    return 0


def _import_logs(args: argparse.Namespace) -> int:
    """Import other agents' logs (or, for ``auto``, whatever format PATH holds)."""
    from behest_lab.sources.agentlogs import detect_format, import_logs

    path: Path = args.path
    if not path.exists():
        raise InterchangeError("no such file or folder", path=str(path))
    fmt = args.format
    if fmt == AUTO:
        fmt = detect_format(path) or _behest_format(path)
        if fmt is None:
            raise InterchangeError(
                f"cannot tell the format; name it: behest-lab import {'|'.join(_formats())} PATH",
                path=str(path),
            )
        if fmt in _IMPORTERS:
            args.format = fmt
            return _import(args)
    with open_store_folder(args.store, create=True) as store:
        report = import_logs(fmt, store, path, skip_bad=args.skip_bad, progress=args.progress)
    print(report)
    return 0


def _behest_format(path: Path) -> str | None:
    """``behest-sqlite`` or ``jsonl`` for a file of behest's own formats, else None."""
    if not path.is_file():
        return None
    with path.open("rb") as f:
        head = f.read(16)
    if head == b"SQLite format 3\x00":
        return "behest-sqlite"
    return "jsonl" if path.suffix == ".jsonl" else None


def _export(args: argparse.Namespace) -> int:
    """Export a store to a behest format."""
    from behest_lab.interchange import export_behest_sqlite, export_jsonl, export_parquet

    exporters: dict[str, Callable[..., Any]] = {
        "jsonl": export_jsonl,
        "sqlite": export_behest_sqlite,
        "parquet": export_parquet,
    }
    exporter = exporters[args.format]
    with open_existing_store(args.store) as store:
        report = exporter(store, args.out, progress=args.progress)
    print(report)
    return 0
