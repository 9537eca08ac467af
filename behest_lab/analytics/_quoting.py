"""Quoting values into SQL text.

The one place behest_lab turns a Python value, a JSON key path or a list of ids into DuckDB SQL. Values always reach SQL
as literals or JSON Pointers, never as syntax.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID


def literal(value: object) -> str:
    """A SQL literal for str, int, bool, Decimal, date, datetime or None.

    Strings are quoted with their quotes doubled, and a NUL is spelled ``chr(0)`` (DuckDB's parser ends a string
    literal at NUL).

    Raises:
        TypeError: a value of another type.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return f"TIMESTAMPTZ '{value.isoformat()}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        if "\x00" in value:
            return "(" + " || chr(0) || ".join(literal(part) for part in value.split("\x00")) + ")"
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {value!r}")


def json_pointer(keys: Sequence[str]) -> str:
    """The JSON Pointer (RFC 6901) of nested object ``keys``.

    Any key names itself (``""``, ``*``, quotes, NUL), never a wildcard or a syntax error as it could in a ``$.``
    path; pass the result through ``literal``.
    """
    return "".join("/" + k.replace("~", "~0").replace("/", "~1") for k in keys)


def uuid_list(ids: Sequence[UUID | str]) -> str:
    """``(CAST('..' AS UUID), ...)`` for an ``IN`` list; ``(NULL)`` when empty (matches nothing).

    Raises:
        ValueError: an id is not a UUID.
    """
    if not ids:
        return "(NULL)"
    return "(" + ", ".join(f"CAST({literal(str(UUID(str(i))))} AS UUID)" for i in ids) + ")"
