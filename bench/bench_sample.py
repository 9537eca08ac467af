"""Sample generation: 10,000 sessions (~300k messages) into the memory store, target under 60 s.

Baseline in the same run: producing the same records without a store (``sample.iter_batches``), so the ratio
shows what the store's bulk writes add on top of building the records.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from behest_lab import open_store
from behest_lab.sample import generate, iter_batches

TARGET_S = 60.0


def main(quick: bool = False) -> dict[str, Any]:
    sessions = 1_000 if quick else 10_000
    t = time.perf_counter()
    built = 0
    gc.disable()
    try:
        for batch in iter_batches(sessions=sessions, seed=1):
            built += len(batch.messages)
    finally:
        gc.enable()
    records_only = time.perf_counter() - t
    store = open_store(None)
    t = time.perf_counter()
    summary = generate(store, sessions=sessions, seed=1)
    into_store = time.perf_counter() - t
    store.close()
    assert summary.messages == built
    print(f"{'generate into memory store':<32}{into_store:>8.1f} s   target <= {TARGET_S:g} s (scaled to 10k)")
    print(f"{'records only (baseline)':<32}{records_only:>8.1f} s   store overhead x{into_store / records_only:.2f}")
    scale = 10_000 / sessions
    return {
        "sessions": sessions,
        "messages": summary.messages,
        "generate_s": round(into_store, 2),
        "records_only_s": round(records_only, 2),
        "store_overhead_ratio": round(into_store / records_only, 2),
        "target_s": TARGET_S,
        "met": into_store * scale <= TARGET_S,
    }
