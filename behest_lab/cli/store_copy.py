"""``behest-lab copy``: copy a whole store between a local folder and a shared store (or folder to folder).

::

    behest-lab copy --from DIR --to postgresql://USER@HOST:PORT/DB --data-path s3://BUCKET/PREFIX/
    behest-lab copy --from postgresql://USER@HOST:PORT/DB --to DIR
    behest-lab copy --from DIR --to OTHER_DIR

``behest-lab migrate`` is the same command under its former name.

Secrets never need to be on the command line (where ``ps`` shows them to every user): the PostgreSQL password
comes from ``PGPASSWORD`` (or ``~/.pgpass``), the S3 keys from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``.
A password inside a URL is accepted with a warning. The per-table counts go to stdout; a refused or failed
copy is one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from behest_lab.errors import InterchangeError


def register(subparsers: Any) -> None:
    """Add the ``copy`` command (also named ``migrate``, its former name)."""
    p = subparsers.add_parser(
        "copy",
        aliases=["migrate"],
        help="copy a store between a folder and a shared PostgreSQL + S3 store",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--from", dest="source", metavar="SRC", required=True, help="store folder or postgresql:// URL")
    p.add_argument("--to", dest="target", metavar="DST", required=True, help="store folder or postgresql:// URL")
    p.add_argument(
        "--data-path",
        metavar="URL",
        help="where a new shared target keeps its Parquet files (s3://bucket/prefix/); default: the one its catalog "
        "already stores",
    )
    p.add_argument(
        "--from-data-path", metavar="URL", help="data path of a shared source (default: the one its catalog stores)"
    )
    p.add_argument(
        "--append",
        action="store_true",
        help="allow a non-empty target: add the source's rows (refused, with nothing written, if an id is on both "
        "sides)",
    )
    s3 = p.add_argument_group("S3 (for a postgresql:// side; keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")
    s3.add_argument("--s3-endpoint", metavar="HOST:PORT", help="S3-compatible endpoint (default: AWS_ENDPOINT_URL)")
    s3.add_argument("--s3-region", metavar="REGION", help="region (default: AWS_REGION or AWS_DEFAULT_REGION)")
    s3.add_argument("--s3-url-style", choices=("path", "vhost"), help="path-style URLs (MinIO, moto) or virtual-host")
    s3.add_argument("--s3-no-ssl", action="store_true", help="plain HTTP to the endpoint (local emulators)")
    p.set_defaults(func=_copy)


def s3_options(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Any:
    """``S3Options`` from the ``AWS_*`` environment with the ``--s3-*`` flags on top.

    The environment is read by ``S3Options.from_env``. None when nothing is set (DuckDB's defaults and secrets then
    apply).
    """
    from behest_lab import S3Options

    base = S3Options.from_env(env)
    values: dict[str, Any] = {} if base is None else base.model_dump(exclude_none=True)
    if ("key_id" in values) != ("secret" in values):
        raise InterchangeError("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither")
    for name, flag in (("endpoint", args.s3_endpoint), ("region", args.s3_region), ("url_style", args.s3_url_style)):
        if flag:
            values[name] = flag
    if args.s3_no_ssl:
        values["use_ssl"] = False
    return S3Options(**values) if values else None


def _copy(args: argparse.Namespace) -> int:
    """Copy every row of one store into another and verify the counts and checksums per table."""
    from behest_lab.interchange.store_copy import copy_store, is_remote, open_location, redact

    source: str = args.source
    target: str = args.target
    for flag, where in (("--from", source), ("--to", target)):
        if is_remote(where) and urlsplit(where).password is not None:
            print(
                f"behest-lab: warning: {flag} {redact(where)} carries a password, which other users can see in "
                "`ps`; prefer PGPASSWORD or ~/.pgpass",
                file=sys.stderr,
            )
    if args.data_path and not is_remote(target):
        raise InterchangeError("--data-path is for a postgresql:// target; a folder keeps its files inside it")
    if args.from_data_path and not is_remote(source):
        raise InterchangeError("--from-data-path is for a postgresql:// source")
    s3 = s3_options(args) if is_remote(source) or is_remote(target) else None
    both_local = not is_remote(source) and not is_remote(target)
    if both_local and os.path.realpath(source) == os.path.realpath(target):
        raise InterchangeError("--from and --to name the same folder")
    with (
        open_location(source, data_path=args.from_data_path, s3=s3, create=False) as src,
        open_location(target, data_path=args.data_path, s3=s3) as dst,
    ):
        report = copy_store(src, dst, append=args.append)
    print(report)
    return 0
