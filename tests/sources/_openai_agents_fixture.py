"""OpenAI Agents SDK session databases written as the SDK writes them (no real user data).

The tables are created with the statements ``SQLiteSession`` and ``AdvancedSQLiteSession`` run (default table
names, WAL journal), and the rows are what their ``add_items``, ``create_branch_from_turn`` and
``store_run_usage`` insert: each item ``json.dumps``'d into ``message_data``, timestamps as SQLite's
``CURRENT_TIMESTAMP`` (UTC, to the second).

``advanced.db`` (``AdvancedSQLiteSession``), session ``support-7f3a``:

* turn 1: a user question, a reasoning item, two ``get_weather`` calls, their outputs (Paris's is the SDK's default
  failure text), Tokyo's output stored a second time (a retried save), the answer;
* turn 2: a call whose output never came (the run stopped): pending;
* turn 3: a question and its answer;
* branch ``fr`` made from turn 3 (its structure copies turns 1-2, pointing at the same rows), with its own turn 3;
* one item of a deleted branch ``scratch`` (``delete_branch`` removes structure and usage rows, not items);
* ``turn_usage`` for main's turns 1-3 and ``fr``'s turn 3.

``litellm.db`` (``AdvancedSQLiteSession``): ``refactor-utils``, run on ``LitellmModel("anthropic/claude-sonnet-4-5")``:
its items name the model in ``provider_data``, its turn usage has cache reads and writes inside ``input_tokens``.

``plain.db`` (``SQLiteSession``): ``nightly-report``, whose history an ``OpenAIResponsesCompactionSession`` rewrote
(rows 1-3 deleted, a ``compaction`` item after the kept user message), with a hosted web search and an
``item_reference`` item the importer does not map; ``user_123``, run on a Chat Completions model whose items all
carry the SDK's placeholder id ``__fake_id__``.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

ADVANCED = "support-7f3a"
BRANCH = "fr"
MODEL = "gpt-4.1"
#: USD per million tokens for the cost test: input, cached input, output, cache write.
RATES = (Decimal(2), Decimal("0.5"), Decimal(8), Decimal("2.5"))
#: turn_usage rows, by hand: (branch, turn, requests, input incl. cache reads and writes, cache reads, cache writes
#: (None: a row written with an ``openai`` library before cache writes), output incl. reasoning, reasoning, total).
TURNS: list[tuple[str, int, int, int, int, int | None, int, int, int]] = [
    ("main", 1, 2, 2400, 1280, 1024, 310, 192, 2710),
    ("main", 2, 1, 1500, 0, None, 40, 0, 1540),
    ("main", 3, 1, 1620, 1408, 0, 35, 0, 1655),
    (BRANCH, 3, 1, 1630, 1408, 128, 48, 0, 1678),
]

SESSIONS_DDL = """
            CREATE TABLE IF NOT EXISTS agent_sessions (
                session_id TEXT PRIMARY KEY,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
            )
        """
MESSAGES_DDL = """
            CREATE TABLE IF NOT EXISTS agent_messages (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL,
                message_data TEXT NOT NULL,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                FOREIGN KEY (session_id) REFERENCES agent_sessions (session_id)
                    ON DELETE CASCADE
            )
        """
MESSAGES_INDEX = "CREATE INDEX IF NOT EXISTS idx_agent_messages_session_id ON agent_messages (session_id, id)"
STRUCTURE_DDL = """
                CREATE TABLE IF NOT EXISTS message_structure (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    session_id TEXT NOT NULL,
                    message_id INTEGER NOT NULL,
                    branch_id TEXT NOT NULL DEFAULT 'main',
                    message_type TEXT NOT NULL,
                    sequence_number INTEGER NOT NULL,
                    user_turn_number INTEGER,
                    branch_turn_number INTEGER,
                    tool_name TEXT,
                    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                    FOREIGN KEY (session_id)
                        REFERENCES agent_sessions(session_id) ON DELETE CASCADE,
                    FOREIGN KEY (message_id)
                        REFERENCES agent_messages(id) ON DELETE CASCADE
                )
            """
USAGE_DDL = """
                CREATE TABLE IF NOT EXISTS turn_usage (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    session_id TEXT NOT NULL,
                    branch_id TEXT NOT NULL DEFAULT 'main',
                    user_turn_number INTEGER NOT NULL,
                    requests INTEGER DEFAULT 0,
                    input_tokens INTEGER DEFAULT 0,
                    output_tokens INTEGER DEFAULT 0,
                    total_tokens INTEGER DEFAULT 0,
                    input_tokens_details JSON,
                    output_tokens_details JSON,
                    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                    FOREIGN KEY (session_id)
                        REFERENCES agent_sessions(session_id) ON DELETE CASCADE,
                    UNIQUE(session_id, branch_id, user_turn_number)
                )
            """
ADVANCED_INDEXES = [
    "CREATE INDEX IF NOT EXISTS idx_structure_session_seq ON message_structure(session_id, sequence_number)",
    "CREATE INDEX IF NOT EXISTS idx_structure_branch ON message_structure(session_id, branch_id)",
    "CREATE INDEX IF NOT EXISTS idx_structure_turn ON message_structure(session_id, branch_id, user_turn_number)",
    "CREATE INDEX IF NOT EXISTS idx_structure_branch_seq ON message_structure(session_id, branch_id, sequence_number)",
    "CREATE INDEX IF NOT EXISTS idx_turn_usage_session_turn ON turn_usage(session_id, branch_id, user_turn_number)",
]


def _user(text: str) -> dict[str, Any]:
    return {"content": text, "role": "user"}


def _answer(item_id: str, text: str) -> dict[str, Any]:
    block = {"annotations": [], "text": text, "type": "output_text", "logprobs": []}
    return {"id": item_id, "content": [block], "role": "assistant", "status": "completed", "type": "message"}


def _call(item_id: str, call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "arguments": json.dumps(args, separators=(",", ":")),
        "call_id": call_id,
        "name": name,
        "type": "function_call",
        "id": item_id,
        "status": "completed",
    }


def _output(call_id: str, text: str) -> dict[str, Any]:
    return {"call_id": call_id, "output": text, "type": "function_call_output"}


PARIS_ERROR = "An error occurred while running the tool. Please try again. Error: weather service timed out"

#: advanced.db's agent_messages rows: (id, created_at, item).
ADVANCED_ITEMS: list[tuple[int, str, dict[str, Any]]] = [
    (1, "2025-10-06 09:00:00", _user("What's the weather in Tokyo and Paris?")),
    (
        2,
        "2025-10-06 09:00:04",
        {
            "id": "rs_01",
            "summary": [{"text": "Two cities: call get_weather twice.", "type": "summary_text"}],
            "type": "reasoning",
        },
    ),
    (3, "2025-10-06 09:00:04", _call("fc_01", "call_tokyo", "get_weather", {"city": "Tokyo"})),
    (4, "2025-10-06 09:00:04", _call("fc_02", "call_paris", "get_weather", {"city": "Paris"})),
    (5, "2025-10-06 09:00:05", _output("call_tokyo", "Tokyo: 22°C, clear")),
    (6, "2025-10-06 09:00:05", _output("call_paris", PARIS_ERROR)),
    (7, "2025-10-06 09:00:07", _output("call_tokyo", "Tokyo: 22°C, clear")),  # the same output saved again
    (8, "2025-10-06 09:00:09", _answer("msg_01", "Tokyo is 22°C and clear; the Paris lookup failed.")),
    (9, "2025-10-06 09:05:00", _user("Try Paris again for tomorrow morning.")),
    (10, "2025-10-06 09:05:03", _call("fc_03", "call_forecast", "get_forecast", {"city": "Paris", "day": "tomorrow"})),
    (11, "2025-10-06 09:06:00", _user("Just summarize what you know.")),
    (12, "2025-10-06 09:06:02", _answer("msg_02", "Tokyo: 22°C and clear. Paris: unknown so far.")),
    (13, "2025-10-06 09:10:00", _user("Résume en français, s'il te plaît.")),
    (14, "2025-10-06 09:10:03", _answer("msg_03", "Tokyo : 22 °C, ciel dégagé. Paris : inconnu.")),
    (15, "2025-10-06 09:12:00", _user("A scratch question on a branch deleted since.")),
]
#: Turn of each main-branch row (rows 1-12), as AdvancedSQLiteSession numbers them.
_MAIN_TURNS = {**dict.fromkeys(range(1, 9), 1), 9: 2, 10: 2, 11: 3, 12: 3}

#: plain.db's agent_messages rows: (session, id, created_at, item).
PLAIN_ITEMS: list[tuple[str, int, str, dict[str, Any]]] = [
    (
        "nightly-report",
        4,
        "2025-10-07 02:04:10",
        {"role": "user", "content": [{"type": "input_text", "text": "Compile the nightly error report."}]},
    ),
    (
        "nightly-report",
        5,
        "2025-10-07 02:04:10",
        {"type": "compaction", "id": "cmp_01", "encrypted_content": "gAAAAABnX2c0bXBhY3Rpb24tc3VtbWFyeQ=="},
    ),
    ("nightly-report", 6, "2025-10-07 02:05:00", _user("Now add what changed upstream.")),
    (
        "nightly-report",
        7,
        "2025-10-07 02:05:04",
        {
            "id": "ws_01",
            "action": {"type": "search", "query": "payments-api incident 2025-10-06"},
            "status": "completed",
            "type": "web_search_call",
        },
    ),
    ("nightly-report", 8, "2025-10-07 02:05:09", _answer("msg_11", "Upstream: a payments-api incident at 21:40.")),
    ("nightly-report", 9, "2025-10-07 02:05:09", {"type": "item_reference", "id": "msg_11"}),
    ("user_123", 10, "2025-10-07 08:00:00", _user("Remember: my favorite drink is chai.")),
    ("user_123", 11, "2025-10-07 08:00:02", _answer("__fake_id__", "Noted: chai.")),
    ("user_123", 12, "2025-10-07 08:01:00", _user("Convert 20 USD to EUR and GBP.")),
    ("user_123", 13, "2025-10-07 08:01:03", _call("__fake_id__", "call_eur", "convert", {"amount": 20, "to": "EUR"})),
    ("user_123", 14, "2025-10-07 08:01:03", _call("__fake_id__", "call_gbp", "convert", {"amount": 20, "to": "GBP"})),
    ("user_123", 15, "2025-10-07 08:01:03", _output("call_eur", "18.40 EUR")),
    ("user_123", 16, "2025-10-07 08:01:03", _output("call_gbp", "15.80 GBP")),
    ("user_123", 17, "2025-10-07 08:01:05", _answer("__fake_id__", "20 USD is 18.40 EUR or 15.80 GBP.")),
]


def _message_type(item: dict[str, Any]) -> str:
    role = item.get("role")
    return str(role) if role in ("user", "assistant") else str(item.get("type") or "other")


def _create(con: sqlite3.Connection, advanced: bool) -> None:
    con.execute("PRAGMA journal_mode=WAL")
    for statement in (SESSIONS_DDL, MESSAGES_DDL, MESSAGES_INDEX):
        con.execute(statement)
    if advanced:
        con.execute(STRUCTURE_DDL)
        con.execute(USAGE_DDL)
        for statement in ADVANCED_INDEXES:
            con.execute(statement)
    con.commit()


def _structure(rows: list[tuple[int, str, int, int, int]]) -> list[tuple[Any, ...]]:
    """message_structure rows from (message row, branch, sequence, turn, created second)."""
    items = {i: item for i, _, item in ADVANCED_ITEMS}
    out = []
    for message_id, branch, seq, turn, second in rows:
        item = items[message_id]
        name = item.get("name") if item.get("type") == "function_call" else None
        at = f"2025-10-06 09:{second // 60:02d}:{second % 60:02d}"
        out.append((ADVANCED, message_id, branch, _message_type(item), seq, turn, turn, name, at))
    return out


def _details(cached: int, written: int | None) -> dict[str, Any]:
    """``input_tokens_details.__dict__`` as ``store_run_usage`` dumps it (cache writes only in newer libraries)."""
    if written is None:
        return {"cached_tokens": cached}
    return {"cache_write_tokens": written, "cached_tokens": cached, "cache_write_tokens_details": None}


def write_advanced(path: Path) -> Path:
    """Write ``advanced.db`` at ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as con:
        _create(con, advanced=True)
        con.execute(
            "INSERT INTO agent_sessions VALUES (?, ?, ?)", (ADVANCED, "2025-10-06 09:00:00", "2025-10-06 09:12:00")
        )
        con.executemany(
            "INSERT INTO agent_messages (id, session_id, message_data, created_at) VALUES (?, ?, ?, ?)",
            [(i, ADVANCED, json.dumps(item), at) for i, at, item in ADVANCED_ITEMS],
        )
        main = [(i, "main", i, _MAIN_TURNS[i], 0) for i in range(1, 13)]
        # create_branch_from_turn(3): the rows of turns 1-2 copied to the branch, same message ids, new sequence
        copied = [(i, BRANCH, 12 + i, _MAIN_TURNS[i], 570) for i in range(1, 11)]
        own = [(13, BRANCH, 23, 3, 600), (14, BRANCH, 24, 3, 603)]
        con.executemany(
            "INSERT INTO message_structure (session_id, message_id, branch_id, message_type, sequence_number, "
            "user_turn_number, branch_turn_number, tool_name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _structure(main + copied + own),
        )
        ends = {("main", 1): "09:00:09", ("main", 2): "09:05:03", ("main", 3): "09:06:02", (BRANCH, 3): "09:10:03"}
        con.executemany(
            "INSERT INTO turn_usage (session_id, branch_id, user_turn_number, requests, input_tokens, output_tokens,"
            " total_tokens, input_tokens_details, output_tokens_details, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    ADVANCED,
                    branch,
                    turn,
                    requests,
                    inp,
                    out,
                    total,
                    json.dumps(_details(cached, written)),
                    json.dumps({"reasoning_tokens": reasoning}),
                    f"2025-10-06 {ends[(branch, turn)]}",
                )
                for branch, turn, requests, inp, cached, written, out, reasoning, total in TURNS
            ],
        )
        con.commit()
    return path


def write_plain(path: Path) -> Path:
    """Write ``plain.db`` at ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as con:
        _create(con, advanced=False)
        con.executemany(
            "INSERT INTO agent_sessions VALUES (?, ?, ?)",
            [
                ("nightly-report", "2025-10-07 02:00:00", "2025-10-07 02:05:09"),
                ("user_123", "2025-10-07 08:00:00", "2025-10-07 08:01:05"),
            ],
        )
        con.executemany(
            "INSERT INTO agent_messages (id, session_id, message_data, created_at) VALUES (?, ?, ?, ?)",
            [(i, sid, json.dumps(item), at) for sid, i, at, item in PLAIN_ITEMS],
        )
        con.commit()
    return path


LITELLM = "refactor-utils"
#: The model a LiteLLM run names in each item's ``provider_data`` (LiteLLM's ``provider/model``).
CLAUDE = "anthropic/claude-sonnet-4-5"
#: Its turn's usage: requests, input incl. cache reads and writes, cache reads, cache writes, output, total.
CLAUDE_TURN = (2, 5200, 4096, 512, 180, 5380)
_PROVIDER_DATA = {"model": CLAUDE, "response_id": "chatcmpl-7f2c"}

#: litellm.db's agent_messages rows (session LITELLM): (id, created_at, item).
LITELLM_ITEMS: list[tuple[int, str, dict[str, Any]]] = [
    (1, "2025-10-08 11:00:00", _user("Split utils.py into two modules.")),
    (
        2,
        "2025-10-08 11:00:06",
        _call("__fake_id__", "toolu_01", "read_file", {"path": "utils.py"}) | {"provider_data": _PROVIDER_DATA},
    ),
    (3, "2025-10-08 11:00:06", _output("toolu_01", "def parse(): ...\ndef render(): ...")),
    (
        4,
        "2025-10-08 11:00:15",
        _answer("__fake_id__", "Moved parse() to parsing.py and render() to rendering.py.")
        | {"provider_data": _PROVIDER_DATA},
    ),
]


def write_litellm(path: Path) -> Path:
    """Write ``litellm.db`` (an ``AdvancedSQLiteSession`` run on ``LitellmModel(CLAUDE)``) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    requests, inp, cached, written, out, total = CLAUDE_TURN
    with closing(sqlite3.connect(path)) as con:
        _create(con, advanced=True)
        con.execute(
            "INSERT INTO agent_sessions VALUES (?, ?, ?)", (LITELLM, "2025-10-08 11:00:00", "2025-10-08 11:00:15")
        )
        con.executemany(
            "INSERT INTO agent_messages (id, session_id, message_data, created_at) VALUES (?, ?, ?, ?)",
            [(i, LITELLM, json.dumps(item), at) for i, at, item in LITELLM_ITEMS],
        )
        con.executemany(
            "INSERT INTO message_structure (session_id, message_id, branch_id, message_type, sequence_number, "
            "user_turn_number, branch_turn_number, tool_name, created_at) VALUES (?, ?, 'main', ?, ?, 1, 1, ?, ?)",
            [
                (
                    LITELLM,
                    i,
                    _message_type(item),
                    i,
                    item.get("name") if item.get("type") == "function_call" else None,
                    at,
                )
                for i, at, item in LITELLM_ITEMS
            ],
        )
        con.execute(
            "INSERT INTO turn_usage (session_id, branch_id, user_turn_number, requests, input_tokens, output_tokens,"
            " total_tokens, input_tokens_details, output_tokens_details, created_at)"
            " VALUES (?, 'main', 1, ?, ?, ?, ?, ?, ?, ?)",
            (
                LITELLM,
                requests,
                inp,
                out,
                total,
                json.dumps(_details(cached, written)),
                json.dumps({"reasoning_tokens": 0}),
                "2025-10-08 11:00:15",
            ),
        )
        con.commit()
    return path


def write_databases(root: Path) -> Path:
    """Write the three databases into ``root`` and return it."""
    write_advanced(root / "advanced.db")
    write_litellm(root / "litellm.db")
    write_plain(root / "plain.db")
    return root


def dump(path: Path) -> list[str]:
    """The database's schema and rows as SQL text (the same for the same contents, whatever SQLite wrote it)."""
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)) as con:  # closing it leaves no -wal
        return list(con.iterdump())
