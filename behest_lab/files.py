"""Writing files safely: a new file appears whole or not at all, and never through a planted link.

Every writer of behest_lab that produces a file (exports, the HTML report) writes a temporary file in the target's
folder and renames it over the target when it is complete. The temporary file is created exclusively
(``O_CREAT | O_EXCL | O_NOFOLLOW``) under a fresh random name: if anything already exists at that name, a
symbolic link planted by someone else included, creation fails and another name is tried, so the writer never
writes into a file it did not create. The rename (``os.replace``) replaces the target itself, never what a link at
the target points to.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

__all__ = ["create_exclusive", "open_text_atomically", "replace_atomically", "write_text_atomically"]

#: Names tried before giving up (each is 64 random bits: a clash means someone is filling the folder).
_ATTEMPTS = 100
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def create_exclusive(path: str | os.PathLike[str]) -> int:
    """Create ``path`` as a new empty file and return a descriptor open for writing.

    Raises:
        FileExistsError: something already exists at ``path`` (a file, a folder or a symbolic link, even a
            dangling one); it is left untouched.
    """
    return os.open(path, _FLAGS, 0o666)


def _temporary(target: Path) -> tuple[int, Path]:
    for _ in range(_ATTEMPTS):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.partial")
        try:
            return create_exclusive(tmp), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {target} after {_ATTEMPTS} tries")


@contextmanager
def replace_atomically(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A new empty file next to ``target``, created exclusively, for a writer that needs a path.

    When the block ends without an error the file is renamed over ``target``; otherwise it is removed and
    ``target`` is unchanged. The writer must write into the existing file (open it for writing, truncating), not
    delete and re-create it.

    Args:
        target: the file to create or replace; its folder must exist.
    """
    fd, tmp = _temporary(Path(target))
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def open_text_atomically(
    target: str | os.PathLike[str], *, encoding: str = "utf-8", newline: str | None = "\n"
) -> Iterator[TextIO]:
    r"""Write text to ``target`` through an exclusively created temporary file (see ``replace_atomically``).

    Args:
        target: the file to create or replace; its folder must exist.
        encoding: text encoding.
        newline: line ending written for ``"\n"`` (``open``'s meaning).
    """
    fd, tmp = _temporary(Path(target))
    try:
        try:
            stream = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        except BaseException:
            os.close(fd)
            raise
        with stream as out:
            yield out
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomically(target: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``target`` whole or not at all (see ``open_text_atomically``); returns the target."""
    with open_text_atomically(target, encoding=encoding, newline=None) as out:
        out.write(text)
    return Path(target)
