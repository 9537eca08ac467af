"""What a store holds: row counts per table and messages per role (one aggregate query each)."""

from __future__ import annotations

from behest_lab.analytics._sql import fetch_rows
from behest_lab.stores.protocols import Store

CONTENT_COUNTS = ("sessions", "messages", "compactions", "tool_executions", "usage_records", "embeddings", "artifacts")
"""The keys of ``store_counts``."""


def store_counts(store: Store) -> dict[str, int]:
    """How many rows each table holds, and how many messages are compaction requests (``compactions``).

    Returns:
        Counts by the names of ``CONTENT_COUNTS``, in that order.
    """
    parts = ", ".join(
        "(SELECT count(*) FROM messages WHERE is_compaction)"
        if name == "compactions"
        else f"(SELECT count(*) FROM {name})"
        for name in CONTENT_COUNTS
    )
    row = fetch_rows(store, f"SELECT {parts}")[0]
    return {name: int(n) for name, n in zip(CONTENT_COUNTS, row, strict=True)}


def messages_by_role(store: Store) -> dict[str, int]:
    """How many messages each role has (only roles that occur), by role name."""
    return {str(role): int(n) for role, n in fetch_rows(store, "SELECT role, count(*) FROM messages GROUP BY role")}
