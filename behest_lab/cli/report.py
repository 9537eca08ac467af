"""``behest-lab report``: write the HTML report of an existing store (``behest_lab.report.write``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from behest_lab.cli import CliError, add_store_option, open_existing_store


def register(subparsers: Any) -> None:
    """Add the ``report`` command."""
    parser = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report of a store",
        description=(
            "Write one self-contained HTML page about the store: its contents, cost by model and by day, tokens, "
            "slow and failing tools, compaction, and the most expensive sessions. The page loads nothing, runs no "
            "script, and shows stored text as text. The store must exist; it is only read."
        ),
    )
    add_store_option(parser, help="folder of the store to report on")
    parser.add_argument("--out", metavar="FILE", type=Path, required=True, help="the .html file to write")
    parser.add_argument("--title", metavar="T", help="heading of the page (default: behest_lab report: <folder>)")
    parser.add_argument(
        "--since",
        metavar="WHEN",
        help="only what was created at or after WHEN (ISO date or datetime; UTC unless it has an offset)",
    )
    parser.add_argument("--until", metavar="WHEN", help="only what was created before WHEN (exclusive; as --since)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``behest-lab report``; returns the exit code."""
    from behest_lab.report import parse_bound, write

    try:
        since = parse_bound(args.since, "--since")
        until = parse_bound(args.until, "--until")
    except ValueError as exc:
        raise CliError(str(exc)) from None
    folder: Path = args.store
    with open_existing_store(folder) as store:
        try:
            report = write(
                store, args.out, title=args.title, since=since, until=until, store_name=folder.resolve().name
            )
        except ValueError as exc:
            raise CliError(str(exc)) from None
    print(f"Report ({report.images} plots, {report.seconds:.1f} s): {args.out}")
    return 0
