r"""Plots of a store's analytics with matplotlib's object API.

No pyplot, no global state, safe in threads and widgets.

Every function takes ``source`` = a ``Store`` or the polars frame of the matching ``behest_lab.analytics``
function, and ``ax`` = the matplotlib Axes to draw on (``None``: a new ``matplotlib.figure.Figure`` with one Axes),
and returns the Axes it drew on. Empty data gives an Axes with a "no data" note; a frame without a needed column
raises ``ValueError`` naming it. ``figure_png(ax.figure)`` gives deterministic PNG bytes for widgets and reports.

In Jupyter, the Axes of a new figure (a ``PlotAxes``, an ordinary matplotlib Axes) draws its figure when it ends a
cell: an SVG image and a PNG at twice the resolution shown at the figure's size, in JupyterLab and in nbconvert's
HTML export, without pyplot. An ``ax`` you pass is returned unchanged: show its figure as you would otherwise. Text
that comes from the store (titles, model and tool names, in labels, tick labels and legends) is drawn literally:
matplotlib's mathtext is off for every text of the returned Axes, so ``$\alpha$`` shows as written
(``literal_text(ax)`` does the same for an Axes of your own).

=========================  ======================================  ==========================================
function                   draws                                   frame
=========================  ======================================  ==========================================
``cost_over_time``         stacked cost (USD) per period by        ``analytics.usage`` or ``analytics.costs``
                           model or provider (top N + "other")
``tokens_per_session``     input/cache/output tokens, top N        ``analytics.sessions`` or ``analytics.usage``
                           sessions
``tool_latency``           latency box plot per tool (log) with    ``analytics.tool_executions``
                           the failure rate beside it
``compaction_savings``     tokens before vs after each compaction  ``analytics.compactions``
=========================  ======================================  ==========================================

This package imports matplotlib; ``import behest_lab`` does not import it.

Example:
    >>> import behest_lab
    >>> from behest_lab import plots
    >>> with behest_lab.open_store(None) as store:
    ...     ax = plots.cost_over_time(store)
    >>> ax.texts[0].get_text()
    'no data'
"""

from __future__ import annotations

from behest_lab.plots._common import PlotAxes, figure_png, literal_text
from behest_lab.plots.compaction import compaction_savings, savings_frame
from behest_lab.plots.cost import cost_frame, cost_over_time
from behest_lab.plots.tokens import token_frame, tokens_per_session
from behest_lab.plots.tools import failure_text, latency_frame, tool_latency

__all__ = [
    "PlotAxes",
    "compaction_savings",
    "cost_frame",
    "cost_over_time",
    "failure_text",
    "figure_png",
    "latency_frame",
    "literal_text",
    "savings_frame",
    "token_frame",
    "tokens_per_session",
    "tool_latency",
]
