"""Two store objects on one folder: what one deletes, the other must not trust from its session cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from behest_lab import AlreadyExistsError, NotFoundError, open_store
from behest_lab.stores.lake import _sql
from behest_lab.stores.lake.engine import SMALL_WRITE_OPTIMIZERS, small_instance
from tests.lake.template import lake_store
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


def test_small_writes_skip_optimizer_passes_but_keep_statistics_pruning(tmp_path: Path) -> None:
    disabled = str(small_instance().execute("SELECT current_setting('disabled_optimizers')").fetchone()[0])
    off = {name.strip() for name in disabled.split(",") if name.strip()}
    assert "expression_rewriter" in off
    assert "join_order" in off
    assert not off & SMALL_WRITE_OPTIMIZERS

    with lake_store(tmp_path / "s") as store:
        s = session(store)
        sent = [store.sessions.append_message(message(s.id, f"m {i}")) for i in range(3)]
        store.compact()  # the rows now live in a Parquet file with min/max statistics
        newer = message(s.id, "not stored")  # a time-ordered id above every stored one
        con = store.sessions._e.small_con
        plan = "".join(
            str(row[1])
            for row in con.execute(
                f"EXPLAIN SELECT 1 FROM {_sql.qualified('messages')} WHERE id = ?::UUID LIMIT 1", [str(newer.id)]
            ).fetchall()
        )
        assert "EMPTY_RESULT" in plan  # pruned by the file's statistics: no file is read
        # and the lookups themselves still answer right on the lean instance
        assert _sql.has_id(con, "messages", str(sent[1].id))
        assert not _sql.has_id(con, "messages", str(newer.id))
        with pytest.raises(AlreadyExistsError):
            store.sessions.append_message(sent[2])
