"""Progress bars for imports and exports (``tqdm.auto``: a widget in notebooks, text in terminals)."""

from __future__ import annotations

import sys
from typing import Any


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (checked without importing IPython when it is not loaded)."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def show_progress(progress: bool | None) -> bool:
    """Whether to draw a bar: ``True``/``False`` as asked; ``None`` = only on a terminal or in a notebook."""
    if progress is not None:
        return progress
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) or _in_notebook()


def progress_bar(progress: bool | None, *, total: int | None, desc: str, unit: str = "it", **kwargs: Any) -> Any:
    """A ``tqdm.auto`` bar, disabled (no output at all) unless ``show_progress(progress)``."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not show_progress(progress),
        leave=False,
        dynamic_ncols=True,
        **kwargs,
    )
