"""ATIF trajectories (Agent Trajectory Interchange Format, v1.0-v1.8, Harbor's RFC 0001) as behest records.

An ATIF file is ONE JSON document (``trajectory.json``; Harbor writes subagents and continuations beside it as
``trajectory.<name>.json``): ``schema_version`` (``ATIF-v1.x``), ``session_id`` (required up to v1.6, optional
and run-scoped since v1.7), ``trajectory_id`` (v1.7+), ``agent{name, version, model_name, tool_definitions
(v1.5+), extra}``, ``steps[]``, ``notes``, ``final_metrics``, ``continued_trajectory_ref``, ``extra``,
``subagent_trajectories`` (v1.7+, embedded subagents). A folder is searched for ``*.json`` files whose document
is ATIF; other JSON files (a Harbor job's ``config.json``, ``result.json``) are passed over and counted.

Mapping:

* **sessions**: one per trajectory document. The id is the ``session_id`` when it is a UUID, else a UUIDv5 of it;
  when a document has a ``trajectory_id`` different from its ``session_id`` (v1.7: siblings and continuations
  may share a ``session_id``), of both; a document with neither, of a hash of its agent and first step.
  Metadata: ``source`` (``atif``), ``schema_version``, ``session_id``, ``trajectory_id``, ``agent``, ``version``,
  ``notes``, ``tool_names`` (from ``tool_definitions``), ``final_metrics`` (the file's own totals, kept as given,
  never added to the steps), ``extra``, ``file``. The title is the first user message.
* **subagents** are linked sessions (``parent_session_id``, ``subagent: true``, ``parent_step_id``): an embedded
  one (``subagent_trajectories``, resolved by ``trajectory_id``) gets the id of its parent's key and its own
  ``trajectory_id``; one in a file of its own (``subagent_trajectory_ref.trajectory_path``, relative to the
  referring file) is linked when that file is imported in the same run. A continuation file
  (``continued_trajectory_ref``) gets ``continues_session_id``.
* **messages**, in step order: a ``system`` step a system message, ``user`` a user message, ``agent`` an assistant
  message with its ``message`` (a string, or v1.6+ content parts: text parts as text, image and audio parts as JSON
  parts), ``reasoning_content`` (a JSON part ``{"type": "reasoning"}``) and ``tool_calls``; each
  ``observation.results[]`` a tool message with ``tool_call_id`` = its ``source_call_id`` (a result of a subagent
  adds a JSON part naming the subagent sessions). A system step with v1.7's ``extra.context_management.type ==
  "compaction"`` is a compaction pair: the marker, then its observation content as the summary.
* **tool executions**: each tool call with the result of the same step that names it; ``pending`` when there is
  none. ATIF records no tool durations and no failure flag: durations are 0 and a result is ``success``.
* **usage**: ONE record per ``agent`` step with ``metrics`` (with ``llm_call_count > 1`` (v1.7) the step's metrics
  are already the sum of those calls). ``prompt_tokens`` INCLUDE ``cached_tokens`` (the RFC, since v1.2); a cache
  write is ``metrics.extra.cache_creation_input_tokens`` and is NOT inside ``prompt_tokens`` (Harbor's own
  converters put the Anthropic usage beside it that way; when ``metrics.extra`` also keeps Anthropic's own
  ``input_tokens`` and they show the writes inside ``prompt_tokens``, they are taken out of it). Records are
  written in the convention of their model (``behest_lab.pricing.token_style``): Anthropic-style input = prompt -
  cached with ``cache_read_input_tokens`` = cached; otherwise input = prompt + cache writes with
  ``cached_input_tokens`` = cached; so every convention gives uncached = prompt - cached. The provider is the model
  name's prefix (``anthropic/claude-...``) or the one genai-prices knows the model by. Not counted: steps marked
  ``is_copied_context`` (v1.5; they were counted in the trajectory they were copied from), ``final_metrics`` (a
  total of the steps), token id arrays and logprobs.

Record ids are UUIDv5 of the document key and the step's position, so importing the same files again adds nothing.
A file that stops mid-document (still being written) is left for the next import and counted as ``incomplete``;
a file that is not valid JSON otherwise, a step without a known ``source``, or an ATIF major version other than 1
is bad (``SourceError`` with the file and line or JSON pointer), and so are two differing documents with the same
ids (an identical copy is read once). Keys ATIF v1.8 does not define are counted per
place (``unknown field steps[].x``) and passed over.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

from behest_lab.errors import SourceError
from behest_lab.interchange.bundle import Bundle
from behest_lab.sources._atif_doc import KIND, Document, Link, document_key, session_id_of
from behest_lab.sources.agentlogs import AgentLogSource
from behest_lab.sources.base import BadRowHandler

_HEAD = 65_536
_MARK = b'"ATIF-v'
_SNIFF_FILES = 50


def _head(file: Path) -> bytes:
    try:
        with file.open("rb") as f:
            return f.read(_HEAD)
    except OSError:
        return b""


def _looks_atif(file: Path) -> bool:
    """Whether ``file``'s first 64 KiB name an ATIF schema version (cheap; ``_load`` decides for sure)."""
    head = _head(file)
    return _MARK in head and b'"schema_version"' in head


def _is_atif(doc: Any) -> bool:
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    return isinstance(version, str) and version.startswith("ATIF-v") and isinstance(doc.get("steps"), list)


class AtifSource(AgentLogSource):
    """ATIF trajectory files under ``path`` (a folder searched for ``*.json``, or one file)."""

    kind = KIND

    @classmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` is, or holds, an ATIF trajectory (``schema_version`` ``ATIF-v...`` near the start)."""
        if path.is_file():
            return path.suffix == ".json" and _looks_atif(path)
        for n, file in enumerate(sorted(path.rglob("*.json"))):
            if n >= _SNIFF_FILES:
                break
            if _looks_atif(file):
                return True
        return False

    def files(self) -> list[Path]:
        """The ``*.json`` files, sorted by path (the one file when ``path`` is a file)."""
        return [self.path] if self.path.is_file() else sorted(self.path.rglob("*.json"))

    def count(self) -> int:
        """Trajectory files that are not another file's subagent (those come with their parent's progress)."""
        files = [f for f in self.files() if _looks_atif(f)]
        children = {p for p, link in self._links(files).items() if link.parent is not None}
        return sum(1 for f in files if f.resolve() not in children)

    def bundles(self, on_bad: BadRowHandler) -> Iterator[Bundle]:
        """One bundle per trajectory, and one per embedded subagent after its parent's."""
        files = self.files()
        links = self._links([f for f in files if _looks_atif(f)])
        keys: dict[UUID, tuple[Path, str]] = {}
        for file in files:
            loaded = self._load(file, on_bad)
            if loaded is None:
                continue
            doc, digest = loaded
            if not self._version_ok(file, doc, on_bad):
                continue
            key = document_key(doc)
            sid = session_id_of(key)
            seen = keys.setdefault(sid, (file, digest))
            if seen[0] != file and seen[1] == digest:  # the same file copied elsewhere in the folder
                self.counts.skipped_types["copies of a trajectory file already read"] += 1
                continue
            if seen[0] != file:
                on_bad(
                    SourceError(
                        f"trajectory {key!r} is also in {seen[0]}: two documents of one run need distinct "
                        "trajectory_ids",
                        source=self.kind,
                        location=str(file),
                        key=key,
                    )
                )
                continue
            document = Document(
                doc,
                file=file,
                location=self.location,
                pointer="",
                key=key,
                counts=self.counts,
                on_bad=on_bad,
                link=links.get(file.resolve()),
            )
            yield from document.bundles()

    def _load(self, file: Path, on_bad: BadRowHandler) -> tuple[dict[str, Any], str] | None:
        """The file's document and a digest of its bytes when it is ATIF; None (counted or reported) otherwise."""
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            on_bad(SourceError(f"not UTF-8 text: {exc}", source=self.kind, location=str(file)))
            return None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            if _MARK not in text[:_HEAD].encode():
                self.counts.skipped_types["JSON files that are not ATIF"] += 1
            elif _truncated(text):  # stops mid-document: still being written
                self.counts.incomplete += 1
            else:
                on_bad(SourceError(f"invalid JSON: {exc.msg}", source=self.kind, location=str(file), row=exc.lineno))
            return None
        except RecursionError:
            on_bad(SourceError("JSON nested too deeply", source=self.kind, location=str(file)))
            return None
        if not _is_atif(doc):
            self.counts.skipped_types["JSON files that are not ATIF"] += 1
            return None
        return dict(doc), hashlib.sha256(text.encode()).hexdigest()

    def _version_ok(self, file: Path, doc: dict[str, Any], on_bad: BadRowHandler) -> bool:
        version = str(doc["schema_version"])
        major, _, minor = version.removeprefix("ATIF-v").partition(".")
        if major != "1":
            on_bad(
                SourceError(f"unsupported ATIF version {version} (1.x is read)", source=self.kind, location=str(file))
            )
            return False
        if not minor.isdigit() or int(minor) > 8:
            self.counts.skipped_types[f"schema {version} read as ATIF-v1.8"] += 1
        return True

    def _links(self, files: list[Path]) -> dict[Path, Link]:
        """What the files say about each other: ``{resolved file: Link}`` from subagent and continuation refs.

        Only files that mention a ``trajectory_path`` or ``continued_trajectory_ref`` are decoded for this.
        """
        links: dict[Path, Link] = {}
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if "trajectory_path" not in text and "continued_trajectory_ref" not in text:
                continue
            try:
                doc = json.loads(text)
            except (ValueError, RecursionError):
                continue
            if not _is_atif(doc):
                continue
            sid = session_id_of(document_key(doc))
            cont = doc.get("continued_trajectory_ref")
            if isinstance(cont, str) and cont:
                links.setdefault(_resolve(file, cont), Link()).continues = sid
            for number, step in enumerate(doc["steps"], start=1):
                for ref in _refs(step):
                    path = ref.get("trajectory_path")
                    if isinstance(path, str) and path:
                        link = links.setdefault(_resolve(file, path), Link())
                        link.parent = sid
                        step_id = step.get("step_id")
                        link.parent_step = step_id if isinstance(step_id, int) else number
        return links


def _truncated(text: str) -> bool:
    """Whether ``text`` ends inside a string or with brackets still open: a document cut off while being written."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return in_string or depth > 0


def _refs(step: Any) -> Iterator[dict[str, Any]]:
    observation = step.get("observation") if isinstance(step, dict) else None
    results = observation.get("results") if isinstance(observation, dict) else None
    for result in results if isinstance(results, list) else []:
        refs = result.get("subagent_trajectory_ref") if isinstance(result, dict) else None
        for ref in refs if isinstance(refs, list) else []:
            if isinstance(ref, dict):
                yield ref


def _resolve(file: Path, ref: str) -> Path:
    """A ``trajectory_path`` or ``continued_trajectory_ref``: absolute as given, else relative to the referring file."""
    target = Path(ref)
    return (target if target.is_absolute() else file.parent / target).resolve()


__all__ = ["AtifSource"]
