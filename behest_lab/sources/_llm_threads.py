"""The 0.32+ tables of llm's ``logs.db`` (``threads``, ``turns``, ``messages``, ``parts``) for ``llm_logs``.

llm stores messages content-addressed: a message's ``hash`` covers its content and its parent's hash, so
conversations that share a prefix share its rows, and a thread (a conversation) is a pointer at the message at its
head (``threads.tip_message_hash``). A turn (one model call) brackets its input and output on the chain:
``parent_message_hash`` is the last message sent, ``tip_message_hash`` the last one the model produced, and the
turn holds the model, the token counts and the timing. Parts (``parts``, ordered by ``position``) keep their type
and tool name in columns, literal text in ``text`` and the rest as JSON in ``payload``; text that borrows a
fragment is a ``text_ref`` list of fragment ids and literal pieces, resolved here from ``fragments``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from behest_lab.sources._llm_rows import columns

_CHUNK = 500
#: Part fields that the first (alpha) form of ``parts`` kept in columns instead of the JSON payload.
_COLUMN_FIELDS = ("name", "arguments", "output", "tool_call_id", "exception", "server_executed", "redacted")


@dataclass
class ChainMessage:
    """One message of a thread's chain, with its parts decoded (``(rowid, part dict)`` in position order)."""

    hash: str
    parent: str | None
    role: str
    parts: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    at: datetime | None = None


class Chains:
    """Walks message chains and loads their parts; one per ``logs.db`` read."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con
        self.part_columns = columns(con, "parts")
        self._parent: dict[str, tuple[str | None, str]] = {}

    def _node(self, message_hash: str) -> tuple[str | None, str] | None:
        node = self._parent.get(message_hash)
        if node is None:
            row = self.con.execute("SELECT parent_hash, role FROM messages WHERE hash = ?", (message_hash,)).fetchone()
            if row is None:
                return None
            node = (row[0], str(row[1]))
            if len(self._parent) > 100_000:  # bounded: a cache of recently walked nodes, not the whole table
                self._parent.clear()
            self._parent[message_hash] = node
        return node

    def walk(self, tip: str | None, stop: set[str] | None = None) -> list[ChainMessage]:
        """The chain ending at ``tip``, oldest first; the walk ends at the root or at a hash in ``stop``."""
        out: list[ChainMessage] = []
        seen: set[str] = set()
        current = tip
        while current is not None and current not in seen and (stop is None or current not in stop):
            seen.add(current)
            node = self._node(current)
            if node is None:
                break
            out.append(ChainMessage(current, node[0], node[1]))
            current = node[0]
        out.reverse()
        return out

    def thread_chain(
        self, tip: str | None, turns: list[tuple[str | None, str | None, datetime, datetime]]
    ) -> list[ChainMessage]:
        """A thread's messages in order, each with the time of the turn that sent or produced it.

        ``turns`` are ``(parent_message_hash, tip_message_hash, start, end)`` in time order. The chain is the one
        ending at ``tip``; a turn whose output is no longer on it (the thread moved on) adds its own chain after.
        A turn's output (after its parent, up to its tip) is at its end; its input and the history before it not
        covered by an earlier turn at its start. Messages no turn covers (a fork's shared history with no turn of
        its own yet) keep ``at`` None.
        """
        chain = self.walk(tip)
        have = {m.hash for m in chain}
        for _, turn_tip, _, _ in turns:
            if turn_tip and turn_tip not in have:
                extra = self.walk(turn_tip, stop=have)
                chain += extra
                have.update(m.hash for m in extra)
        by_hash = {m.hash: m for m in chain}
        for parent, turn_tip, start, end in turns:
            node = by_hash.get(turn_tip or "")
            while node is not None and node.hash != parent:
                node.at = node.at or end
                node = by_hash.get(node.parent or "")
            node = by_hash.get(parent or "")
            while node is not None and node.at is None:
                node.at = start
                node = by_hash.get(node.parent or "")
        return chain

    def thread_hashes(self, thread_id: str) -> set[str]:
        """The messages on the chain of thread ``thread_id`` (empty when it is not there)."""
        row = self.con.execute("SELECT tip_message_hash FROM threads WHERE id = ?", (thread_id,)).fetchone()
        return {m.hash for m in self.walk(row[0])} if row is not None else set()

    def ancestors(self, message_hash: str | None) -> set[str]:
        """The hashes strictly before ``message_hash`` on its chain."""
        chain = self.walk(message_hash)
        return {m.hash for m in chain[:-1]}

    def load_parts(self, messages: Iterable[ChainMessage]) -> list[tuple[str, int, str]]:
        """Fill each message's parts; return the parts whose payload is not JSON (``(hash, rowid, error)``)."""
        by_hash = {m.hash: m for m in messages}
        bad: list[tuple[str, int, str]] = []
        hashes = list(by_hash)
        extra = [c for c in (*_COLUMN_FIELDS, "text", "payload", "tool_name") if c in self.part_columns]
        cols = ", ".join(f'"{c}"' for c in extra)
        fragments: set[int] = set()
        for i in range(0, len(hashes), _CHUNK):
            chunk = hashes[i : i + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = self.con.execute(
                f"SELECT rowid, message_hash, type{', ' if cols else ''}{cols} FROM parts "
                f"WHERE message_hash IN ({marks}) ORDER BY message_hash, position",
                chunk,
            )
            for row in rows:
                values = dict(zip(("_rowid", "message_hash", "type", *extra), row, strict=True))
                try:
                    part = _part(values)
                except ValueError as exc:
                    bad.append((str(values["message_hash"]), int(values["_rowid"]), str(exc)))
                    continue
                fragments.update(_fragment_ids(part))
                by_hash[str(values["message_hash"])].parts.append((int(values["_rowid"]), part))
        if fragments:
            content = self._fragments(sorted(fragments))
            for m in by_hash.values():
                for _, part in m.parts:
                    _resolve_text(part, content)
        return bad

    def _fragments(self, ids: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            for fid, text in self.con.execute(f"SELECT id, content FROM fragments WHERE id IN ({marks})", chunk):
                out[int(fid)] = str(text or "")
        return out


def _part(values: dict[str, Any]) -> dict[str, Any]:
    """A part as llm's wire dict: the payload, then type, text and the alpha columns put back.

    Raises:
        ValueError: The payload is not a JSON object.
    """
    raw = values.get("payload")
    part: dict[str, Any] = {}
    if raw:
        try:
            decoded = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"payload is not JSON: {exc}") from None
        if not isinstance(decoded, dict):
            raise ValueError("payload is not a JSON object")
        part.update(decoded)
    part["type"] = str(values.get("type") or part.get("type") or "")
    if values.get("text") is not None:
        part["text"] = values["text"]
    for key in _COLUMN_FIELDS:
        if values.get(key) is not None and key not in part:
            value = values[key]
            if key == "arguments" and isinstance(value, str):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            part[key] = value
    if values.get("tool_name") is not None and "name" not in part:
        part["name"] = values["tool_name"]
    return part


def _fragment_ids(part: dict[str, Any]) -> list[int]:
    refs = part.get("text_ref")
    if not isinstance(refs, list):
        return []
    return [int(r["fragment"]) for r in refs if isinstance(r, dict) and isinstance(r.get("fragment"), int)]


def _resolve_text(part: dict[str, Any], content: dict[int, str]) -> None:
    refs = part.pop("text_ref", None)
    if not isinstance(refs, list) or "text" in part:
        return
    pieces = []
    for r in refs:
        if isinstance(r, dict) and isinstance(r.get("literal"), str):
            pieces.append(r["literal"])
        elif isinstance(r, dict) and isinstance(r.get("fragment"), int):
            pieces.append(content.get(r["fragment"], ""))
    part["text"] = "".join(pieces)


__all__ = ["ChainMessage", "Chains"]
