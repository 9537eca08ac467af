"""When a lake commit is tried again, and how long a writer waits between tries.

A commit that collides with another writer (SQLite catalog contention, DuckLake's optimistic-commit conflicts, the
PostgreSQL errors a catalog transaction may end in under concurrency) is worth re-running as a whole transaction;
``Engine.write`` does so with the back-off of a ``RetryPolicy``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# SQLite catalog contention and DuckLake's optimistic-commit conflicts ("Transaction conflict", including "has been
# created by another transaction"; "Failed to commit DuckLake transaction" after DuckLake's own retries), and the
# PostgreSQL errors a catalog transaction may end in under concurrency ("current transaction is aborted" also after
# a catalog statement of DuckLake's own failed on a busy catalog, as a flush racing another flush does): all are
# worth re-running the transaction. So is a statement that planned against an inlined-data table a concurrent flush
# or merge has since replaced ("Failed to read inlined data from DuckLake: Table with name ... does not exist"): the
# next try reads the catalog as it is now (``STALE_INLINED``).
STALE_INLINED = re.compile(r"failed to read inlined data", re.IGNORECASE)
RETRYABLE = re.compile(
    r"database is locked|conflict|busy|could not set lock|failed to commit|created by another transaction"
    r"|duplicate key value|could not serialize access|deadlock detected|transaction is aborted"
    r"|" + STALE_INLINED.pattern,
    re.IGNORECASE,
)
# The first ATTACH of an empty PostgreSQL catalog creates DuckLake's tables; two processes doing it at once race
# ("Failed to initialize DuckLake: ... duplicate key value violates unique constraint"). A retry sees the tables.
# "Failed to commit DuckLake transaction" alone (no contention word after it) also ends commits that can never
# succeed, such as a value DuckLake cannot write into its catalog: such a commit gets a few tries, not the budget.
CONTENTION = re.compile(RETRYABLE.pattern.replace("|failed to commit", ""), re.IGNORECASE)
VAGUE_ATTEMPTS = 3
ATTACH_RETRYABLE = re.compile(
    RETRYABLE.pattern + r"|failed to initialize ducklake|already exists|unique constraint", re.IGNORECASE
)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for commits that collide with other writers.

    Attributes:
        attempts: total tries before ``CommitConflictError``.
        base_delay: first back-off in seconds; doubled each try, with full jitter, capped at ``max_delay``.
        max_delay: longest single wait in seconds.
    """

    attempts: int = 40
    base_delay: float = 0.005
    max_delay: float = 2.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (1-based): exponential with full jitter."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(cap / 2, cap)


# an automatic flush gives way quickly to other writers: it is tried again after the next ``flush_every`` writes
FLUSH_RETRY = RetryPolicy(attempts=2)
