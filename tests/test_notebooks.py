"""The notebooks under ``notebooks/``: committed cleanly, and their widgets show what the text says.

nbval (configured in ``pyproject.toml``) re-runs every notebook and compares the cells marked
``# NBVAL_CHECK_OUTPUT`` with their committed outputs. It cannot see inside widgets, so the notebooks with widgets
are also executed here with nbclient, which records the widget state, and that state is checked against the sample
data loaded independently. The static checks read the committed files: executed, no errors, the ``python3``
kernel, no absolute paths of this machine.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbval.plugin import get_sanitize_patterns

import behest_lab
from behest_lab import Store, compaction_pairs
from behest_lab.interchange import import_jsonl
from behest_lab.widgets import TIMELINE_PAGE

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SAMPLE = ROOT / "data" / "sample.jsonl"
TUTORIALS = (
    "01_quickstart",
    "02_browse_sessions",
    "03_costs_and_usage",
    "04_tool_performance",
    "05_semantic_search",
    "06_import_from_behest",
    "07_sync_from_behest",
    "08_your_agent_logs",
)
ALL_NOTEBOOKS = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
OWN = [f"{name}.ipynb" for name in TUTORIALS] + ["browser_check.ipynb"]
# Paths of this machine that must never end up in a committed notebook (they would show on GitHub and make the
# notebook depend on where it was run).
MACHINE_PATHS = sorted(
    {str(p) for p in (ROOT, Path.home(), Path(sys.prefix), Path(tempfile.gettempdir())) if len(p.parts) > 1},
    key=len,
    reverse=True,
)


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def _output_texts(cell: nbformat.NotebookNode) -> Iterator[str]:
    for out in cell.get("outputs", []):
        if "text" in out:
            yield str(out["text"])
        for mime, value in out.get("data", {}).items():
            if mime.startswith("text/") or mime.endswith("json"):
                yield value if isinstance(value, str) else str(value)


# --- what is committed ------------------------------------------------------------------------------------------


def test_every_tutorial_and_the_browser_check_is_committed() -> None:
    assert set(OWN) <= set(ALL_NOTEBOOKS), sorted(set(OWN) - set(ALL_NOTEBOOKS))


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_committed_without_errors_with_the_python3_kernel(name: str) -> None:
    nb = _read(name)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", nb.metadata.get("kernelspec")
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{name} cell {i}: {out.get('ename')}: {out.get('evalue')}"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), f"{name} cell {i}: {out['text']}"


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_no_absolute_paths_of_this_machine(name: str) -> None:
    nb = _read(name)
    for i, cell in enumerate(nb.cells):
        for text in [cell.source, *_output_texts(cell)]:
            for path in MACHINE_PATHS:
                assert path + "/" not in text, f"{name} cell {i} mentions {path}"
                assert not text.endswith(path), f"{name} cell {i} mentions {path}"


@pytest.mark.parametrize("name", OWN)
def test_stored_with_outputs_run_in_order(name: str) -> None:
    """Outputs show on GitHub: every code cell ran, top to bottom in one kernel; no widget state (small diffs)."""
    nb = _read(name)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), counts
    assert "widgets" not in nb.metadata


@pytest.mark.parametrize("name", [f"{t}.ipynb" for t in TUTORIALS])
def test_checked_cells_have_reference_outputs(name: str) -> None:
    checked = [c for c in _read(name).cells if c.cell_type == "code" and "# NBVAL_CHECK_OUTPUT" in c.source]
    assert checked, f"{name} has no cell whose output nbval compares"
    for cell in checked:
        assert cell.outputs, f"{name}: checked cell without a stored output:\n{cell.source}"


# 07 builds its own behest database (the one it syncs from), as behest writes it
@pytest.mark.parametrize("name", [f"{t}.ipynb" for t in TUTORIALS if t != "07_sync_from_behest"])
def test_tutorials_read_the_committed_sample(name: str) -> None:
    source = "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")
    assert '"../data"' in source


def test_python3_kernel_is_the_one_this_environment_installs() -> None:
    """``pip install`` of ipykernel puts the ``python3`` kernelspec into the environment, so a fresh ``make install``
    gives the kernel the notebooks name; its ``python`` argv runs this interpreter."""
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.language == "python"
    assert spec.argv[:3] in (["python", "-m", "ipykernel_launcher"], [sys.executable, "-m", "ipykernel_launcher"])


def test_sanitize_file_masks_only_volatile_values() -> None:
    patterns = get_sanitize_patterns((ROOT / "tests" / "nbval_sanitize.cfg").read_text())
    assert len(patterns) >= 3

    def sanitize(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    volatile = "priced 2026-11-26 15:12:57.016017 UTC id 01a2e000-0000-7000-8000-00000000bad1 <object at 0x7f3a2b>"
    assert sanitize(volatile) == "priced TIMESTAMP id UUID <object at 0xADDRESS>"
    stable = "openai       550 calls  $   6.91  (53%) on 2026-10-01"
    assert sanitize(stable) == stable


# --- what the widgets show -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> Iterator[Store]:
    """The committed sample, loaded here independently of the notebooks and the widgets."""
    with behest_lab.open_store(None) as store:
        import_jsonl(store, SAMPLE, progress=False)
        yield store


@pytest.fixture(scope="module")
def executed() -> dict[str, nbformat.NotebookNode]:
    """The notebooks with widgets, executed by nbclient with their widget state recorded (concurrently: each runs
    in its own kernel, and most of the time goes to kernel start-up and imports)."""
    names = ("02_browse_sessions.ipynb", "04_tool_performance.ipynb")
    notebooks = {name: _read(name) for name in names}
    clients = [
        NotebookClient(
            nb,
            timeout=120,
            kernel_name="python3",
            store_widget_state=True,
            resources={"metadata": {"path": str(NOTEBOOKS)}},
        )
        for nb in notebooks.values()
    ]

    async def run_all() -> None:
        await asyncio.gather(*(client.async_execute() for client in clients))

    asyncio.run(run_all())
    return notebooks


def _models(nb: nbformat.NotebookNode, css_class: str) -> list[dict[str, Any]]:
    """The state of every widget carrying ``css_class``."""
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return [m["state"] for m in state.values() if css_class in m["state"].get("_dom_classes", [])]


def _one(nb: nbformat.NotebookNode, css_class: str) -> dict[str, Any]:
    models = _models(nb, css_class)
    assert len(models) == 1, f"{len(models)} widgets with class {css_class}"
    return models[0]


def _shown_message_ids(timeline_html: str) -> list[str]:
    return re.findall(r'<div class="behest-msg [^"]*" data-message-id="([0-9a-f-]{36})"', timeline_html)


def _check_timeline(nb: nbformat.NotebookNode, sample: Store, session_id: str) -> None:
    """The browser of ``nb`` lists ``session_id`` as its selection and shows its first messages, text escaped."""
    session = sample.sessions.get_session(UUID(session_id))
    assert session is not None
    listed = _one(nb, "behest-session-list")
    label = listed["_options_labels"][listed["index"]]
    assert session.title[:40] in label
    timeline = _one(nb, "behest-timeline")["value"]
    messages = sample.sessions.list_messages(UUID(session_id))
    first_page = messages[:TIMELINE_PAGE]
    assert _shown_message_ids(timeline) == [str(m.id) for m in first_page]
    for m in first_page:
        for part in m.content:
            text = getattr(part, "text", None)
            if text:
                assert html.escape(text, quote=True) in timeline


@pytest.mark.slow
def test_02_browser_shows_the_longest_compacted_session(
    sample: Store, executed: dict[str, nbformat.NotebookNode]
) -> None:
    nb = executed["02_browse_sessions.ipynb"]
    # independently: the sessions with a compaction pair, the longest first (ties: smaller id)
    compacted = []
    for s in sample.sessions.list_sessions():
        messages = sample.sessions.list_messages(s.id)
        if compaction_pairs(messages):
            compacted.append((-len(messages), str(s.id), s, messages))
    assert compacted, "the sample has no compacted session"
    _, sid, session, messages = min(compacted, key=lambda t: (t[0], t[1]))
    _check_timeline(nb, sample, sid)

    printed = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs if o["output_type"] == "stream"
    )
    assert f"{session.title!r}: {len(messages)} messages" in printed
    assert f"{len(messages)} messages stored" in printed
    assert f"instead of {len(messages)}" in printed


@pytest.mark.slow
def test_04_explorer_opens_the_slowest_call_in_the_browser(
    sample: Store, executed: dict[str, nbformat.NotebookNode]
) -> None:
    nb = executed["04_tool_performance.ipynb"]
    executions = [e for s in sample.sessions.list_sessions() for e in sample.executions.list_executions(s.id)]
    finished = [e for e in executions if e.status.value != "pending"]
    slowest = min(finished, key=lambda e: (-e.duration, str(e.id)))
    _check_timeline(nb, sample, str(slowest.session_id))
    calls = _one(nb, "behest-slowest-calls")
    assert calls["index"] == 0
    assert calls["_options_labels"][0].startswith(f"{slowest.duration.total_seconds() * 1000:,.1f} ms · ")
