"""Odd values on every backend: a refused value changes nothing and leaves the store usable."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from behest_lab import Store
from tests.stores._build import message, session


@pytest.mark.parametrize("metadata", [{"x": math.nan}, {"k\ud800": 1}], ids=["nan", "surrogate-key"])
def test_a_refused_update_changes_nothing_and_the_next_write_works(store: Store, metadata: object) -> None:
    s = session(store, metadata={"kept": True})
    with pytest.raises(ValidationError, match="metadata"):
        store.sessions.update_session(s.id, "new title", metadata=metadata)
    assert store.sessions.get_session(s.id) == s
    updated = store.sessions.update_session(s.id, "next")
    assert store.sessions.get_session(s.id) == updated
    m = store.sessions.append_message(message(s.id, "after"))
    assert store.sessions.list_messages(s.id) == [m]
