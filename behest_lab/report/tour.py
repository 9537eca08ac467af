"""The tour report: execute ``notebooks/00_tour.ipynb`` against a store and write it as one self-contained HTML file.

``build_report(store_path, "build/report.html")`` runs the notebook with nbclient in a fresh kernel (the store path
goes in the environment variable ``BEHEST_LAB_STORE``; without one the notebook loads ``data/sample.jsonl`` into a
memory store) and converts it with nbconvert's ``HTMLExporter`` (lab template). The page works offline and loads
nothing: plots are PNG data URIs, the CSS is inlined, and the template drops the script tags nbconvert would point
at CDNs (require.js, MathJax, mermaid, the widget manager). Each PNG output becomes an ``<img>`` with a
``data:image/png;base64,...`` source and the ``alt`` text of the output's ``image/png`` metadata (the tour uses the
plot's title). ``external_references(html)`` lists any http(s) resource a page still refers to (there must be none).

Stored text: the tour writes every stored value into its Markdown through ``behest_lab.html.esc_markdown`` (escaped
and Markdown-inert), polars escapes the tables it displays, and the page carries the same Content-Security-Policy as
``behest_lab.report.write`` (``behest_lab.report.page.CSP``: no script runs, nothing loads).

Needs the ``notebook`` extra (ipykernel, nbclient, nbconvert); ``behest-lab demo`` calls this after its summary.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from behest_lab.errors import ReportError
from behest_lab.report.page import CSP_META, Report, external_references, write_atomically

STORE_ENV = "BEHEST_LAB_STORE"
"""Environment variable the tour notebook reads the store path from."""

TOUR_NOTEBOOK = Path(__file__).resolve().parent.parent.parent / "notebooks" / "00_tour.ipynb"
"""The tour notebook of the source tree (the package is installed in editable mode from it)."""

DEFAULT_OUTPUT = Path("build") / "report.html"
"""Where ``behest-lab demo`` writes the report unless told otherwise."""

DEFAULT_TIMEOUT = 600
"""Seconds one notebook cell may run before the report fails."""

# The lab template without the <script> tags that point at CDNs; the tour has no widgets and no math or mermaid.
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block data_png scoped -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}" \
alt="{{ ((output | get_metadata('alt', 'image/png')) or 'plot') | escape_html }}">
</div>
{%- endblock data_png -%}
"""
_TEMPLATE_NAME = "behest_report.html.j2"

# CSS comments of the inlined JupyterLab theme cite web pages; they are no resources, but leaving them out keeps the
# page free of any http(s) text a strict offline check would trip over.
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_HEAD = re.compile(r"<head[^>]*>", re.IGNORECASE)
_STYLE = re.compile(r"(<style[^>]*>)(.*?)(</style>)", re.DOTALL | re.IGNORECASE)

PNG_IMAGE = re.compile(r"""<img\b[^>]*\bsrc="data:image/png;base64,""", re.IGNORECASE)
"""An ``<img>`` tag with an embedded PNG (nbconvert writes the attributes in alphabetical order: ``alt`` first)."""


def execute_notebook(
    notebook: str | os.PathLike[str] = TOUR_NOTEBOOK,
    *,
    store: str | os.PathLike[str] | None = None,
    timeout: int = DEFAULT_TIMEOUT,
) -> Any:
    """Run every cell of ``notebook`` in a new kernel started in the notebook's folder.

    Args:
        notebook: the ``.ipynb`` file.
        store: store folder passed to the kernel as ``BEHEST_LAB_STORE`` (made absolute); ``None`` leaves the
            variable unset (the tour then loads the committed sample).
        timeout: seconds per cell.

    Returns:
        The executed ``nbformat.NotebookNode``.

    Raises:
        ReportError: the notebook is missing or a cell raised (the message names the cell and the error).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(notebook)
    if not path.is_file():
        hint = " (the tour ships in the source tree: run from a checkout installed by `make install`)"
        raise ReportError(f"notebook not found: {path}{hint if path == TOUR_NOTEBOOK else ''}")
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    env = {k: v for k, v in os.environ.items() if k != STORE_ENV}
    if store is not None:
        env[STORE_ENV] = str(Path(store).resolve())
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.resolve().parent)}},
        # the kernel talks to this process over localhost; keep its start-up notice about that off the terminal
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        raise ReportError(f"{path}: a cell failed:\n{exc}") from None
    return nb


def to_html(nb: Any) -> str:
    """The executed notebook as a self-contained HTML page (see the module docstring).

    Input and output prompts are left out.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        template_name="lab",
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
        template_file=_TEMPLATE_NAME,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _resources = exporter.from_notebook_node(nb)
    page = _STYLE.sub(lambda m: m.group(1) + _CSS_COMMENT.sub("", m.group(2)) + m.group(3), body)
    head = _HEAD.search(page)
    if head is None:
        raise ReportError("nbconvert wrote a page without <head>: cannot add the Content-Security-Policy")
    return page[: head.end()] + "\n" + CSP_META + page[head.end() :]


def build_report(
    store: str | os.PathLike[str] | None,
    output: str | os.PathLike[str] = DEFAULT_OUTPUT,
    *,
    notebook: str | os.PathLike[str] = TOUR_NOTEBOOK,
    timeout: int = DEFAULT_TIMEOUT,
) -> Report:
    """Execute the tour ``notebook`` against the store folder ``store`` and write the HTML page to ``output``.

    Parent folders are created; the file is replaced.

    Raises:
        ReportError: the notebook failed, or the page would load an external resource.
    """
    started = time.perf_counter()
    nb = execute_notebook(notebook, store=store, timeout=timeout)
    html = to_html(nb)
    external = external_references(html)
    if external:
        raise ReportError(f"the report would load external resources: {', '.join(sorted(set(external)))}")
    target = write_atomically(output, html)
    images = len(PNG_IMAGE.findall(html))
    return Report(path=target, images=images, seconds=time.perf_counter() - started)
