"""``SurrealSource`` over the ``surrealdb`` package's embedded engine and over a ``surreal export`` file.

Records are created as behest 0.3.1's SurrealDB store creates them: ``create(("sessions", id)).content(json)`` and
``create(("messages", id)).content(json)`` with serde's JSON (RFC 3339 ``Z`` strings, ``null`` metadata kept as
NULL), written here as SurrealQL ``CREATE ... CONTENT`` with hand-written JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from surrealdb import Surreal

from behest_lab.errors import SourceError
from behest_lab.sources.base import Want
from behest_lab.sources.surreal import SurrealSource
from tests.services import free_port

S1 = "01890a5d-ac96-774b-b0a0-000000000001"
S2 = "01890a5d-ac96-774b-b0a0-000000000002"


def _mid(n: int) -> str:
    return f"01890a5d-ac96-774b-a000-{n:012d}"


def _session(title: str, metadata: Any) -> dict[str, Any]:
    return {
        "title": title,
        "model": "gpt-4o",
        "metadata": metadata,
        "created_at": "2026-03-01T10:00:00.123456789Z",
        "updated_at": "2026-03-01T10:00:00.123456789Z",
    }


def _message(sid: str, role: str, created: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "session_id": sid,
        "role": role,
        "content": [{"type": "text", "text": role}],
        "tool_calls": extra.pop("tool_calls", []),
        "usage": extra.pop("usage", None),
        "is_compaction": False,
        "is_summary": False,
    }
    body.update(extra)
    body["created_at"] = created
    return body


def _statements() -> list[str]:
    calls = [{"id": "call_1", "name": "grep", "arguments": {"pattern": "x"}}]
    out = [
        f"CREATE sessions:⟨{S1}⟩ CONTENT {json.dumps(_session('first', {'team': 'a'}))};",
        f"CREATE sessions:⟨{S2}⟩ CONTENT {json.dumps(_session('second', None))};",
    ]
    msgs = [
        (3, _message(S1, "tool", "2026-03-01T10:00:03Z")),
        (1, _message(S1, "user", "2026-03-01T10:00:01Z")),
        (
            2,
            _message(
                S1,
                "assistant",
                "2026-03-01T10:00:02Z",
                tool_calls=calls,
                usage={"input_tokens": 4, "output_tokens": 2, "total_tokens": 6},
            ),
        ),
        (4, _message(S1, "critic", "2026-03-01T10:00:04Z")),
    ]
    out += [f"CREATE messages:⟨{_mid(n)}⟩ CONTENT {json.dumps(body)};" for n, body in msgs]
    return out


def _check(source: SurrealSource) -> None:
    bundles = list(source.bundles())
    by_id = {b.session.id: b for b in bundles if b.session}
    assert set(by_id) == {UUID(S1), UUID(S2)}
    first = by_id[UUID(S1)]
    assert first.session is not None
    assert first.session.metadata == {"team": "a"}
    assert first.session.created_at.nanosecond == 789
    assert by_id[UUID(S2)].session is not None
    assert by_id[UUID(S2)].session.metadata is None
    messages = first.messages
    assert [m.id for m in messages] == [UUID(_mid(n)) for n in (1, 2, 3, 4)]
    assert (messages[2].tool_call_id, messages[2].tool_name) == ("call_1", "grep")  # recovered
    assert messages[1].usage is not None
    assert messages[1].usage.total_tokens == 6
    assert messages[3].role.value == "user"  # unknown role
    assert {p.ref for p in first.provenance} >= {f"sessions:{S1}", f"messages:{_mid(2)}"}


def test_embedded_surrealkv_database(tmp_path: Path) -> None:
    db = Surreal(f"surrealkv://{tmp_path / 'db'}")
    db.use("agents", "prod")
    for statement in _statements():
        db.query(statement)
    db.close()
    with SurrealSource(f"surrealkv://{tmp_path / 'db'}") as source:  # the only namespace and database
        _check(source)
        rows = source.fingerprints().to_pylist()
        assert {(r["table"], r["id"]) for r in rows} >= {("sessions", S1), ("messages", _mid(3))}
        wanted = list(source.read(Want(sessions=frozenset({S2})), _fail))
        assert [str(b.session.id) for b in wanted if b.session] == [S2]


def test_exported_file_with_datetimes(tmp_path: Path) -> None:
    # `surreal export` writes datetimes as d"..." literals: a value behest_lab reads as well as behest's strings
    lines = ["OPTION IMPORT;", "DEFINE TABLE sessions TYPE ANY SCHEMALESS PERMISSIONS NONE;", *_statements()]
    lines.append(f'UPDATE sessions:⟨{S2}⟩ SET updated_at = d"2026-03-02T08:00:00Z";')
    export = tmp_path / "behest.surql"
    export.write_text("\n".join(lines))
    assert SurrealSource.sniff(export)
    with SurrealSource(export) as source:
        _check(source)
        second = next(b.session for b in source.bundles() if b.session and b.session.id == UUID(S2))
        assert second.updated_at.isoformat() == "2026-03-02T08:00:00+00:00"


def test_a_record_that_does_not_decode_is_named(tmp_path: Path) -> None:
    lines = [*_statements(), f"UPDATE sessions:⟨{S1}⟩ SET title = NONE;", "CREATE messages:⟨zzz⟩ CONTENT {};"]
    export = tmp_path / "bad.surql"
    export.write_text("\n".join(lines))
    with SurrealSource(export) as source:
        bad: list[SourceError] = []
        bundles = list(source.read(None, bad.append))
    assert sorted(e.key or "" for e in bad) == ["messages:zzz", f"sessions:{S1}"]
    assert any("title" in str(e) for e in bad)
    assert [str(b.session.id) for b in bundles if b.session] == [S2]


def test_unreachable_server_is_named_without_the_password() -> None:
    url = f"surrealdb://root:pw-8c1d55@127.0.0.1:{free_port()}"
    with pytest.raises(SourceError, match="cannot open") as info:
        SurrealSource(url, namespace="a", database="b")
    assert "pw-8c1d55" not in str(info.value)
    assert info.value.location.startswith("surrealdb://root@127.0.0.1:")


def _fail(exc: SourceError) -> None:
    raise exc
