"""What reading ``_behest_sql.sample()`` back must give, on any of behest's SQL backends, and the servers' fixtures.

The MariaDB fixture lives here (imported by the test modules that use it); PostgreSQL's is ``pg_server`` from
``tests/conftest.py``. Under ``CI=true`` a missing server fails; elsewhere its tests skip, saying why.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from behest_lab.errors import SourceError
from behest_lab.interchange import Bundle
from behest_lab.records import MessageRole, ToolExecutionStatus
from tests.conftest import skip_or_fail
from tests.sources import _behest_sql as b
from tests.sources._mariadb import MariaDBServer, missing


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    """A MariaDB server for this test session; skipped (failed on CI) when MariaDB is not installed."""
    reason = missing()
    if reason is not None:
        skip_or_fail(f"the MySQL-source tests did not run: {reason}")
    server = MariaDBServer().start()
    try:
        yield server
    finally:
        server.stop()


def read_all(source: Any) -> tuple[list[Bundle], list[SourceError]]:
    """``source.read(None, ...)`` with bad rows collected."""
    bad: list[SourceError] = []
    return list(source.read(None, bad.append)), bad


def _t(micros: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 1, 10, minute, 0, micros, tzinfo=UTC)


def check_sample(bundles: list[Bundle], *, kind: str, location: str, password: str, provenance: bool = True) -> None:
    """The records read from the sample are the ones behest's readers give, with behest_lab's recoveries."""
    by_id = {str(x.session.id): x for x in bundles if x.session is not None}
    assert set(by_id) == {b.SA, b.SB}
    a, bb = by_id[b.SA], by_id[b.SB]

    s = a.session
    assert s is not None
    assert (s.title, s.model, s.metadata) == ("Agent Run", "gpt-4o", {"team": "search", "n": 1})
    assert s.created_at == _t(1)
    assert s.updated_at == datetime(2026, 3, 1, 10, 5, 0, 999999, tzinfo=UTC)
    assert bb.session is not None
    assert bb.session.metadata is None
    assert bb.session.title == ""
    assert bb.messages == []
    assert bb.executions == []

    ms = a.messages
    assert [str(m.id) for m in ms] == b.M[:9]  # created_at order
    assert [m.role for m in ms] == [
        MessageRole.SYSTEM,
        MessageRole.USER,
        MessageRole.ASSISTANT,
        MessageRole.TOOL,
        MessageRole.TOOL,
        MessageRole.ASSISTANT,
        MessageRole.USER,  # 'narrator': unknown roles read as user, as behest's SQL reader does
        MessageRole.USER,
        MessageRole.ASSISTANT,
    ]
    assert ms[1].content[0].text == 'find "rust" 🦀'  # type: ignore[union-attr]
    # tool-result ids: no column in behest's schema, recovered from the assistant's calls in order
    assert (ms[3].tool_call_id, ms[3].tool_name) == ("call_1", "search")
    assert (ms[4].tool_call_id, ms[4].tool_name) == ("call_2", "fetch")
    assert ms[2].tool_calls[1].arguments == {"url": "https://x.test/a?b=1&c='q'"}
    assert ms[3].content[0].value == {"hits": [1, 2.5, None]}  # type: ignore[union-attr]
    u2, u5 = ms[2].usage, ms[5].usage
    assert u2 is not None
    assert (u2.total_tokens, u2.cache_read_input_tokens, u2.has_cache_keys) == (150, 100, True)
    assert u5 is not None
    assert (u5.total_tokens, u5.has_cache_keys) == (12, False)
    assert ms[5].content[0].cache_control is not None
    assert ms[7].is_compaction
    assert not ms[7].is_summary
    assert ms[8].is_summary
    assert ms[8].compaction_meta is not None
    assert ms[8].compaction_meta.summary_text == "sum"
    assert str(ms[8].compaction_meta.tail_start_id) == b.M[4]
    assert ms[6].content[0].url == "https://x.test/i.png"  # type: ignore[union-attr]
    assert ms[1].created_at == _t(20)

    ex = {str(e.id): e for e in a.executions}
    assert ex[b.E[0]].status is ToolExecutionStatus.SUCCESS
    assert ex[b.E[0]].result == {"hits": 2}
    assert ex[b.E[0]].duration_ms == 1500
    assert ex[b.E[1]].status is ToolExecutionStatus.FAILED
    assert ex[b.E[1]].error == "boom: 'quoted'"
    assert ex[b.E[1]].result is None
    assert not ex[b.E[1]].result_null
    assert ex[b.E[2]].result is None
    assert ex[b.E[2]].result_null
    assert ex[b.E[3]].status is ToolExecutionStatus.PENDING  # unknown status 'timed_out' reads as pending
    assert ex[b.E[3]].arguments == [1]

    us = {str(u.id): u for u in a.usage}
    assert us[b.U[0]].total_tokens == 150
    assert us[b.U[0]].created_at == _t(31)
    assert us[b.U[1]].total_tokens == (1 << 63) + 5  # wrapped negative in SQL, read back as u64

    if kind == "postgresql":
        assert [str(e.id) for e in a.embeddings] == [b.V[0]]
        vec = a.embeddings[0].vector
        assert np.array_equal(np.asarray(vec, np.float32), np.array([0.1, -0.25, 3.5e-05], np.float32))
        unowned = [x for x in bundles if x.session is None]
        assert len(unowned) == 1
        assert [str(e.id) for e in unowned[0].embeddings] == [b.V[1]]
        assert unowned[0].embeddings[0].vector == [1.0, 0.0, 0.0]
    else:
        assert all(x.session is not None for x in bundles)
        assert a.embeddings == []

    # provenance: one entry per record, secret-free
    for x in bundles if provenance else []:
        records: list[Any] = [x.session] if x.session is not None else []
        records += [*x.messages, *x.executions, *x.usage, *x.embeddings]
        assert {p.record_id for p in x.provenance} == {r.id for r in records}
        for p in x.provenance:
            assert p.source == kind
            assert p.location == location
            assert password not in p.location
            assert p.ref == f"{p.table}:{p.record_id}"
