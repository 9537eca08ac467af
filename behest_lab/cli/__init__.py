"""``behest-lab``: the command line, thin over the library.

Each module in this package that defines ``register(subparsers)`` adds its commands; ``main`` finds them.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from behest_lab.errors import BehestLabError


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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``behest-lab`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except BehestLabError as exc:
        print(f"behest-lab: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `behest-lab ... | head` is fine
        return 0
    return code
