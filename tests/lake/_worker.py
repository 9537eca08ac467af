"""A writer process for the multi-process tests.

Usage: ``python -m tests.lake._worker STORE SESSION_ID COUNT BULK [IDS_FILE]``.

Appends ``COUNT`` single messages (then one bulk of ``BULK``) to the session, writing each returned message id
to ``IDS_FILE`` (flushed) before the next call, so a parent that kills it knows what was acknowledged.
``COUNT = 0`` appends forever.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from uuid import UUID

from behest_lab import open_store
from tests.stores._build import message


def main(argv: list[str]) -> int:
    store_path, session_id, count, bulk = argv[0], UUID(argv[1]), int(argv[2]), int(argv[3])
    ids_file = Path(argv[4]) if len(argv) > 4 else None
    out = ids_file.open("a", buffering=1) if ids_file else None
    with open_store(store_path) as store:
        numbers = itertools.count() if count == 0 else range(count)
        for i in numbers:
            m = store.sessions.append_message(message(session_id, f"w{i}"))
            if out is not None:
                out.write(f"{m.id}\n")
                out.flush()
        if bulk:
            store.sessions.append_messages([message(session_id, f"bulk{i}") for i in range(bulk)])
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
