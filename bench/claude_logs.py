"""Writes a Claude Code ``projects`` folder of generated sessions in Claude Code's own line shapes, for benchmarks.

``write_projects(root, sessions)`` writes ``root/projects/<munged cwd>/<session id>.jsonl`` files, one per session,
spread over 50 projects: a summary line, then turns of a user prompt, a response written as one line per content
block (thinking, text, tool use; the early copies carry streaming usage snapshots, as Claude Code writes them), the
tool's result with a ``toolUseResult`` and a closing answer. One session in ten also has a subagent file
(``<session>/subagents/agent-<id>.jsonl``) holding a copy of a main-file line and responses of its own; one in
twenty has a compaction (``compact_boundary`` and an ``isCompactSummary`` user line). Sizes average ~100 KB per
session, so 10,000 sessions make ~1 GB. The text is filler: no real user data.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5-20251001")
TOOLS = ("Bash", "Read", "Edit", "Grep", "Write")
_WORDS = [
    "the",
    "checkout",
    "total",
    "rounds",
    "each",
    "line",
    "item",
    "before",
    "summing",
    "so",
    "cents",
    "drift",
    "when",
    "a",
    "cart",
    "holds",
    "many",
    "cheap",
    "items",
    "read",
    "the",
    "module",
    "run",
    "the",
    "tests",
    "again",
    "and",
    "compare",
    "the",
    "output",
    "with",
    "the",
    "expected",
    "totals",
    "in",
    "the",
    "fixture",
    "file",
]


def _text(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    size = 0
    while size < chars:
        w = rng.choice(_WORDS)
        words.append(w)
        size += len(w) + 1
    return " ".join(words)


class _Session:
    def __init__(self, rng: random.Random, index: int) -> None:
        self.rng = rng
        self.sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.project = index % 50
        self.cwd = f"/home/dev/project{self.project:02d}"
        self.model = MODELS[index % len(MODELS)]
        self.minute = 0
        self.second = 0
        self.last: str | None = None
        self.lines: list[dict[str, Any]] = []

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _ts(self, step: float) -> str:
        self.second += int(step)
        self.minute += self.second // 60
        self.second %= 60
        return f"2025-10-02T{9 + self.minute // 60:02d}:{self.minute % 60:02d}:{self.second:02d}.000Z"

    def _env(self, kind: str, step: float, **fields: Any) -> dict[str, Any]:
        uid = self._uuid()
        line = {
            "parentUuid": self.last,
            "isSidechain": False,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.sid,
            "version": "2.0.14",
            "gitBranch": "main",
            "type": kind,
            "uuid": uid,
            "timestamp": self._ts(step),
            **fields,
        }
        self.last = uid
        return line

    def user(self, content: Any, **fields: Any) -> dict[str, Any]:
        return self._env("user", 3, message={"role": "user", "content": content}, **fields)

    def response(self, blocks: list[dict[str, Any]], sidechain: bool = False) -> list[dict[str, Any]]:
        """One API response written as one line per content block, early copies with snapshot usage."""
        rng = self.rng
        msg = f"msg_{rng.getrandbits(64):016x}"
        req = f"req_{rng.getrandbits(64):016x}"
        cache_read = rng.randint(8_000, 60_000)
        cache_write = rng.randint(0, 3_000)
        final = rng.randint(80, 900)
        out = []
        for i, block in enumerate(blocks):
            usage = {
                "input_tokens": rng.randint(1, 12),
                "cache_creation_input_tokens": cache_write,
                "cache_read_input_tokens": cache_read,
                "output_tokens": final if i == len(blocks) - 1 else rng.randint(1, 10),
                "service_tier": "standard",
            }
            message = {
                "id": msg,
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [block],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage,
            }
            line = self._env("assistant", 1.5, message=message, requestId=req)
            line["isSidechain"] = sidechain
            out.append(line)
        return out

    def turn(self) -> list[dict[str, Any]]:
        rng = self.rng
        call = f"toolu_{rng.getrandbits(64):016x}"
        tool = rng.choice(TOOLS)
        lines = [self.user(_text(rng, 300))]
        lines += self.response(
            [
                {"type": "thinking", "thinking": _text(rng, 400), "signature": "c2lnbmF0dXJl"},
                {"type": "text", "text": _text(rng, 250)},
                {"type": "tool_use", "id": call, "name": tool, "input": {"command": _text(rng, 60)}},
            ]
        )
        output = _text(rng, rng.randint(1_500, 4_500))
        failed = rng.random() < 0.05
        lines.append(
            self.user(
                [{"type": "tool_result", "tool_use_id": call, "content": output, "is_error": failed}],
                toolUseResult={"stdout": output[:200], "stderr": "", "interrupted": False},
            )
        )
        lines += self.response([{"type": "text", "text": _text(rng, 700)}])
        return lines

    def compaction(self) -> list[dict[str, Any]]:
        meta = {"trigger": "auto", "preTokens": 155_000}
        boundary = self._env("system", 1, subtype="compact_boundary", content="Conversation compacted", level="info")
        boundary["compactMetadata"] = meta
        summary = self.user("This session is being continued. Summary: " + _text(self.rng, 600), isCompactSummary=True)
        return [boundary, summary]


def _session_lines(rng: random.Random, index: int) -> tuple[_Session, list[dict[str, Any]]]:
    s = _Session(rng, index)
    lines: list[dict[str, Any]] = []
    turns = rng.randint(8, 14)
    for t in range(turns):
        lines += s.turn()
        if index % 20 == 7 and t == turns // 2:
            lines += s.compaction()
    lines.insert(0, {"type": "summary", "summary": _text(rng, 40), "leafUuid": lines[-1]["uuid"]})
    return s, lines


def _subagent_lines(s: _Session, copy: dict[str, Any]) -> list[dict[str, Any]]:
    agent = f"{s.rng.getrandbits(32):08x}"
    s.last = None
    first = s.user(_text(s.rng, 200))
    first["isSidechain"] = True
    lines = [copy, first]
    for _ in range(3):
        lines += s.response([{"type": "text", "text": _text(s.rng, 600)}], sidechain=True)
    for line in lines[1:]:
        line["agentId"] = agent
    return lines


def _dump(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(x, separators=(",", ":")) + "\n" for x in lines)


def write_projects(root: Path, sessions: int, seed: int = 7) -> dict[str, int]:
    """Write ``sessions`` sessions under ``root/projects``; their counts: sessions, files, lines, bytes."""
    rng = random.Random(seed)
    base = root / "projects"
    files = lines_total = size = 0
    for index in range(sessions):
        s, lines = _session_lines(rng, index)
        folder = base / s.cwd.replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        text = _dump(lines)
        (folder / f"{s.sid}.jsonl").write_text(text, encoding="utf-8")
        files += 1
        lines_total += len(lines)
        size += len(text.encode())
        if index % 10 == 3:
            sub = _subagent_lines(s, lines[3])
            path = folder / s.sid / "subagents" / f"agent-{sub[1]['agentId']}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            text = _dump(sub)
            path.write_text(text, encoding="utf-8")
            files += 1
            lines_total += len(sub)
            size += len(text.encode())
    return {"sessions": sessions, "files": files, "lines": lines_total, "bytes": size}


def grow(path: Path, seed: int) -> int:
    """Append one more turn to the session file ``path`` (as Claude Code does while a session goes on); lines."""
    rng = random.Random(f"grow-{seed}")  # a stream of its own: no id may repeat one of the generated folder
    with path.open("rb") as f:
        last = json.loads(f.readlines()[-1])
    s = _Session(rng, 0)
    s.sid, s.cwd, s.last = last["sessionId"], last["cwd"], last["uuid"]
    s.minute = 59
    lines = s.turn()
    with path.open("a", encoding="utf-8") as f:
        f.write(_dump(lines))
    return len(lines)
