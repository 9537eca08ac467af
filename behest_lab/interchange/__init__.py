"""Interchange with behest's own formats: its SQLite database, behest JSON Lines, and Parquet for analysis.

=====================  ===========================  ===========================
format                 import                       export
=====================  ===========================  ===========================
behest SQLite          ``import_behest_sqlite``     ``export_behest_sqlite``
behest JSON Lines      ``import_jsonl``             ``export_jsonl``
Parquet (one a table)  --                           ``export_parquet``
=====================  ===========================  ===========================

Imports skip ids already in the store (importing twice adds nothing), write in batches that land completely or not
at all, and return an ``ImportReport``; a bad row raises ``InterchangeError`` naming the file, table, line and row
id, or with ``skip_bad=True`` is skipped and counted. Exports return an ``ExportReport``.

``copy_store(source, target)`` copies a whole lake store to another (a folder and a shared store, either way) and
verifies it; ``behest-lab copy`` runs it. (It was called ``migrate_store`` / ``behest-lab migrate``, names that
still work; "migration" now means only a schema step, behest_lab's or behest's.)
"""

from behest_lab.interchange._report import BadRow, ExportReport, ImportReport, TableCounts
from behest_lab.interchange.behest_schema import MIGRATIONS, SCHEMA_SQL, create_behest_schema
from behest_lab.interchange.behest_sqlite import export_behest_sqlite, import_behest_sqlite, recover_tool_ids
from behest_lab.interchange.bundle import Bundle
from behest_lab.interchange.jsonl import export_jsonl, import_jsonl
from behest_lab.interchange.parquet import export_parquet
from behest_lab.interchange.store_copy import CopyReport, copy_store

__all__ = [
    "MIGRATIONS",
    "SCHEMA_SQL",
    "BadRow",
    "Bundle",
    "CopyReport",
    "ExportReport",
    "ImportReport",
    "TableCounts",
    "copy_store",
    "create_behest_schema",
    "export_behest_sqlite",
    "export_jsonl",
    "export_parquet",
    "import_behest_sqlite",
    "import_jsonl",
    "recover_tool_ids",
]
