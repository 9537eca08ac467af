"""Reading a whole store in bounded batches, session by session, through ``store.sql`` and the table converters.

Sessions come in ``(created_at, id)`` order; each with its messages (``created_at``, then append order),
tool executions, usage records, embeddings and artifacts (each by ``created_at``, then id). Embeddings and
artifacts that belong to no stored session come last, in a bundle whose ``session`` is None. The order depends only
on the data, so exporting the same records twice gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from behest_lab.interchange.bundle import Bundle
from behest_lab.records import Artifact
from behest_lab.stores import tables
from behest_lab.stores.protocols import Store

#: Rows per query for the records that belong to no session.
_PAGE = 1000


def _rows(store: Store, query: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    rel = store.sql(query, params)
    names = [d[0] for d in rel.description]
    return [dict(zip(names, r, strict=True)) for r in rel.fetchall()]


def count(store: Store, table: str) -> int:
    """Rows of ``table``."""
    row = store.sql(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _by_session(
    store: Store, table: str, order: str, ids: list[str], convert: Callable[[dict[str, Any]], Any]
) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    query = f"SELECT * FROM {table} WHERE session_id IN (SELECT CAST(unnest(?) AS UUID)) ORDER BY session_id, {order}"
    for row in _rows(store, query, [ids]):
        grouped.setdefault(str(row["session_id"]), []).append(convert(row))
    return grouped


def _artifacts(store: Store, ids: list[Any]) -> list[Artifact]:
    out = []
    for id_ in ids:
        a = store.artifacts.get(id_)
        if a is not None:  # deleted by another writer since the query: nothing to export
            out.append(a)
    return out


def iter_bundles(store: Store, *, batch_sessions: int = 50) -> Iterator[Bundle]:
    """Every record of ``store``, one ``Bundle`` per session, reading ``batch_sessions`` sessions per query."""
    if batch_sessions < 1:
        raise ValueError("batch_sessions must be at least 1")
    last: tuple[Any, Any] | None = None
    while True:
        after = (None, None, None, None) if last is None else (last[0], last[0], last[0], last[1])
        page = _rows(
            store,
            "SELECT * FROM sessions WHERE ?::TIMESTAMPTZ IS NULL OR created_at > ? OR (created_at = ? AND id > ?) "
            "ORDER BY created_at, id LIMIT ?",
            [*after, batch_sessions],
        )
        if not page:
            break
        last = (page[-1]["created_at"], page[-1]["id"])
        ids = [str(r["id"]) for r in page]
        messages = _by_session(
            store, "messages", "created_at, created_at_ns NULLS FIRST, seq", ids, tables.message_from_row
        )
        executions = _by_session(
            store, "tool_executions", "created_at, created_at_ns NULLS FIRST, id", ids, tables.execution_from_row
        )
        usage = _by_session(
            store, "usage_records", "created_at, created_at_ns NULLS FIRST, id", ids, tables.usage_from_row
        )
        embeddings = _by_session(
            store, "embeddings", "created_at, created_at_ns NULLS FIRST, id", ids, tables.embedding_from_row
        )
        artifact_ids = _by_session(
            store, "artifacts", "created_at, created_at_ns NULLS FIRST, id", ids, lambda r: r["id"]
        )
        for row, sid in zip(page, ids, strict=True):
            yield Bundle(
                session=tables.session_from_row(row),
                messages=messages.get(sid, []),
                executions=executions.get(sid, []),
                usage=usage.get(sid, []),
                embeddings=embeddings.get(sid, []),
                artifacts=_artifacts(store, artifact_ids.get(sid, [])),
            )
    yield from _unowned(store)


def _unowned(store: Store) -> Iterator[Bundle]:
    where = "WHERE session_id IS NULL OR session_id NOT IN (SELECT id FROM sessions) ORDER BY created_at, id"
    offset = 0
    while True:
        rows = _rows(store, f"SELECT * FROM embeddings {where} LIMIT ? OFFSET ?", [_PAGE, offset])
        if not rows:
            break
        offset += len(rows)
        yield Bundle(session=None, embeddings=[tables.embedding_from_row(r) for r in rows])
    offset = 0
    while True:
        rows = _rows(store, f"SELECT id FROM artifacts {where} LIMIT ? OFFSET ?", [_PAGE, offset])
        if not rows:
            break
        offset += len(rows)
        yield Bundle(session=None, artifacts=_artifacts(store, [r["id"] for r in rows]))
