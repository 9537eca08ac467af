"""Append numbers of messages: the tie-break of ``list_messages`` for equal ``created_at``."""

from __future__ import annotations

import threading
import time


class SeqClock:
    """Strictly increasing append numbers: wall-clock nanoseconds, bumped when the clock stalls or steps back.

    The parity carries whether the append touched its session: odd = ``updated_at`` moves to the append time
    (``seq // 1000`` microseconds), even = the session keeps its stored ``updated_at`` (``touch_session=False``).
    Being wall-clock based, numbers from different processes interleave in real append order.
    """

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def take(self, n: int, *, touch: bool) -> list[int]:
        """``n`` fresh numbers, all odd when ``touch`` else all even."""
        with self._lock:
            start = max(time.time_ns(), self._last + 1)
            if (start % 2 == 1) != touch:
                start += 1
            out = [start + 2 * i for i in range(n)]
            if out:
                self._last = out[-1]
            return out


SEQ = SeqClock()
