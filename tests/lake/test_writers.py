"""Two store objects on one folder: what one deletes, the other must not trust from its session cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from behest_lab import NotFoundError, open_store
from tests.stores._build import execution, message, session, usage


def test_a_session_deleted_by_another_store_is_not_trusted(tmp_path: Path) -> None:
    with open_store(tmp_path / "s") as a, open_store(tmp_path / "s") as b:
        s = session(a)
        first = a.sessions.append_message(message(s.id))
        b.sessions.delete_session(s.id)
        with pytest.raises(NotFoundError):
            a.sessions.append_message(message(s.id))
        with pytest.raises(NotFoundError):
            a.executions.record_usage(usage(s.id))
        with pytest.raises(NotFoundError):
            a.executions.record_execution(execution(s.id, first.id))
        assert a.sessions.list_messages(s.id) == []
        assert a.sessions.get_session(s.id) is None
