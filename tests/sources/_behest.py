"""A behest SQLite database written with the statements behest's ``SqlSessionStore``/``SqlExecutionStore`` run.

The schema comes from behest's migrations (``tests.interchange._behest_db``); each method below is the SQL of one
behest store call (``create_session``, ``append_message`` with its ``updated_at`` touch, ``update_usage``,
``update_session``, ``record_execution``, ``record_usage``, the cascading ``delete_session``), with values in
behest's text shapes (``to_rfc3339()`` timestamps with ``+00:00``, JSON text, 0/1 flags).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.interchange._behest_db import behest_db

_ids = itertools.count(1)


def new_id(kind: int = 0) -> str:
    """A fresh lowercase UUID text (behest writes v7 ids; any UUID text is what its column holds)."""
    return f"0190a5d0-0000-7{kind:03x}-8000-{next(_ids):012x}"


def stamp(seconds: int) -> str:
    """``to_rfc3339()`` text of 2025-03-01T12:00:00Z plus ``seconds``."""
    t = datetime(2025, 3, 1, 12, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=123456)
    return t.isoformat()


class BehestSqlite:
    """behest's SQL store calls as the statements it runs (autocommit: each call is its own transaction)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.con: sqlite3.Connection = (
            behest_db(path) if not path.exists() else sqlite3.connect(path, isolation_level=None)
        )
        self.con.execute("PRAGMA foreign_keys=ON")
        self.clock = 0

    def _now(self) -> str:
        self.clock += 1
        return stamp(self.clock)

    def create_session(self, title: str = "t", model: str = "gpt-4") -> str:
        sid = new_id(1)
        now = self._now()
        self.con.execute(
            "INSERT INTO sessions (id, title, model, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (sid, title, model, "null", now, now),
        )
        return sid

    def append_message(
        self, session_id: str, role: str = "user", text: str = "hi", tool_calls: list[Any] | None = None
    ) -> str:
        mid = new_id(2)
        outer = self.con.in_transaction
        if not outer:
            self.con.execute("BEGIN")
        self.con.execute(
            "INSERT INTO messages (id, session_id, role, content, tool_calls, usage, created_at, is_compaction, "
            "is_summary, compaction_meta) VALUES (?, ?, ?, ?, ?, NULL, ?, 0, 0, NULL)",
            (
                mid,
                session_id,
                role,
                json.dumps([{"type": "text", "text": text}]),
                json.dumps(tool_calls or []),
                self._now(),
            ),
        )
        self.con.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (self._now(), session_id))
        if not outer:
            self.con.execute("COMMIT")
        return mid

    def update_usage(self, message_id: str, input_tokens: int, output_tokens: int) -> None:
        usage = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }
        self.con.execute("UPDATE messages SET usage = ? WHERE id = ?", (json.dumps(usage), message_id))

    def update_session(self, session_id: str, title: str, model: str | None = None) -> None:
        if model is None:
            self.con.execute(
                "UPDATE sessions SET title = ?, updated_at = ? WHERE id = ?", (title, self._now(), session_id)
            )
        else:
            self.con.execute(
                "UPDATE sessions SET title = ?, model = ?, updated_at = ? WHERE id = ?",
                (title, model, self._now(), session_id),
            )

    def record_execution(
        self, session_id: str, message_id: str, call_id: str = "call-1", status: str = "pending", ms: int = 0
    ) -> str:
        eid = new_id(3)
        self.con.execute(
            "INSERT INTO tool_executions (id, session_id, message_id, call_id, tool_name, arguments, result, status, "
            "error, duration_ms, created_at) VALUES (?, ?, ?, ?, 'search', '{\"q\":\"x\"}', NULL, ?, NULL, ?, ?)",
            (eid, session_id, message_id, call_id, status, ms, self._now()),
        )
        return eid

    def finish_execution(self, execution_id: str, result: Any, ms: int) -> None:
        """The same execution written again when it finished (same id, new status, result and duration)."""
        self.con.execute(
            "UPDATE tool_executions SET status = 'success', result = ?, duration_ms = ? WHERE id = ?",
            (json.dumps(result), ms, execution_id),
        )

    def record_usage(self, session_id: str, message_id: str, tokens: int = 10) -> str:
        uid = new_id(4)
        self.con.execute(
            "INSERT INTO usage_records (id, session_id, message_id, provider, model, input_tokens, output_tokens, "
            "total_tokens, created_at) VALUES (?, ?, ?, 'openai', 'gpt-4', ?, 5, ?, ?)",
            (uid, session_id, message_id, tokens, tokens + 5, self._now()),
        )
        return uid

    def delete_session(self, session_id: str) -> None:
        self.con.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def conversation(self, turns: int = 2) -> str:
        """A session with user / assistant-with-tool-call / tool-result turns, executions and usage records."""
        sid = self.create_session(title="conversation")
        for t in range(turns):
            self.append_message(sid, "user", f"question {t}")
            call = {"id": f"call-{t}", "name": "search", "arguments": {"q": t}}
            aid = self.append_message(sid, "assistant", "", [call])
            self.record_execution(sid, aid, call_id=f"call-{t}", status="success", ms=12)
            self.append_message(sid, "tool", f"result {t}")
            self.record_usage(sid, aid)
        return sid

    def close(self) -> None:
        self.con.close()
