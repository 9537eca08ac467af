"""Write an analytics frame to a file, the format chosen by the extension."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

FORMATS = {".parquet": "parquet", ".csv": "csv", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson"}
"""File extensions ``export`` understands and the format each selects."""


def export(frame: pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` to ``path``.

    ``.parquet``, ``.csv``, ``.json`` (one JSON array of row objects) or ``.ndjson``/``.jsonl`` (one object per line).
    Returns the path written.

    Other targets are one call away: ``frame.to_pandas()`` gives a pandas DataFrame, ``frame.to_arrow()`` a
    ``pyarrow.Table``. CSV cannot hold list columns (``tool_names``, ``top_errors``): they are written as JSON text.

    Raises:
        ValueError: the extension is not one of ``FORMATS``.
    """
    target = Path(path)
    kind = FORMATS.get(target.suffix.lower())
    if kind is None:
        raise ValueError(f"{target}: unknown export format {target.suffix!r}; use one of {', '.join(FORMATS)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        frame.write_parquet(target)
    elif kind == "csv":
        flat = frame.with_columns(
            pl.Series(name, [None if v is None else json.dumps(v, ensure_ascii=False) for v in frame[name].to_list()])
            for name, dtype in frame.schema.items()
            if isinstance(dtype, pl.List)
        )
        flat.write_csv(target)
    elif kind == "json":
        frame.write_json(target)
    else:
        frame.write_ndjson(target)
    return target
