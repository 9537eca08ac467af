"""The ``session_stats`` rule as a public function.

For code above the stores that computes stats from records it already holds (e.g. a ``SessionScope``'s rows)
instead of asking the store again.
"""

from __future__ import annotations

from behest_lab.stores._common import compute_stats

__all__ = ["compute_stats"]
