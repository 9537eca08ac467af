"""``behest-lab``: the command line, thin over the library.

Each module in this package that defines ``register(subparsers)`` adds its commands; ``main`` finds them. Every
command that works on a store folder takes ``--store DIR`` (``add_store_option``), defaulting to
``$BEHEST_LAB_STORE``; commands that read a store open it with ``open_existing_store`` and never create one, commands
that write into one (``import``) open it with ``open_store_folder(path, create=True)``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from behest_lab.errors import BehestLabError
from behest_lab.errors import CliError as CliError  # re-exported: the commands raise it from here

if TYPE_CHECKING:
    from behest_lab.stores.protocols import Store

STORE_ENV = "BEHEST_LAB_STORE"
"""Environment variable whose value is the default ``--store`` of every command."""


def add_store_option(parser: argparse.ArgumentParser, *, help: str = "store folder", create: bool = False) -> None:
    """Add ``--store DIR``, defaulting to ``$BEHEST_LAB_STORE``; a command run with neither is a usage error.

    Args:
        parser: the command's parser.
        help: what the folder is, for ``--help``.
        create: the command creates the store when the folder holds none (said in ``--help``).
    """
    default = os.environ.get(STORE_ENV) or None
    created = ", created if missing" if create else ""
    parser.add_argument(
        "--store",
        metavar="DIR",
        type=Path,
        default=Path(default) if default else None,
        required=default is None,
        help=f"{help}{created} (default: ${STORE_ENV}{f', now {default}' if default else ''})",
    )


def open_store_folder(path: Path, *, create: bool = False) -> Store:
    """The store in folder ``path``, created there when ``create`` is true and it holds none.

    Raises:
        CliError: ``create`` is false and ``path`` is not a folder or holds no behest_lab store (one line naming
            the folder); or the store could not be opened.
    """
    from behest_lab import open_store
    from behest_lab.errors import ConnectionFailedError, NoStoreError

    if not create and not path.is_dir():
        raise CliError(f"store folder {str(path)!r} does not exist")
    try:
        return open_store(path, create=create)
    except ConnectionFailedError as exc:
        detail = str(exc).removeprefix(f"storage connection failed ({exc.backend}): ")
        if isinstance(exc, NoStoreError) or not create:
            raise CliError(detail) from None
        raise CliError(f"cannot open the store in {str(path)!r}: {detail}") from None


def open_existing_store(path: Path) -> Store:
    """The store already in folder ``path``: read commands never create one.

    Raises:
        CliError: ``path`` is not a folder or holds no behest_lab store (the message names the folder).
    """
    return open_store_folder(path, create=False)


def package_version() -> str:
    """The installed version of behest_lab (its distribution metadata, as ``pip show behest_lab`` prints it)."""
    try:
        return importlib.metadata.version("behest_lab")
    except importlib.metadata.PackageNotFoundError:  # imported from a source tree that was never installed
        from behest_lab import __version__

        return f"{__version__} (not installed)"


def non_negative(text: str) -> int:
    """An ``argparse`` type: a whole number >= 0, or a usage error naming the bad value."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="behest-lab",
        description="Explore what behest agents did: sessions, messages, tool calls, usage and cost.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``behest-lab`` console script; returns the exit code."""
    from behest_lab.cli.interchange import import_argv

    parser = build_parser()
    args = parser.parse_args(import_argv(sys.argv[1:] if argv is None else argv))
    try:
        try:
            code: int = args.func(args)
        except Exception as exc:
            # a damaged store file reported by DuckDB or SQLite in its own words: DataCorruptionError naming it
            from behest_lab.stores.lake.corruption import translate_for

            translate_for(exc, getattr(args, "store", None))
            raise
    except BehestLabError as exc:
        print(f"behest-lab: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `behest-lab ... | head` is fine
        return 0
    return code
