"""The widgets follow the cost rule of the analytics: a session, a message or a dashboard row with some unpriced
calls shows the priced calls' sum; one without any priced call shows n/a."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from behest_lab import MessageRecord, MessageRole, Session, Store, TextPart, UsageRecord, analytics, open_store
from behest_lab.pricing import UnknownModelWarning
from behest_lab.widgets import SessionBrowser, UsageDashboard
from behest_lab.widgets._html import money

T0 = datetime(2026, 10, 14, 9, tzinfo=UTC)


@pytest.fixture
def mixed() -> Iterator[Store]:
    """Session "mixed": one message with a priced and an unpriced call, one with a priced call; session
    "unknown": one message with an unpriced call only."""
    with open_store(None) as store:
        for title in ("mixed", "unknown"):
            s = store.sessions.create_session(Session(title=title, model="gpt-4o", created_at=T0, updated_at=T0))
            messages = [
                MessageRecord(session_id=s.id, role=MessageRole.ASSISTANT, content=[TextPart(text=f"answer {i}")],
                              created_at=T0 + timedelta(minutes=i))
                for i in range(2 if title == "mixed" else 1)
            ]  # fmt: skip
            store.sessions.append_messages(messages, touch_session=False)
            calls = [("openai", "gpt-4o"), ("acme", "mystery-1"), ("openai", "gpt-4o")] if title == "mixed" else []
            calls = calls or [("acme", "mystery-2")]
            targets = [messages[0], messages[0], messages[-1]][: len(calls)]
            store.executions.record_usages(
                [
                    UsageRecord(session_id=s.id, message_id=m.id, provider=p, model=model, input_tokens=10_000,
                                output_tokens=100, total_tokens=10_100, created_at=m.created_at)
                    for m, (p, model) in zip(targets, calls, strict=True)
                ]
            )  # fmt: skip
        yield store


def test_browser_and_dashboard_show_the_priced_sum(mixed: Store) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownModelWarning)
        per_session = analytics.sessions(mixed, exact=True)
        by_message = analytics.usage(mixed, exact=True)
        cost = dict(zip(per_session["title"], per_session["cost"], strict=True))
        assert cost["mixed"] is not None
        assert cost["mixed"] > 0
        assert cost["unknown"] is None
        ids = dict(zip(per_session["title"], per_session["id"], strict=True))

        b = SessionBrowser(mixed)
        labels = {label.split(" · ")[1]: label for label, _ in b.session_list.options}
        assert f" · {money(cost['mixed'])} · " in labels["mixed"]
        assert " · n/a · " in labels["unknown"]
        b.session_list.value = ids["mixed"]
        assert f"${cost['mixed']:,.4f}" in b.stats.value  # the session's total: the priced calls
        shown = re.findall(r'data-cost="([^"]*)"', b.timeline.value)
        calls = by_message.filter(by_message["session_id"] == ids["mixed"])
        first = calls.filter(calls["message_id"] == calls["message_id"][0])
        assert first["cost"].null_count() == 1
        assert first.height == 2
        priced_first = sum((c for c in first["cost"] if c is not None), Decimal(0))
        assert len(shown) == 2
        assert Decimal(shown[0]) == priced_first
        b.session_list.value = ids["unknown"]
        assert "n/a" in b.stats.value
        assert re.findall(r'data-cost="([^"]*)"', b.timeline.value) == [""]
        b.close()

        d = UsageDashboard(mixed, group="session")
        rows = {r["series"]: r for r in d.frame.iter_rows(named=True)}
        assert (rows[ids["mixed"]]["cost"], rows[ids["mixed"]]["unpriced_requests"]) == (cost["mixed"], 1)
        assert (rows[ids["unknown"]]["cost"], rows[ids["unknown"]]["unpriced_requests"]) == (None, 1)
        assert f"${cost['mixed']:,.4f} (2 unpriced calls left out)" in d.summary.value
        d.close()
