"""The widgets' CSS: JupyterLab's theme colours, bounded heights, and the sizes both are built from.

Every colour is a JupyterLab theme variable (``--jp-layout-color0``, ``--jp-content-font-color1``, ...) with a
light fallback, and every element that sets a text colour also sets its background from the same source, so a
pair is either both the theme's or both the fallbacks' (a one-line header sets neither: ipywidgets gives it the
theme's text colour on the page's background): readable in JupyterLab's light and dark themes, in Voila,
and in a frontend that defines no ``--jp-*`` variable. Tinted blocks (compaction messages, failures) mix the
theme's warning or error colour into its own background or text colour with ``color-mix``; a browser without
``color-mix`` keeps the plain theme colour declared just before. Scrollable regions (the timeline, tables, message
and JSON blocks) have a ``max-height`` and ``overflow: auto``, so an output never grows with the data.
"""

from __future__ import annotations

TIMELINE_MAX_HEIGHT = "min(40rem, 70vh)"
"""Height limit of the session timeline (it scrolls beyond)."""

TABLE_MAX_HEIGHT = "min(22rem, 50vh)"
"""Height limit of a table (it scrolls beyond, its header row staying in view)."""

BLOCK_MAX_HEIGHT = "16em"
"""Height limit of one text, JSON or tool-result block inside a message."""

CHART_MAX_HEIGHT = "min(28rem, 60vh)"
"""Height limit of a chart whose height grows with its rows (the tool latency chart scrolls beyond)."""

_TEXT = "var(--jp-content-font-color1, rgba(0, 0, 0, 0.87))"
_BACKGROUND = "var(--jp-layout-color0, #fff)"
_HEADER_TEXT = "var(--jp-ui-font-color1, rgba(0, 0, 0, 0.87))"
_HEADER_BACKGROUND = "var(--jp-layout-color2, #eee)"
_BORDER = "var(--jp-border-color2, #e0e0e0)"
_LINK = "var(--jp-content-link-color, #0d47a1)"
_WARN = "var(--jp-warn-color1, #f57c00)"
_ERROR = "var(--jp-error-color1, #d32f2f)"

STYLE = f"""<style>
.behest-timeline-body, .behest-table-box, .behest-table, .behest-session-header, .behest-summary {{
  line-height: 1.4; }}
.behest-timeline-body {{ max-height: {TIMELINE_MAX_HEIGHT}; overflow: auto; border: 1px solid {_BORDER};
  padding: 0 4px; color: {_TEXT}; background: {_BACKGROUND}; }}
.behest-table-box {{ max-height: {TABLE_MAX_HEIGHT}; overflow: auto; max-width: 100%; }}
.behest-table {{ border-collapse: collapse; font-size: 12px; color: {_TEXT}; background: {_BACKGROUND}; }}
.behest-table th, .behest-table td {{ border: 1px solid {_BORDER}; padding: 2px 6px; text-align: left;
  vertical-align: top; overflow-wrap: break-word; }}
.behest-table th {{ color: {_HEADER_TEXT}; background: {_HEADER_BACKGROUND}; white-space: nowrap; }}
.behest-table-box thead th {{ position: sticky; top: 0; }}
.behest-session-header, .behest-summary {{ padding: 2px 0; overflow-wrap: anywhere; }}
.behest-msg {{ border-left: 4px solid {_BORDER}; margin: 4px 0; padding: 2px 8px; font-size: 12px;
  color: {_TEXT}; background: {_BACKGROUND}; overflow-wrap: anywhere; }}
.behest-role-user {{ border-left-color: var(--jp-brand-color1, #1976d2); }}
.behest-role-assistant {{ border-left-color: var(--jp-success-color1, #388e3c); }}
.behest-role-tool {{ border-left-color: {_WARN}; }}
.behest-role-system {{ border-left-color: var(--jp-layout-color4, #757575); }}
.behest-msg pre {{ white-space: pre-wrap; overflow-wrap: anywhere; margin: 2px 0; max-height: {BLOCK_MAX_HEIGHT};
  overflow: auto; color: inherit; background: transparent; font-size: 12px; }}
.behest-msg.behest-compaction {{ border-left-color: {_WARN};
  background: {_HEADER_BACKGROUND}; background: color-mix(in srgb, {_WARN} 14%, {_BACKGROUND}); }}
.behest-compaction-note {{ font-weight: bold; }}
.behest-meta {{ color: {_TEXT}; color: color-mix(in srgb, {_TEXT} 80%, {_BACKGROUND}); }}
.behest-failed {{ color: {_ERROR}; color: color-mix(in srgb, {_ERROR} 70%, {_TEXT}); }}
.behest-msg a, .behest-table a, .behest-toggle {{ color: {_LINK}; }}
.behest-more > summary {{ cursor: pointer; list-style: none; }}
.behest-more > summary::-webkit-details-marker {{ display: none; }}
.behest-preview {{ display: block; white-space: pre-wrap; overflow-wrap: anywhere; max-height: {BLOCK_MAX_HEIGHT};
  overflow: auto; margin: 2px 0; }}
.behest-msg .behest-preview {{ font-family: var(--jp-code-font-family, monospace); }}
.behest-more[open] > summary > .behest-preview {{ display: none; }}
.behest-toggle {{ font-size: 11px; }}
.behest-toggle::before {{ content: "▸ "; }}
.behest-more[open] .behest-toggle::before {{ content: "▾ "; }}
.behest-call {{ margin: 2px 0; }}
</style>"""
"""CSS for the widgets' HTML values (class names only; no scripts)."""
