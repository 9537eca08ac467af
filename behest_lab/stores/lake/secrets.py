"""DuckDB secrets the lake engines create, counted so that no credential outlives the stores that needed them.

Secrets live in a DuckDB instance, not in a connection, and behest_lab shares its instances between stores (see
``engine.shared_instance`` / ``small_instance``). Each engine records the ``behest_*`` secrets it created in each
instance; the last engine to release a name drops it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

import duckdb

# (id of the instance's process-wide connection, secret name) -> how many engines use it
_users: dict[tuple[int, str], int] = {}
_lock = threading.Lock()
_NAME = re.compile(r"^CREATE OR REPLACE SECRET (behest_\w+) ")


class HeldSecrets:
    """The ``behest_*`` secrets one engine created, per DuckDB instance."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[duckdb.DuckDBPyConnection, list[str]]] = {}

    def create(
        self,
        con: duckdb.DuckDBPyConnection,
        instance: duckdb.DuckDBPyConnection,
        statements: Sequence[str],
        fail: Callable[[duckdb.Error], BaseException],
    ) -> None:
        """Run ``CREATE SECRET`` statements on ``con`` (a cursor of ``instance``).

        This holder counts as a user of each named ``behest_*`` secret; a failing statement raises ``fail(error)``.
        Empty statements are skipped.
        """
        for statement in statements:
            if not statement:
                continue
            match = _NAME.match(statement)
            with _lock:  # a concurrent release must not drop the secret between its creation and our count
                try:
                    con.execute(statement)
                except duckdb.Error as exc:
                    raise fail(exc) from None
                if match is None:
                    continue
                _, names = self._held.setdefault(id(instance), (instance, []))
                if match[1] not in names:
                    names.append(match[1])
                    key = (id(instance), match[1])
                    _users[key] = _users.get(key, 0) + 1

    def release(self, instance: duckdb.DuckDBPyConnection) -> None:
        """This holder no longer uses its secrets in ``instance``: drop those no other holder uses."""
        held = self._held.pop(id(instance), None)
        if held is None:
            return
        with _lock:
            drop: list[str] = []
            for name in held[1]:
                key = (id(instance), name)
                left = _users.get(key, 1) - 1
                if left > 0:
                    _users[key] = left
                else:
                    _users.pop(key, None)
                    drop.append(name)
            if drop:
                cur = instance.cursor()
                try:
                    for name in drop:
                        cur.execute(f"DROP SECRET IF EXISTS {name}")
                finally:
                    cur.close()
