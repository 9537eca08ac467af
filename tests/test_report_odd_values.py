r"""``behest_lab.report.write`` over a store holding odd values (``tests.widgets.odd_values``).

A NUL, ``$\foo$`` and markup are in titles, models, providers and tool names. On both backends: the page is written,
inert, shows each odd value as text (escaped, a NUL as U+2400) and the plain session's values beside them, and its plots
are well-formed SVG.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from behest_lab import Store, open_store
from behest_lab.html import NUL_SHOWN
from behest_lab.report import write
from tests.hostile import assert_inert
from tests.lake.template import lake_store
from tests.widgets.conftest import BACKENDS
from tests.widgets.odd_values import ODD, PLAIN_MODEL, load_odd, model, provider, tool

pytestmark = pytest.mark.filterwarnings("ignore::behest_lab.pricing.UnknownModelWarning")


@pytest.fixture(scope="module", params=BACKENDS)
def odd_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The ``odd_values`` sessions on each backend."""
    folder: Path = tmp_path_factory.mktemp(f"odd-report-{request.param}")
    store = open_store(None) if request.param == "memory" else lake_store(folder / "lake")
    load_odd(store)
    try:
        yield store
    finally:
        store.close()


def test_the_report_shows_odd_values_as_text(odd_store: Store, tmp_path: Path) -> None:
    """The report page is inert and its text holds every odd model, provider and tool name."""
    report = write(odd_store, tmp_path / "report.html")
    page = report.path.read_text(encoding="utf-8")
    text = assert_inert(page).visible  # the page's text as a browser shows it (entities decoded)
    assert "\x00" not in page
    assert "<script" not in page
    assert "<img src=x" not in page
    for name in ODD:
        for value in (model(name), provider(name), tool(name)):
            assert value.replace("\x00", NUL_SHOWN) in text, value
    assert PLAIN_MODEL in text
    assert "search" in text
    images = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(images) == report.images >= 3  # cost, tokens, tools (no compaction here)
    for data in images:
        ET.fromstring(base64.b64decode(data))  # well-formed: no NUL, markup escaped
