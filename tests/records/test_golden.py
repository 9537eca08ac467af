"""Hand-written behest serde JSON under ``golden/``: every file loads, and the output is serde's bytes.

File names: ``<Record>.<case>.json`` is already canonical (``model_dump_json()`` must reproduce it byte for byte);
``<Record>.<case>.in.json`` is something behest accepts but would write differently, and
``<Record>.<case>.out.json`` is what serde writes after reading it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import behest_lab.records as records
from behest_lab.records import BehestRecord

GOLDEN = Path(__file__).parent / "golden"


def _record_type(path: Path) -> type[BehestRecord]:
    cls = getattr(records, path.name.split(".")[0])
    assert issubclass(cls, BehestRecord)
    return cls  # type: ignore[no-any-return]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8").removesuffix("\n")


CANONICAL = sorted(p for p in GOLDEN.glob("*.json") if not p.name.endswith((".in.json", ".out.json")))
INPUTS = sorted(GOLDEN.glob("*.in.json"))


def test_golden_files_cover_every_record_type() -> None:
    covered = {p.name.split(".")[0] for p in GOLDEN.glob("*.json")}
    expected = {
        name
        for name in records.__all__
        if isinstance(getattr(records, name), type)
        and issubclass(getattr(records, name), BehestRecord)
        and getattr(records, name) is not BehestRecord  # the base every record type shares
    }
    assert covered == expected


def test_every_input_has_an_output() -> None:
    outputs = {p.name.removesuffix(".out.json") for p in GOLDEN.glob("*.out.json")}
    assert outputs == {p.name.removesuffix(".in.json") for p in INPUTS}
    assert len(CANONICAL) >= 30


@pytest.mark.parametrize("path", CANONICAL, ids=lambda p: p.name)
def test_canonical_round_trip_is_byte_exact(path: Path) -> None:
    text = _text(path)
    record = _record_type(path).model_validate_json(text)
    assert record.model_dump_json() == text
    assert _record_type(path).model_validate_json(record.model_dump_json()) == record


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_accepted_input_is_written_as_serde_would(path: Path) -> None:
    cls = _record_type(path)
    record = cls.model_validate_json(_text(path))
    expected = _text(path.with_name(path.name.removesuffix(".in.json") + ".out.json"))
    assert record.model_dump_json() == expected
    assert cls.model_validate_json(expected) == record


@pytest.mark.parametrize("path", CANONICAL, ids=lambda p: p.name)
def test_from_dict_agrees_with_json(path: Path) -> None:
    cls = _record_type(path)
    text = _text(path)
    assert cls.from_dict(json.loads(text)) == cls.model_validate_json(text)


def test_golden_values_are_read_correctly() -> None:
    """Spot checks that the loaded values (not just the bytes) are what the JSON means."""
    from datetime import UTC, datetime, timedelta

    art = records.Artifact.model_validate_json(_text(GOLDEN / "Artifact.bytes.json"))
    assert art.data == bytes([0, 1, 2, 250, 251, 255])
    ex = records.ToolExecution.model_validate_json(_text(GOLDEN / "ToolExecution.success.json"))
    assert ex.duration == timedelta(milliseconds=1999)
    assert ex.status is records.ToolExecutionStatus.SUCCESS
    s = records.Session.model_validate_json(_text(GOLDEN / "Session.offset.in.json"))
    assert s.created_at == datetime(2023, 6, 29, 13, 6, 40, tzinfo=UTC)
    assert s.updated_at == datetime(2023, 6, 29, 2, 0, 0, 500000, tzinfo=UTC)
    ns = records.Session.model_validate_json(_text(GOLDEN / "Session.nanoseconds.in.json"))
    assert ns.created_at.microsecond == 123456
    assert ns.created_at.nanosecond == 789
    st = records.Session.model_validate_json(_text(GOLDEN / "Session.strings.json"))
    assert st.title == 'ctl \x00\x01\x1f \b\f\n\r\t "q" \\ del:\x7f'
    assert st.model == "unicode \u00e9 \u00df \u4e2d\u6587 \U0001f600 \u2028"
    usage = records.TokenUsage.model_validate_json(_text(GOLDEN / "TokenUsage.v031.json"))
    assert usage.total_tokens == 999  # stored total, never recomputed
    assert usage.cache_creation_input_tokens is None
    assert not usage.has_cache_keys  # written back with its three keys
    msg = records.MessageRecord.model_validate_json(_text(GOLDEN / "MessageRecord.assistant_tool_calls.json"))
    assert [type(p).__name__ for p in msg.content] == ["TextPart", "JsonPart", "ImageUrlPart"]
    assert msg.role is records.MessageRole.ASSISTANT
    part = records.TextPart.model_validate_json(_text(GOLDEN / "TextPart.cache_one_hour.json"))
    assert part.cache_control == records.CacheControl(ttl=records.CacheTtl.ONE_HOUR)
