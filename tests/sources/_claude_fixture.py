"""A small Claude Code ``projects`` folder written line by line in Claude Code's own shapes (no real user data).

Session ``S1`` in project ``/home/dev/shop`` holds: a summary line, streaming copies of one response (three lines,
one per content block, the first two with snapshot usage), a tool call per outcome (success, error, Task subagent),
a bookkeeping line of an unmapped type, a compaction (``compact_boundary`` + ``isCompactSummary``), an old-style
sidechain inside the session file, and a subagent file with one exact copy of a line, one copy of a response
under a new line uuid, and a response found only there.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

S1 = "5f0c7d1e-2b9a-4c1d-8e3f-0a1b2c3d4e5f"
CWD = "/home/dev/shop"
MODEL = "claude-sonnet-4-5-20250929"
FOLDER = "-home-dev-shop"


def _u(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _env(n: int, parent: int | None, ts: str, **fields: Any) -> dict[str, Any]:
    return {
        "parentUuid": _u(parent) if parent is not None else None,
        "isSidechain": False,
        "userType": "external",
        "cwd": CWD,
        "sessionId": S1,
        "version": "2.0.14",
        "gitBranch": "fix/rounding",
        "uuid": _u(n),
        "timestamp": f"2025-10-02T09:{ts}Z",
        **fields,
    }


def _user(n: int, parent: int | None, ts: str, content: Any, **fields: Any) -> dict[str, Any]:
    return _env(n, parent, ts, type="user", message={"role": "user", "content": content}, **fields)


def _usage(i: int, cw: int, cr: int, o: int) -> dict[str, Any]:
    return {
        "input_tokens": i,
        "cache_creation_input_tokens": cw,
        "cache_read_input_tokens": cr,
        "output_tokens": o,
        "service_tier": "standard",
    }


def _assistant(
    n: int, parent: int, ts: str, msg: str, req: str, block: dict[str, Any], usage: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    message = {
        "id": msg,
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [block],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    return _env(n, parent, ts, type="assistant", message=message, requestId=req, **fields)


def _tool_use(call: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": call, "name": name, "input": args}


def _result(call: str, content: Any, error: bool = False) -> list[dict[str, Any]]:
    return [{"type": "tool_result", "tool_use_id": call, "content": content, "is_error": error}]


def session_lines() -> list[dict[str, Any]]:
    """The lines of ``S1.jsonl``."""
    final_01 = _usage(3, 2285, 22137, 412)
    side = {"isSidechain": True}
    return [
        {"type": "summary", "summary": "Fix checkout totals rounding", "leafUuid": _u(14)},
        _user(1, None, "00:00.000", "Fix the rounding of checkout totals"),
        _assistant(
            2,
            1,
            "00:02.100",
            "msg_01",
            "req_01",
            {"type": "thinking", "thinking": "Run tests", "signature": "x"},
            _usage(3, 2285, 22137, 2),
        ),
        _assistant(
            3,
            2,
            "00:02.900",
            "msg_01",
            "req_01",
            {"type": "text", "text": "Running the tests first."},
            _usage(3, 2285, 22137, 2),
        ),
        _assistant(
            4, 3, "00:03.000", "msg_01", "req_01", _tool_use("toolu_01", "Bash", {"command": "pytest -q"}), final_01
        ),
        _user(
            5,
            4,
            "00:07.250",
            _result("toolu_01", "3 passed in 1.20s"),
            toolUseResult={"stdout": "3 passed in 1.20s", "stderr": "", "interrupted": False},
        ),
        _assistant(
            6,
            5,
            "00:09.000",
            "msg_02",
            "req_02",
            _tool_use("toolu_02", "Read", {"file_path": "/home/dev/shop/totals.py"}),
            _usage(5, 300, 24422, 90),
        ),
        _user(
            7,
            6,
            "00:09.400",
            _result("toolu_02", "<tool_use_error>File does not exist.</tool_use_error>", error=True),
            toolUseResult="Error: File does not exist.",
        ),
        _assistant(
            8,
            7,
            "00:11.000",
            "msg_03",
            "req_03",
            _tool_use("toolu_03", "Task", {"description": "find rounding", "prompt": "Find where totals are rounded"}),
            _usage(2, 120, 24800, 150),
        ),
        {
            "type": "file-history-snapshot",
            "messageId": _u(8),
            "snapshot": {"trackedFileBackups": {}},
            "isSnapshotUpdate": False,
        },
        _user(
            9,
            8,
            "00:56.000",
            _result("toolu_03", [{"type": "text", "text": "Totals are rounded in checkout.py:42"}]),
            toolUseResult={"totalDurationMs": 45000, "totalTokens": 3600},
        ),
        _env(
            10,
            9,
            "01:00.000",
            type="system",
            subtype="compact_boundary",
            content="Conversation compacted",
            level="info",
            compact_metadata={"trigger": "auto", "pre_tokens": 155000},
        ),
        _user(
            11,
            10,
            "01:00.500",
            "This session is being continued from a previous conversation. Summary: rounding bug in checkout.py:42.",
            isCompactSummary=True,
        ),
        _assistant(
            12,
            11,
            "01:05.000",
            "msg_04",
            "req_04",
            {"type": "text", "text": "Fixed the rounding."},
            _usage(10, 5000, 0, 40),
        ),
        _user(13, None, "01:10.000", "Search for rounding helpers", **side),
        _assistant(
            14,
            13,
            "01:12.000",
            "msg_05",
            "req_05",
            {"type": "text", "text": "round_half_up in money.py"},
            _usage(4, 0, 1000, 20),
            **side,
        ),
    ]


def subagent_lines() -> list[dict[str, Any]]:
    """The lines of ``S1/subagents/agent-a1b2c3.jsonl``."""
    agent = {"isSidechain": True, "agentId": "a1b2c3"}
    copy = session_lines()[8]  # the Task response, copied with the same uuid
    return [
        _user(20, None, "00:11.500", "Find where totals are rounded", **agent),
        _assistant(
            21,
            20,
            "00:13.000",
            "msg_06",
            "req_06",
            _tool_use("toolu_10", "Grep", {"pattern": "round"}),
            _usage(6, 1500, 0, 80),
            **agent,
        ),
        _user(22, 21, "00:13.800", _result("toolu_10", "checkout.py:42: total = round(total, 2)"), **agent),
        copy,
        _assistant(
            23,
            22,
            "00:15.000",
            "msg_06",
            "req_06",
            {"type": "text", "text": "Found it."},
            _usage(6, 1500, 0, 80),
            **agent,
        ),
        _assistant(
            24,
            23,
            "00:20.000",
            "msg_07",
            "req_07",
            {"type": "text", "text": "Totals are rounded in checkout.py:42"},
            _usage(3, 0, 2000, 60),
            **agent,
        ),
    ]


#: Each model call once, under the dedupe rule: (input, cache write, cache read, output), by hand from the lines.
CALLS = {
    "msg_01": (3, 2285, 22137, 412),  # three copies; the last carries the final output count
    "msg_02": (5, 300, 24422, 90),
    "msg_03": (2, 120, 24800, 150),  # also copied into the subagent file
    "msg_04": (10, 5000, 0, 40),
    "msg_05": (4, 0, 1000, 20),  # old-style sidechain in the session file
    "msg_06": (6, 1500, 0, 80),  # two lines in the subagent file
    "msg_07": (3, 0, 2000, 60),  # only in the subagent file
}

#: USD per million tokens used by the cost test: input, cache write, cache read, output.
RATES = (Decimal(3), Decimal("3.75"), Decimal("0.3"), Decimal(15))


def write_lines(path: Path, lines: list[dict[str, Any]]) -> None:
    """Write ``lines`` as JSON Lines (compact separators, as Claude Code writes them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x, separators=(",", ":")) + "\n" for x in lines), encoding="utf-8")


def write_projects(root: Path) -> Path:
    """Write the fixture under ``root/projects`` and return that folder."""
    project = root / "projects" / FOLDER
    write_lines(project / f"{S1}.jsonl", session_lines())
    write_lines(project / S1 / "subagents" / "agent-a1b2c3.jsonl", subagent_lines())
    return root / "projects"
