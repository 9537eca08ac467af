"""Export a store's analytical tables as Parquet files, one per table, for any Parquet reader.

The folder gets ``sessions.parquet``, ``messages.parquet``, ``tool_executions.parquet``, ``usage_records.parquet``,
``embeddings.parquet``, ``artifacts.parquet`` (columns as documented in ``behest_lab.stores.tables``: typed
timestamps, token counts, content as a list of structs) and ``artifact_data.parquet`` (artifact id and bytes).
Each file is written next to its final name and renamed into place, so readers never see half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq

from behest_lab.errors import InterchangeError
from behest_lab.files import replace_atomically
from behest_lab.interchange._progress import progress_bar
from behest_lab.interchange._report import ExportReport
from behest_lab.interchange._source import count
from behest_lab.stores import tables
from behest_lab.stores.protocols import Store

#: Row order of each exported table (deterministic output).
ORDER = {
    "sessions": "created_at, id",
    "messages": "session_id, created_at, created_at_ns NULLS FIRST, seq",
    "tool_executions": "session_id, created_at, id",
    "usage_records": "session_id, created_at, id",
    "embeddings": "created_at, id",
    "artifacts": "created_at, id",
}

#: Artifacts whose bytes are held in memory at once while writing ``artifact_data.parquet``.
_ARTIFACT_BATCH = 100


def export_parquet(store: Store, folder: str | os.PathLike[str], *, progress: bool | None = None) -> ExportReport:
    """Write every table of ``store`` to ``folder`` (created if missing; existing files of these names replaced).

    Args:
        store: The store to read.
        folder: Output folder.
        progress: Show a progress bar (None: only on a terminal or in a notebook).

    Returns:
        Rows written per table (``artifact_data`` rows are counted under ``artifacts``' bytes, not listed).
    """
    out = Path(folder)
    report = ExportReport(path=str(out), format="parquet")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with progress_bar(progress, total=len(ORDER) + 1, desc="export parquet", unit="table") as bar:
            for table, order in ORDER.items():
                final = out / f"{table}.parquet"
                with replace_atomically(final) as partial:
                    store.sql(f"SELECT * FROM {table} ORDER BY {order}").write_parquet(str(partial))
                report.written[table] = count(store, table)
                bar.update(1)
            _write_artifact_data(store, out)
            bar.update(1)
    except OSError as exc:
        raise InterchangeError(f"cannot write: {exc.strerror or exc}", path=str(out)) from exc
    return report


def _write_artifact_data(store: Store, out: Path) -> None:
    final = out / "artifact_data.parquet"
    offset = 0
    with (
        replace_atomically(final) as partial,
        pq.ParquetWriter(partial, tables.arrow_schema("artifact_data")) as writer,
    ):
        while True:
            ids = store.sql(
                "SELECT id FROM artifacts ORDER BY created_at, id LIMIT ? OFFSET ?", [_ARTIFACT_BATCH, offset]
            ).fetchall()
            if not ids:
                break
            offset += len(ids)
            found = [a for (id_,) in ids if (a := store.artifacts.get(id_)) is not None]
            writer.write_table(tables.to_arrow("artifact_data", found))


__all__ = ["export_parquet"]
