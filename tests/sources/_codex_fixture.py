"""A Codex CLI rollout written line by line in Codex's own shapes (no real user data).

One session in ``/home/dev/api``: Codex's context messages, a reasoning item, three tool calls (a shell call that
succeeds, an ``apply_patch`` custom tool whose output is written twice, a shell call that exits 1), ``token_count``
events with cumulative totals and per-response counts (one repeated with the same totals, one without
``last_token_usage``), the ``event_msg`` copies of messages, a compaction, and lines of types from newer versions.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

SID = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
CWD = "/home/dev/api"
MODEL = "gpt-5-codex"
FILE = f"2025/10/03/rollout-2025-10-03T14-00-00-{SID}.jsonl"

_TOTALS = [
    (5200, 3072, 180, 128, 5380),
    (10900, 8192, 420, 256, 11320),
    (16900, 13312, 520, 300, 17420),
    (23000, 18432, 600, 300, 23600),
]
_LASTS = [
    (5200, 3072, 180, 128, 5380),
    (5700, 5120, 240, 128, 5940),
    (6000, 5120, 100, 44, 6100),
]
_KEYS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")

#: Each model response once: (input incl. cached, cached, output incl. reasoning, total), by hand from the lines.
#: The fourth has no last_token_usage: its counts are the difference of the cumulative totals.
RESPONSES = [(5200, 3072, 180, 5380), (5700, 5120, 240, 5940), (6000, 5120, 100, 6100), (6100, 5120, 80, 6180)]

#: USD per million tokens for the cost test: input, cached input, output.
RATES = (Decimal("1.25"), Decimal("0.125"), Decimal(10))


def _line(second: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": f"2025-10-03T14:00:{second:02d}.000Z", "type": kind, "payload": payload}


def _tokens(total: int, last: int | None) -> dict[str, Any]:
    info: dict[str, Any] = {"total_token_usage": dict(zip(_KEYS, _TOTALS[total], strict=True))}
    if last is not None:
        info["last_token_usage"] = dict(zip(_KEYS, _LASTS[last], strict=True))
    info["model_context_window"] = 272000
    limits = {"primary": {"used_percent": 4.0, "window_minutes": 299, "resets_in_seconds": 9000}}
    return {"type": "token_count", "info": info, "rate_limits": limits}


def _msg(role: str, kind: str, text: str) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def _out(call: str, text: str, code: int, seconds: float, kind: str = "function_call_output") -> dict[str, Any]:
    inner = {"output": text, "metadata": {"exit_code": code, "duration_seconds": seconds}}
    return {"type": kind, "call_id": call, "output": json.dumps(inner)}


def rollout_lines() -> list[dict[str, Any]]:
    """The rollout's lines, in order."""
    meta = {
        "id": SID,
        "timestamp": "2025-10-03T14:00:00.000Z",
        "cwd": CWD,
        "originator": "codex_cli_rs",
        "cli_version": "0.44.0",
        "instructions": None,
        "git": {"commit_hash": "4be2c1d", "branch": "feature/health", "repository_url": "git@example.com:dev/api.git"},
    }
    env = "<environment_context>\n  <cwd>/home/dev/api</cwd>\n  <approval_policy>on-request</approval_policy>\n"
    shell_a = {"command": ["bash", "-lc", "rg -n APIRouter"], "workdir": CWD}
    patch = "*** Begin Patch\n*** Add File: src/health.py\n+def health():\n+    return {'ok': True}\n*** End Patch"
    patch_out = "Success. Updated the following files:\nA src/health.py\n"
    turn = {"cwd": CWD, "approval_policy": "on-request", "model": MODEL, "effort": "medium", "summary": "auto"}
    return [
        _line(0, "session_meta", meta),
        _line(0, "response_item", _msg("developer", "input_text", "<permissions instructions>workspace-write")),
        _line(0, "response_item", _msg("user", "input_text", env + "</environment_context>")),
        _line(1, "turn_context", turn),
        _line(1, "response_item", _msg("user", "input_text", "Add a health endpoint")),
        _line(1, "event_msg", {"type": "user_message", "message": "Add a health endpoint", "images": []}),
        _line(1, "event_msg", {"type": "token_count", "info": None, "rate_limits": None}),
        _line(
            3,
            "response_item",
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "**Finding the router**"}],
                "content": None,
                "encrypted_content": "gAAAAB...",
            },
        ),
        _line(
            3,
            "response_item",
            {"type": "function_call", "name": "shell", "arguments": json.dumps(shell_a), "call_id": "call_A"},
        ),
        _line(3, "event_msg", _tokens(0, 0)),
        _line(4, "response_item", _out("call_A", "src/app.py:3:router = APIRouter()\n", 0, 0.2)),
        _line(4, "event_msg", _tokens(0, 0)),  # the same totals again: no new response
        _line(
            6,
            "response_item",
            {
                "type": "custom_tool_call",
                "status": "completed",
                "call_id": "call_B",
                "name": "apply_patch",
                "input": patch,
            },
        ),
        _line(6, "event_msg", _tokens(1, 1)),
        _line(6, "response_item", _out("call_B", patch_out, 0, 0.0, "custom_tool_call_output")),
        _line(6, "response_item", _out("call_B", patch_out, 0, 0.0, "custom_tool_call_output")),  # written twice
        _line(8, "response_item", {"type": "ghost_snapshot", "ghost_commit": {"id": "9f1e2d3"}}),  # newer item type
        _line(
            9,
            "response_item",
            {
                "type": "function_call",
                "name": "shell",
                "arguments": json.dumps({"command": ["bash", "-lc", "pytest -q"]}),
                "call_id": "call_C",
            },
        ),
        _line(9, "event_msg", _tokens(2, 2)),
        _line(13, "response_item", _out("call_C", "F.\n1 failed, 1 passed in 3.1s\n", 1, 3.4)),
        _line(
            14,
            "compacted",
            {"message": "Summary: /health added in src/health.py; one test fails.", "replacement_history": []},
        ),
        _line(14, "event_msg", {"type": "context_compacted"}),
        _line(16, "response_item", _msg("assistant", "output_text", "Added GET /health; one test still fails.")),
        _line(16, "event_msg", {"type": "agent_message", "message": "Added GET /health; one test still fails."}),
        _line(16, "event_msg", _tokens(3, None)),  # totals only
        _line(
            16, "event_msg", {"type": "task_complete", "last_agent_message": "Added GET /health; one test still fails."}
        ),
        _line(17, "thread_rolled_back", {"turns": 0}),  # a line type from a newer version
    ]


def write_rollout(root: Path, lines: list[dict[str, Any]] | None = None) -> Path:
    """Write the rollout under ``root/sessions`` and return that folder."""
    path = root / "sessions" / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = rollout_lines() if lines is None else lines
    path.write_text("".join(json.dumps(x, separators=(",", ":")) + "\n" for x in rows), encoding="utf-8")
    return root / "sessions"
