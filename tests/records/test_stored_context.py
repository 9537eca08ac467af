"""Values read back from a store (``records.STORED``) skip the walks writing already did, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from behest_lab.records import STORED, Instant, Session


def _session(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "id": "0190b1a0-0000-7000-8000-000000000001",
        "title": "t",
        "model": "m",
        "created_at": Instant(2026, 1, 2, tzinfo=UTC, nanosecond=5),
        "updated_at": Instant(2026, 1, 2, tzinfo=UTC, nanosecond=5),
        "metadata": {"a": [1, 2]},
    }
    values.update(changes)
    return values


def test_a_stored_value_is_not_walked_again_but_a_new_one_is() -> None:
    deep: object = 1
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ValidationError, match="nested deeper"):
        Session.model_validate(_session(metadata=deep))
    assert Session.model_validate(_session(metadata=deep), context=STORED).metadata == deep


def test_a_stored_value_of_the_wrong_type_still_fails_by_name() -> None:
    with pytest.raises(ValidationError, match="created_at"):
        Session.model_validate(_session(created_at=3), context=STORED)
    with pytest.raises(ValidationError, match="title"):
        Session.model_validate(_session(title=None), context=STORED)


def test_a_utc_instant_is_kept_as_it_is_and_other_times_become_one() -> None:
    stored = Session.model_validate(_session(), context=STORED)
    assert stored.created_at.nanosecond == 5
    assert stored.created_at.tzinfo is UTC
    plain = Session.model_validate(_session(created_at=datetime(2026, 1, 2, 1, tzinfo=UTC)))
    assert type(plain.created_at) is Instant
    assert plain.created_at.tzinfo is UTC
