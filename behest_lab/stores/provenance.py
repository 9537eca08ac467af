"""The ``provenance`` table: where each record came from (``Provenance``), plus the sync state of sources.

One row per record and source location: ``record_id``, ``table`` (the store table of the record), ``source`` (the
kind of source), ``location`` (the source without secrets), ``ref`` (the place inside the source) and
``fingerprint`` (the hash ``behest_lab.sync`` compares to find rows changed in the source; NULL for records that
were imported, not synced). ``store.sql("SELECT * FROM provenance")`` reads it on every backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from behest_lab.records import Provenance

#: The table's columns in order, with their SQL types (``table`` is quoted in SQL: it is a keyword).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("record_id", "UUID"),
    ("table", "VARCHAR"),
    ("source", "VARCHAR"),
    ("location", "VARCHAR"),
    ("ref", "VARCHAR"),
    ("fingerprint", "UBIGINT"),
)

ARROW_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("table", pa.string()),
        ("source", pa.string()),
        ("location", pa.string()),
        ("ref", pa.string()),
        ("fingerprint", pa.uint64()),
    ]
)


def check_rows(rows: Sequence[Provenance]) -> list[Provenance]:
    """``rows`` as a list, every element checked to be a ``Provenance``.

    Raises:
        TypeError: An element is not a ``Provenance``.
    """
    out = list(rows)
    for p in out:
        if not isinstance(p, Provenance):
            raise TypeError(f"provenance: expected Provenance, got {type(p).__name__}")
    return out


def cast_select_sql(source: str) -> str:
    """``SELECT`` reading ``source`` (an Arrow scan with ``ARROW_SCHEMA``) with the SQL column types."""
    return "SELECT " + ", ".join(f'CAST("{n}" AS {t}) AS "{n}"' for n, t in COLUMNS) + f" FROM {source}"


def to_arrow(rows: Sequence[Provenance], fingerprints: Sequence[int | None] = ()) -> pa.Table:
    """``rows`` (with ``fingerprints[i]`` each, or NULL when ``fingerprints`` is empty) as an Arrow table.

    Raises:
        ValueError: ``fingerprints`` is neither empty nor one per row.
    """
    if fingerprints and len(fingerprints) != len(rows):
        raise ValueError(f"{len(fingerprints)} fingerprints for {len(rows)} provenance rows")
    return pa.Table.from_arrays(
        [
            pa.array([str(p.record_id) for p in rows], pa.string()),
            pa.array([p.table for p in rows], pa.string()),
            pa.array([p.source for p in rows], pa.string()),
            pa.array([p.location for p in rows], pa.string()),
            pa.array([p.ref for p in rows], pa.string()),
            pa.array(list(fingerprints) if fingerprints else [None] * len(rows), pa.uint64()),
        ],
        schema=ARROW_SCHEMA,
    )
