"""Fresh lake stores for tests, copied from one template store created per test process.

Creating a store runs the schema migration (a dozen DDL statements in one DuckLake commit); copying the resulting
empty folder and opening the copy is several times faster and gives the same empty store, because a moved store
folder keeps working (``OVERRIDE_DATA_PATH``; file paths in the catalog are relative).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

from behest_lab import open_store
from behest_lab.stores.lake import LakeStore

_lock = threading.Lock()
_template: Path | None = None


def _template_folder() -> Path:
    global _template
    with _lock:
        if _template is None:
            root = Path(tempfile.mkdtemp(prefix="behest-lake-template-"))
            atexit.register(shutil.rmtree, root, True)
            folder = root / "store"
            open_store(folder).close()
            _template = folder
        return _template


def lake_store(folder: Path) -> LakeStore:
    """A new, empty lake store in ``folder`` (which must not exist yet)."""
    shutil.copytree(_template_folder(), folder)
    store = open_store(folder)
    assert isinstance(store, LakeStore)
    return store
