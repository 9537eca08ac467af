r"""What a record's text and free-form JSON may hold: exactly what behest's serde_json can write and read back.

* **Text** is Unicode scalar values (a Rust ``String``): a lone surrogate (``"\ud800"``, which Python's ``json``
  decodes from an escape) has no UTF-8 form, so serde_json refuses it and no store or export could write it.
  NUL (``"\x00"``) is an ordinary character: serde_json writes it as ``\u0000``.
* **Numbers** in free-form JSON are finite: JSON has no NaN or Infinity (serde_json writes them as ``null`` and
  refuses to read them back as numbers), so they are refused by name rather than changed into ``null``.
* **Nesting** of a free-form JSON value is at most ``MAX_JSON_DEPTH`` arrays/objects. serde_json stops reading at
  128 nested levels of a whole document (its recursion limit), and the deepest place behest keeps free-form JSON is
  three levels into a record (a JSON content part: message, ``content`` array, part); 124 is what behest reads back
  wherever it is stored.

Pure functions, no pydantic: the field types in ``_base`` use them, and so do the importers' JSON readers.
"""

from __future__ import annotations

import math
import re
from typing import Any

#: Deepest nesting of arrays/objects a free-form JSON value may have (a scalar is 0, ``[]`` and ``{}`` are 1).
MAX_JSON_DEPTH = 124

_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(value: str) -> str:
    """``value`` unchanged; ``ValueError`` naming the position when it holds a lone surrogate."""
    if not value.isascii():
        found = _SURROGATE.search(value)
        if found is not None:
            raise ValueError(
                f"lone surrogate {found.group()!a} at character {found.start()} (not Unicode text; "
                "it has no UTF-8 form, behest cannot hold it)"
            )
    return value


def check_json(value: Any) -> Any:
    """``value`` unchanged when behest's serde_json can write it and read it back; otherwise ``ValueError``.

    Refused: nesting deeper than ``MAX_JSON_DEPTH``, NaN or infinite numbers, lone surrogates in strings or keys.
    The message names the place (``$['a'][2]``). Walks without recursion, so any depth is refused cleanly.
    """
    stack: list[tuple[Any, int, _Path]] = [(value, 0, None)]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            _text_at(item, path)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{_where(path)} is {item!r}: JSON numbers are finite (no NaN or Infinity)")
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise ValueError(
                    f"nested deeper than {MAX_JSON_DEPTH} levels of arrays/objects (behest's JSON reader stops at "
                    "128 levels per document)"
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and not key.isascii():
                        _text_at(key, (path, key), key=True)
                    stack.append((child, depth + 1, (path, key)))
            else:
                stack.extend((child, depth + 1, (path, i)) for i, child in enumerate(item))
    return value


#: Where a value sits, built only when it is reported: None for the root, else (parent, key or index).
_Path = tuple[Any, str | int] | None


def _where(path: _Path) -> str:
    steps: list[str] = []
    while path is not None:
        path, step = path
        steps.append(f"[{step}]" if isinstance(step, int) else f"[{step!r}]")
    return "$" + "".join(reversed(steps))


def _text_at(text: str, path: _Path, *, key: bool = False) -> None:
    try:
        check_text(text)
    except ValueError as exc:
        raise ValueError(f"{'key ' if key else ''}{_where(path)}: {exc}") from None


__all__ = ["MAX_JSON_DEPTH", "check_json", "check_text"]
