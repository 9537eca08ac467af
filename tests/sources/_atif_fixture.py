"""ATIF trajectories written by hand in the shapes of Harbor's RFC 0001, one folder per version (no real user data).

Each version's difference is in its files, as a trap for the reader:

* ``v1.4``: ``session_id`` required; per-step ``cached_tokens`` inside ``prompt_tokens``; ``prompt_token_ids``,
  ``completion_token_ids`` and ``logprobs`` beside the counts; a subagent in a file of its own, referred to by
  ``subagent_trajectory_ref{session_id, trajectory_path}``; ``final_metrics`` that repeat the steps' totals.
* ``v1.5``: ``agent.tool_definitions``; Anthropic usage the way Harbor's Claude Code converter writes it
  (``prompt_tokens`` = input + cache reads, ``metrics.extra.cache_creation_input_tokens`` beside them); a
  continuation file (``continued_trajectory_ref``) whose first steps are ``is_copied_context`` copies, metrics
  included.
* ``v1.6``: multimodal ``message`` and observation ``content`` (text and image content parts).
* ``v1.7``: ``trajectory_id``; embedded ``subagent_trajectories`` sharing the parent's ``session_id``, referred to
  by ``trajectory_id``; ``llm_call_count`` 2 (aggregated metrics) and 0 (a deterministic dispatch); ``extra`` on
  tool calls and results; a ``context_management`` compaction step; an unknown key from a newer producer.
* ``v1.8``: no ``session_id`` at all; an audio content part (``duration_sec``, the ``audio/mp3`` alias).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

#: USD per million tokens of each model the files use: input, cache read, cache write, output.
RATES: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {
    "gpt-5": (Decimal("1.25"), Decimal("0.125"), Decimal("1.25"), Decimal(10)),
    "claude-sonnet-4-5": (Decimal(3), Decimal("0.30"), Decimal("3.75"), Decimal(15)),
    "gemini-2.5-flash": (Decimal("0.30"), Decimal("0.075"), Decimal("0.30"), Decimal("2.50")),
    "gpt-4.1": (Decimal(2), Decimal("0.50"), Decimal(2), Decimal(8)),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("0.10"), Decimal("0.40"), Decimal("1.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("1.25"), Decimal("2.50"), Decimal(10)),
}

V14_SID = "7b0c2f4e-3d1a-4b5c-9e8f-1a2b3c4d5e6f"
V14_CHILD_SID = "7b0c2f4e-3d1a-4b5c-9e8f-1a2b3c4d5e70"
V15_SID = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
V15_CONT_SID = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f-cont-1"
V16_SID = "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9"
RUN = "run-42"


def cost(model: str, prompt: int, cached: int, completion: int, writes: int = 0) -> float:
    """The step's ``cost_usd`` by the RFC's formula (plus cache writes at their rate), as a producer writes it."""
    inp, read, write, out = RATES[model]
    usd = (Decimal(prompt - cached) * inp + Decimal(cached) * read + Decimal(writes) * write + completion * out) / (
        Decimal(1_000_000)
    )
    return float(usd)


def _t(minute: int, second: int) -> str:
    return f"2025-11-04T10:{minute:02d}:{second:02d}Z"


def _metrics(model: str, prompt: int, cached: int, completion: int, **more: Any) -> dict[str, Any]:
    writes = more.get("extra", {}).get("cache_creation_input_tokens", 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cached_tokens": cached,
        "cost_usd": cost(model, prompt, cached, completion, writes),
        **more,
    }


def _call(cid: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_call_id": cid, "function_name": name, "arguments": arguments}


def _v14() -> dict[str, dict[str, Any]]:
    model = "gpt-5"
    steps = [
        {"step_id": 1, "timestamp": _t(0, 0), "source": "system", "message": "You are an agent in a terminal."},
        {"step_id": 2, "timestamp": _t(0, 1), "source": "user", "message": "Fix the failing test in calc.py"},
        {
            "step_id": 3,
            "timestamp": _t(0, 4),
            "source": "agent",
            "model_name": f"openai/{model}",
            "reasoning_effort": "medium",
            "message": "I will run the tests first.",
            "reasoning_content": "Run pytest to see which test fails.",
            "tool_calls": [_call("call_1", "bash", command="pytest -q")],
            "observation": {"results": [{"source_call_id": "call_1", "content": "1 failed: test_add"}]},
            "metrics": _metrics(
                model,
                1800,
                0,
                60,
                prompt_token_ids=[1, 2, 3, 4],
                completion_token_ids=[9, 8, 7],
                logprobs=[-0.1, -0.2, -0.3],
            ),
        },
        {
            "step_id": 4,
            "timestamp": _t(0, 9),
            "source": "agent",
            "model_name": f"openai/{model}",
            "message": "The context is long; I delegate a summary.",
            "tool_calls": [_call("call_2", "summarize", scope="history")],
            "observation": {
                "results": [
                    {
                        "source_call_id": "call_2",
                        "content": "Summary: test_add expects 3 for add(1, 2).",
                        "subagent_trajectory_ref": [
                            {
                                "session_id": V14_CHILD_SID,
                                "trajectory_path": "trajectory.summarization-1-summary.json",
                            }
                        ],
                    }
                ]
            },
            "metrics": _metrics(model, 2400, 1536, 90),
        },
        {
            "step_id": 5,
            "timestamp": _t(0, 15),
            "source": "agent",
            "model_name": f"openai/{model}",
            "message": "Fixed add() in calc.py; the test passes.",
            "metrics": _metrics(model, 2600, 2048, 40),
        },
    ]
    child_steps = [
        {"step_id": 1, "timestamp": _t(0, 5), "source": "user", "message": "Summarize the session so far."},
        {
            "step_id": 2,
            "timestamp": _t(0, 8),
            "source": "agent",
            "message": "Summary: test_add expects 3 for add(1, 2).",
            "metrics": _metrics(model, 1200, 0, 30),
        },
    ]
    return {
        "trajectory.json": _doc("ATIF-v1.4", V14_SID, "terminus-2", model, steps),
        "trajectory.summarization-1-summary.json": _doc(
            "ATIF-v1.4", V14_CHILD_SID, "terminus-2-summarization-summary", model, child_steps
        ),
    }


def _final(steps: list[dict[str, Any]]) -> dict[str, Any]:
    metrics = [s["metrics"] for s in steps if "metrics" in s]
    return {
        "total_prompt_tokens": sum(m["prompt_tokens"] for m in metrics),
        "total_completion_tokens": sum(m["completion_tokens"] for m in metrics),
        "total_cached_tokens": sum(m["cached_tokens"] for m in metrics),
        "total_cost_usd": float(sum(Decimal(str(m["cost_usd"])) for m in metrics)),
        "total_steps": len(steps),
    }


def _doc(version: str, sid: str | None, agent: str, model: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema_version": version}
    if sid is not None:
        doc["session_id"] = sid
    doc["agent"] = {"name": agent, "version": "1.0.0", "model_name": model}
    doc["steps"] = steps
    doc["final_metrics"] = _final(steps)
    return doc


def _claude(step_id: int, second: int, text: str, usage: tuple[int, int, int, int], **more: Any) -> dict[str, Any]:
    """An agent step as Harbor's Claude Code converter writes it: prompt = input + cache reads, writes in extra."""
    inp, read, write, out = usage
    model = "claude-sonnet-4-5"
    extra = {"cache_creation_input_tokens": write, "cache_read_input_tokens": read, "service_tier": "standard"}
    return {
        "step_id": step_id,
        "timestamp": _t(1, second),
        "source": "agent",
        "model_name": model,
        "message": text,
        **more,
        "metrics": _metrics(model, inp + read, read, out, extra=extra),
    }


def _v15() -> dict[str, dict[str, Any]]:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "Bash",
                "description": "Run a shell command",
                "parameters": {"type": "object", "properties": {"command": {"type": "string"}}},
            },
        },
        {"type": "function", "function": {"name": "Edit", "description": "Edit a file", "parameters": {}}},
    ]
    read_call = _call("toolu_01", "Bash", command="cat app.py")
    first = [
        {"step_id": 1, "timestamp": _t(1, 0), "source": "user", "message": "Add logging to app.py"},
        _claude(
            2,
            3,
            "Reading app.py.",
            (4, 0, 5200, 120),
            tool_calls=[read_call],
            observation={"results": [{"source_call_id": "toolu_01", "content": "print('hi')"}]},
        ),
        _claude(3, 6, "I will add logging next.", (6, 5200, 340, 80)),
    ]
    doc = _doc("ATIF-v1.5", V15_SID, "claude-code", "claude-sonnet-4-5", first)
    doc["agent"]["tool_definitions"] = tools
    doc["continued_trajectory_ref"] = "trajectory.cont-1.json"
    copied = [dict(s, is_copied_context=True) for s in first]
    cont_steps = [
        *copied,
        {
            "step_id": 4,
            "timestamp": _t(1, 20),
            "source": "user",
            "message": "Continue from the summary: logging not added yet.",
        },
        _claude(
            5,
            24,
            "Adding logging.",
            (5, 5540, 260, 150),
            tool_calls=[_call("toolu_02", "Edit", path="app.py")],
            observation={"results": [{"source_call_id": "toolu_02", "content": "edited app.py"}]},
        ),
    ]
    cont = _doc("ATIF-v1.5", V15_CONT_SID, "claude-code", "claude-sonnet-4-5", cont_steps)
    cont["agent"]["tool_definitions"] = tools
    cont["notes"] = "Continuation after summarization; steps 1-3 are copied context."
    return {"trajectory.json": doc, "trajectory.cont-1.json": cont}


def _v16() -> dict[str, dict[str, Any]]:
    model = "gemini-2.5-flash"
    image = {"type": "image", "source": {"media_type": "image/png", "path": "images/step_1_input.png"}}
    shot = {"type": "image", "source": {"media_type": "image/png", "path": "images/step_2_screenshot.png"}}
    steps = [
        {
            "step_id": 1,
            "timestamp": _t(2, 0),
            "source": "user",
            "message": [{"type": "text", "text": "What is wrong on this page?"}, image],
        },
        {
            "step_id": 2,
            "timestamp": _t(2, 4),
            "source": "agent",
            "message": [{"type": "text", "text": "I take a screenshot."}],
            "tool_calls": [_call("call_shot", "screenshot", url="http://localhost:8000")],
            "observation": {
                "results": [
                    {"source_call_id": "call_shot", "content": [{"type": "text", "text": "Screenshot taken"}, shot]}
                ]
            },
            "metrics": _metrics(model, 3100, 0, 45),
        },
        {
            "step_id": 3,
            "timestamp": _t(2, 9),
            "source": "agent",
            "message": "The submit button overlaps the footer.",
            "metrics": _metrics(model, 4400, 3072, 25),
        },
    ]
    return {"trajectory.json": _doc("ATIF-v1.6", V16_SID, "browser-agent", model, steps)}


def _v17() -> dict[str, dict[str, Any]]:
    model, small = "gpt-4.1", "gpt-4.1-mini"

    def sub(tid: str, topic: str, usage: tuple[int, int, int]) -> dict[str, Any]:
        steps = [
            {"step_id": 1, "source": "user", "message": f"Explore {topic}"},
            {
                "step_id": 2,
                "timestamp": _t(3, 10),
                "source": "agent",
                "model_name": small,
                "message": f"{topic}: done.",
                "llm_call_count": 1,
                "metrics": _metrics(small, *usage),
            },
        ]
        doc = _doc("ATIF-v1.7", RUN, "explorer", small, steps)
        doc["trajectory_id"] = tid
        return doc

    steps = [
        {"step_id": 1, "timestamp": _t(3, 0), "source": "user", "message": "Map the repository's modules."},
        {
            "step_id": 2,
            "timestamp": _t(3, 2),
            "source": "agent",
            "message": "",
            "llm_call_count": 0,
            "tool_calls": [
                {**_call("dispatch_1", "explore", topic="src/"), "extra": {"timeout_s": 300}},
                _call("dispatch_2", "explore", topic="tests/"),
            ],
            "observation": {
                "results": [
                    {
                        "source_call_id": "dispatch_1",
                        "subagent_trajectory_ref": [{"trajectory_id": "explore-src", "session_id": RUN}],
                        "extra": {"exit_status": "ok"},
                    },
                    {
                        "source_call_id": "dispatch_2",
                        "content": "tests/ explored",
                        "subagent_trajectory_ref": [{"trajectory_id": "explore-tests", "trajectory_path": None}],
                    },
                ]
            },
        },
        {
            "step_id": 3,
            "timestamp": _t(3, 20),
            "source": "agent",
            "message": "Two modules: core and cli.",
            "llm_call_count": 2,
            "metrics": _metrics(model, 9000, 4096, 300),
            "confidence": 0.9,
        },
        {
            "step_id": 4,
            "timestamp": _t(3, 30),
            "source": "system",
            "message": "Context compaction performed",
            "observation": {"results": [{"content": "Summary: the repo has core and cli modules."}]},
            "extra": {"context_management": {"type": "compaction", "boundary": "replace"}},
        },
        {
            "step_id": 5,
            "timestamp": _t(3, 40),
            "source": "agent",
            "message": "Done.",
            "llm_call_count": 1,
            "metrics": _metrics(model, 1500, 0, 20),
        },
    ]
    doc = _doc("ATIF-v1.7", RUN, "orchestrator", model, steps)
    doc["trajectory_id"] = "main"
    doc["subagent_trajectories"] = [
        sub("explore-src", "src/", (2000, 0, 50)),
        sub("explore-tests", "tests/", (1800, 1024, 40)),
    ]
    return {"trajectory.json": doc}


def _v18() -> dict[str, dict[str, Any]]:
    model = "gpt-4o"
    audio = {"type": "audio", "source": {"media_type": "audio/mp3", "path": "audio/question.mp3", "duration_sec": 4.2}}
    steps = [
        {
            "step_id": 1,
            "timestamp": _t(4, 0),
            "source": "user",
            "message": [{"type": "text", "text": "Transcribe this."}, audio],
        },
        {
            "step_id": 2,
            "timestamp": _t(4, 6),
            "source": "agent",
            "message": "It says: meet at noon.",
            "llm_call_count": 1,
            "metrics": _metrics(model, 700, 0, 12),
        },
    ]
    doc = _doc("ATIF-v1.8", None, "voice-agent", model, steps)
    doc["trajectory_id"] = "voice-7"
    return {"trajectory.json": doc}


def documents() -> dict[str, dict[str, Any]]:
    """Every fixture file by its path under the ``atif`` folder."""
    out: dict[str, dict[str, Any]] = {}
    for version, make in (("v1.4", _v14), ("v1.5", _v15), ("v1.6", _v16), ("v1.7", _v17), ("v1.8", _v18)):
        for name, doc in make().items():
            out[f"{version}/{name}"] = doc
    return out


def write_trajectories(root: Path) -> Path:
    """Write the fixture files under ``root/atif`` (pretty-printed as Harbor writes them); the folder."""
    folder = root / "atif"
    for name, doc in documents().items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return folder
