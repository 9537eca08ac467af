"""Rules shared by every backend: argument checks, metadata containment, ordering keys, stats."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from behest_lab.errors import AlreadyExistsError
from behest_lab.records import (
    Pagination,
    Session,
    SessionFilter,
    SessionStats,
    ToolExecution,
    ToolExecutionStatus,
    UsageRecord,
)

T = TypeVar("T")


def check_type(value: Any, cls: type[T], argument: str) -> T:
    """``value`` if it is a ``cls``; a ``TypeError`` naming the argument otherwise."""
    if not isinstance(value, cls):
        raise TypeError(f"{argument} must be a {cls.__name__}, got {type(value).__name__}")
    return value


def check_batch(values: Sequence[Any], cls: type[T], argument: str) -> list[T]:
    """Every element is a ``cls`` and no id appears twice in the batch."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | Iterable):
        raise TypeError(f"{argument} must be a sequence of {cls.__name__}")
    out = [check_type(v, cls, f"{argument}[{i}]") for i, v in enumerate(values)]
    seen: set[UUID] = set()
    for v in out:
        id_ = v.id  # type: ignore[attr-defined]
        if id_ in seen:
            raise AlreadyExistsError(id_, f"{cls.__name__} (twice in the batch)")
        seen.add(id_)
    return out


def json_equal(a: Any, b: Any) -> bool:
    """JSON value equality: numbers by value, booleans only equal booleans, objects order-insensitive."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def metadata_contains(metadata: Any, pattern: Any) -> bool:
    """Containment: every key of ``pattern`` is in ``metadata`` with an equal value, recursively for objects."""
    if isinstance(pattern, dict):
        return isinstance(metadata, dict) and all(
            k in metadata and metadata_contains(metadata[k], v) for k, v in pattern.items()
        )
    return json_equal(metadata, pattern)


def session_order_key(s: Session) -> tuple[Any, int]:
    """Sort key for ``list_sessions`` with ``reverse=True``: newest ``updated_at`` first, ties by larger id."""
    return (s.updated_at, s.id.int)


def filter_and_page(sessions: Iterable[Session], pagination: Pagination, flt: SessionFilter) -> list[Session]:
    """``list_sessions_paginated`` over already ordered sessions."""
    check_type(pagination, Pagination, "pagination")
    check_type(flt, SessionFilter, "filter")
    if pagination.limit == 0:
        return []
    kept = [
        s
        for s in sessions
        if (flt.created_after is None or s.created_at >= flt.created_after)
        and (flt.created_before is None or s.created_at < flt.created_before)
        and (flt.metadata_filter is None or metadata_contains(s.metadata, flt.metadata_filter))
    ]
    return kept[pagination.offset : pagination.offset + pagination.limit]


def page(items: list[T], pagination: Pagination) -> list[T]:
    """Skip ``offset``, take ``limit``."""
    check_type(pagination, Pagination, "pagination")
    return items[pagination.offset : pagination.offset + pagination.limit]


def compute_stats(
    session_id: UUID,
    message_count: int,
    executions: Iterable[ToolExecution],
    usage: Iterable[UsageRecord],
) -> SessionStats:
    """``session_stats`` from the session's records (the same rule on every backend)."""
    calls = success = failed = total_ms = 0
    for e in executions:
        calls += 1
        total_ms += e.duration_ms
        if e.status is ToolExecutionStatus.SUCCESS:
            success += 1
        elif e.status is ToolExecutionStatus.FAILED:
            failed += 1
    tin = tout = tot = 0
    for u in usage:
        tin += u.input_tokens
        tout += u.output_tokens
        tot += u.total_tokens
    return SessionStats(
        session_id=session_id,
        message_count=message_count,
        tool_call_count=calls,
        tool_success_count=success,
        tool_failure_count=failed,
        total_input_tokens=tin,
        total_output_tokens=tout,
        total_tokens=tot,
        avg_tool_duration_ms=total_ms // calls if calls else 0,
    )
