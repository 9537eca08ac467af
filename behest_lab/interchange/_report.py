"""What an import or export did: counts per table, skipped rows with reasons, mapped values, lossy fields."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

#: Tables in the order reports list them (behest_lab's record kinds).
TABLE_ORDER = ("sessions", "messages", "tool_executions", "usage_records", "embeddings", "artifacts")


@dataclass
class TableCounts:
    """Counts for one table of an import.

    Attributes:
        read: Rows (or lines) read from the source.
        imported: Records written to the store.
        duplicates: Records skipped because their id was already in the store (or earlier in the source).
        bad: Rows skipped as unreadable (only with ``skip_bad=True``; otherwise the import stops at the first one).
    """

    read: int = 0
    imported: int = 0
    duplicates: int = 0
    bad: int = 0


@dataclass(frozen=True)
class BadRow:
    """One row skipped with ``skip_bad=True``: where it was and why."""

    table: str
    line: int | None
    row_id: str | None
    reason: str

    def __str__(self) -> str:
        where = [self.table]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.row_id is not None:
            where.append(f"row {self.row_id}")
        return f"{', '.join(where)}: {self.reason}"


@dataclass
class ImportReport:
    """Result of an import, returned to the caller (and printed by the CLI).

    Attributes:
        path: The source file.
        format: ``"behest-sqlite"`` or ``"jsonl"``.
        tables: Counts per table (every table of ``TABLE_ORDER`` is present).
        bad_rows: The skipped bad rows, in source order (only with ``skip_bad=True``).
        roles_mapped: Unknown role texts mapped to ``user`` (behest's SQL rule), with how many rows had each.
        statuses_mapped: Unknown status texts mapped to ``pending`` (behest's SQL rule), with counts.
        tool_ids_recovered: Tool messages whose ``tool_call_id``/``tool_name`` were recovered by pairing them with
            the preceding assistant message's ``tool_calls`` (behest's SQL schema has no columns for them).
        tool_ids_unpaired: Tool messages left without ids because no unanswered call preceded them.
        unreadable: Lines skipped that belong to no table (not JSON, no known ``kind``); JSON Lines only.
    """

    path: str
    format: str
    tables: dict[str, TableCounts] = field(default_factory=lambda: {t: TableCounts() for t in TABLE_ORDER})
    bad_rows: list[BadRow] = field(default_factory=list)
    roles_mapped: Counter[str] = field(default_factory=Counter)
    statuses_mapped: Counter[str] = field(default_factory=Counter)
    tool_ids_recovered: int = 0
    tool_ids_unpaired: int = 0
    unreadable: int = 0

    @property
    def imported(self) -> int:
        """Records written, all tables together."""
        return sum(c.imported for c in self.tables.values())

    @property
    def duplicates(self) -> int:
        """Records skipped as already present, all tables together."""
        return sum(c.duplicates for c in self.tables.values())

    @property
    def bad(self) -> int:
        """Bad rows skipped, all tables together."""
        return sum(c.bad for c in self.tables.values()) + self.unreadable

    def __str__(self) -> str:
        return format_import_report(self)


@dataclass
class ExportReport:
    """Result of an export.

    Attributes:
        path: The output file or folder.
        format: ``"jsonl"``, ``"behest-sqlite"`` or ``"parquet"``.
        written: Records (rows) written per table.
        existing: Rows not written because the target database already held that id (SQLite export only).
        not_exported: Records the format cannot hold, per table (behest's SQLite schema has no embeddings or
            artifacts tables).
        lossy: Fields the format cannot hold, with how many records carried a value that was dropped (for example
            ``messages.tool_call_id/tool_name``: behest's SQL schema has no columns for them).
    """

    path: str
    format: str
    written: dict[str, int] = field(default_factory=dict)
    existing: dict[str, int] = field(default_factory=dict)
    not_exported: dict[str, int] = field(default_factory=dict)
    lossy: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return format_export_report(self)


def _table_lines(rows: list[tuple[str, list[int]]], headers: list[str]) -> list[str]:
    width = max([len("table"), *(len(name) for name, _ in rows)])
    nums = [max(len(h), *(len(str(r[1][i])) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  " + "table".ljust(width) + "".join("  " + h.rjust(n) for h, n in zip(headers, nums, strict=True))]
    for name, values in rows:
        cells = "".join("  " + str(v).rjust(n) for v, n in zip(values, nums, strict=True))
        lines.append("  " + name.ljust(width) + cells)
    return lines


def format_import_report(report: ImportReport, *, max_bad_rows: int = 20) -> str:
    """The report as aligned text: one line per table, then mapped values and the first bad rows."""
    rows = [(t, [c.read, c.imported, c.duplicates, c.bad]) for t, c in report.tables.items()]
    lines = [f"imported {report.path} ({report.format})"]
    lines += _table_lines(rows, ["read", "imported", "duplicates", "bad"])
    if report.unreadable:
        lines.append(f"unreadable lines skipped: {report.unreadable}")
    if report.roles_mapped:
        mapped = ", ".join(f"{k!r} x{v}" for k, v in sorted(report.roles_mapped.items()))
        lines.append(f"unknown roles mapped to user: {mapped}")
    if report.statuses_mapped:
        mapped = ", ".join(f"{k!r} x{v}" for k, v in sorted(report.statuses_mapped.items()))
        lines.append(f"unknown statuses mapped to pending: {mapped}")
    if report.tool_ids_recovered or report.tool_ids_unpaired:
        lines.append(
            f"tool result ids recovered from the preceding tool calls: {report.tool_ids_recovered}"
            f" (left without ids: {report.tool_ids_unpaired})"
        )
    if report.bad_rows:
        lines.append(f"skipped bad rows: {len(report.bad_rows)}")
        lines += [f"  {row}" for row in report.bad_rows[:max_bad_rows]]
        if len(report.bad_rows) > max_bad_rows:
            lines.append(f"  ... and {len(report.bad_rows) - max_bad_rows} more")
    return "\n".join(lines)


def format_export_report(report: ExportReport) -> str:
    """The report as aligned text (the ``existing`` and ``not exported`` columns only when they are not all 0)."""
    names = [t for t in TABLE_ORDER if t in report.written or t in report.existing or t in report.not_exported]
    columns = [("written", report.written)]
    columns += [
        (h, d) for h, d in (("existing", report.existing), ("not exported", report.not_exported)) if any(d.values())
    ]
    rows = [(t, [d.get(t, 0) for _, d in columns]) for t in names]
    lines = [f"exported to {report.path} ({report.format})"]
    if rows:
        lines += _table_lines(rows, [h for h, _ in columns])
    for what, n in report.lossy.items():
        if n:
            lines.append(f"not representable, dropped: {what} ({n} records)")
    return "\n".join(lines)
