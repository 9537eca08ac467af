"""llm ``logs.db`` files built from the SQL under ``data/agent_logs/llm`` (llm's migrations, then the rows).

``legacy`` is an llm 0.27 database (``schema_0.27.sql`` + ``logs_0.27.sql``); ``current`` one that llm 0.27 wrote
and llm 0.32 went on writing (``schema_0.27.sql`` + ``migrate_0.32.sql`` + ``logs_0.32.sql``). The hand counts
below are read off those rows by hand; the tests compare the import with them.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "agent_logs" / "llm"
SCRIPTS = {
    "legacy": ("schema_0.27.sql", "logs_0.27.sql"),
    "current": ("schema_0.27.sql", "migrate_0.32.sql", "logs_0.32.sql"),
}

C1, C2, C3 = "01jwx4k7m2c1weather00000001", "01jwz0a1b2c2claude000000002", "01jx1c2d3e4c3gemini0000003"
R1, R2, R3 = "01jwx4k7m3r1000000000000r1", "01jwx4k7m3r2000000000000r2", "01jwx4k7m3r3000000000000r3"
C4, C5, C6, C7 = (
    "01k0a1b2c3c4haiku000000004",
    "01k0c0ffeec5ping0000000005",
    "01k0d1e2f3c6disk0000000006",
    "01k0e9f8a7c7fork0000000007",
)

#: Per model, each call once: (uncached input, cache read, cache write, output), by hand from the rows.
#: gpt-4o-mini (OpenAI: cached inside input_tokens): 120 + (210 - 128) + (260 - 256) uncached, 128 + 256 read.
#: claude-3-5-sonnet (Anthropic: cache beside input_tokens): 15 + 9 uncached, 1800 read, 1800 written.
#: gemini-2.5-flash: 8 in, 6 candidates + 58 thoughts out.
LEGACY_CALLS = {
    "gpt-4o-mini-2024-07-18": (206, 384, 0, 95),
    "claude-3-5-sonnet-latest": (24, 1800, 1800, 17),
    "gemini-2.5-flash": (8, 0, 0, 64),
}
#: The response before the upgrade and the turn after it (gpt-4.1-mini); the ping logged in both generations
#: ONCE (gpt-4o-mini); the five Claude turns of the tool thread and its fork: 50+30+12+40+20 uncached,
#: 2048+2138+2138+2048 read, 2048+90+60 written.
CURRENT_CALLS = {
    "gpt-4.1-mini-2025-04-14": (54, 0, 0, 38),
    "gpt-4o-mini-2024-07-18": (5, 0, 0, 1),
    "claude-sonnet-4-5-20250929": (152, 8372, 2198, 86),
}

#: USD per million tokens (input, cache read, cache write, output) for the cost test, per model.
RATES = {
    "gpt-4o-mini-2024-07-18": (Decimal("0.15"), Decimal("0.075"), Decimal("0.15"), Decimal("0.6")),
    "gpt-4.1-mini-2025-04-14": (Decimal("0.4"), Decimal("0.1"), Decimal("0.4"), Decimal("1.6")),
    "claude-3-5-sonnet-latest": (Decimal(3), Decimal("0.3"), Decimal("3.75"), Decimal(15)),
    "claude-sonnet-4-5-20250929": (Decimal(3), Decimal("0.3"), Decimal("3.75"), Decimal(15)),
    "gemini-2.5-flash": (Decimal("0.3"), Decimal("0.075"), Decimal("0.3"), Decimal("2.5")),
}


def write_logs_db(path: Path, generation: str, *, extra_sql: str = "") -> Path:
    """Build ``path`` (replacing it) by running the generation's scripts, then ``extra_sql``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        for name in SCRIPTS[generation]:
            con.executescript((DATA / name).read_text(encoding="utf-8"))
        if extra_sql:
            con.executescript(extra_sql)
        con.commit()
    finally:
        con.close()
    return path
