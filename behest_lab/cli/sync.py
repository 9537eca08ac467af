"""``behest-lab sync``: copy a behest backend into a store and keep it up to date.

::

    behest-lab sync SOURCE --store DIR [--watch SECONDS] [--mirror-deletes] [--skip-bad]

``SOURCE`` is a URL or path (``behest_lab.sources.open_source``). Without ``--watch`` one sync runs and its report
goes to stdout. With ``--watch`` a sync runs every SECONDS until interrupted, rewriting one status line (on a
terminal; one line per run otherwise); Ctrl-C ends it with exit status 0 after the current commit. The store is
created when the folder holds none. ``$BEHEST_LAB_SYNC_BATCH_ROWS`` sets the records per commit (default
``behest_lab.sources.sync.DEFAULT_BATCH_ROWS``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from behest_lab.cli import CliError, add_store_option, open_store_folder


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def register(subparsers: Any) -> None:
    """Add the ``sync`` command."""
    p = subparsers.add_parser("sync", help="copy a behest backend into a store, incrementally", description=__doc__)
    p.add_argument("source", metavar="SOURCE", help="sqlite:///path, postgresql://..., redis://..., or a path")
    add_store_option(p, create=True)
    p.add_argument("--watch", metavar="SECONDS", type=_seconds, help="sync again every SECONDS until interrupted")
    p.add_argument("--mirror-deletes", action="store_true", help="remove rows the source no longer holds")
    p.add_argument("--skip-bad", action="store_true", help="skip rows that do not decode and count them")
    p.set_defaults(func=_sync)


def _sync(args: argparse.Namespace) -> int:
    """Sync once, or every ``--watch`` seconds."""
    from behest_lab.sources import open_source
    from behest_lab.sources.sync import DEFAULT_BATCH_ROWS, sync

    rows = os.environ.get("BEHEST_LAB_SYNC_BATCH_ROWS")
    try:
        batch_rows = int(rows) if rows else DEFAULT_BATCH_ROWS
    except ValueError:
        raise CliError(f"BEHEST_LAB_SYNC_BATCH_ROWS is not a whole number: {rows!r}") from None
    options = {"mirror_deletes": args.mirror_deletes, "skip_bad": args.skip_bad, "batch_rows": batch_rows}
    source = open_source(args.source)
    try:
        with open_store_folder(args.store, create=True) as store:
            if args.watch is None:
                print(sync(source, store, **options))
                return 0
            tty = sys.stdout.isatty()
            runs = 0
            try:
                while True:
                    report = sync(source, store, **options)
                    runs += 1
                    line = f"[{time.strftime('%H:%M:%S')}] run {runs}: {report.status()}"
                    print(f"\r\x1b[2K{line}" if tty else line, end="" if tty else "\n", flush=True)
                    time.sleep(args.watch)
            except KeyboardInterrupt:
                if tty:
                    print()
                return 0
    except KeyboardInterrupt:
        raise CliError("interrupted") from None
    finally:
        source.close()
