r"""behest JSON Lines: every record of a store, one line each, as behest's own serde JSON.

Format (UTF-8, ``\n``-terminated lines)::

    {"kind":"session","record":{...}}
    {"kind":"message","record":{...}}
    ...

``record`` is exactly ``model_dump_json()`` of the record, i.e. the JSON behest itself writes and reads for that
type (``Session``, ``MessageRecord``, ``ToolExecution``, ``UsageRecord``, ``EmbeddingRecord``, ``Artifact``), so
any line's ``record`` can be handed to behest's ``serde_json::from_str`` unchanged. ``kind`` is one of
``session``, ``message``, ``tool_execution``, ``usage_record``, ``embedding``, ``artifact``.

behest's JSON holds a tool execution's duration in whole milliseconds; behest_lab keeps microseconds. When a
duration has a sub-millisecond part, its line carries it after the record, outside behest's JSON:
``{"kind":"tool_execution","record":{...,"duration":1047,...},"duration_us":1047271}`` (behest readers of the
``record`` see the same whole milliseconds they would have written). Likewise a result that is JSON ``null``
itself (behest's ``Some(Value::Null)``, which behest's SQL stores keep apart from no result) is marked
``"result_null":true`` after the record. Nothing else needs more than behest's JSON.

Export order: each session (by ``created_at``, then id) followed by its messages (conversation order), tool
executions, usage records, embeddings and artifacts; then the embeddings and artifacts that belong to no session.
The order depends only on the data: export -> import into an empty store -> export gives the same bytes.

Import reads the file line by line (memory stays bounded by one batch). A record must come after its session
(or its session must already be in the store); ids already in the store are skipped as duplicates, so importing
the same file twice adds nothing. Blank lines are ignored.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from behest_lab.errors import BadRowError, InterchangeError, TooDeepError
from behest_lab.files import open_text_atomically
from behest_lab.interchange._batch import ImportWriter, loads, parse
from behest_lab.interchange._progress import progress_bar
from behest_lab.interchange._report import ExportReport, ImportReport
from behest_lab.interchange._source import count, iter_bundles
from behest_lab.records import (
    Artifact,
    BehestRecord,
    EmbeddingRecord,
    LongDuration,
    MessageRecord,
    Session,
    ToolExecution,
    UsageRecord,
)
from behest_lab.stores.protocols import Store

#: ``kind`` value -> (table, record class).
KINDS: dict[str, tuple[str, type[BehestRecord]]] = {
    "session": ("sessions", Session),
    "message": ("messages", MessageRecord),
    "tool_execution": ("tool_executions", ToolExecution),
    "usage_record": ("usage_records", UsageRecord),
    "embedding": ("embeddings", EmbeddingRecord),
    "artifact": ("artifacts", Artifact),
}


_US = timedelta(microseconds=1)


def line_of(kind: str, record: BehestRecord) -> str:
    """One JSON Lines line (with its newline) for ``record``."""
    extra = ""
    if isinstance(record, ToolExecution):
        us = record.duration // _US
        if us % 1000 and not isinstance(record.duration, LongDuration):
            extra = f',"duration_us":{us}'
        if record.result_null:
            extra += ',"result_null":true'
    return f'{{"kind":"{kind}","record":{record.model_dump_json()}{extra}}}\n'


def export_jsonl(
    store: Store,
    path: str | os.PathLike[str],
    *,
    batch_sessions: int = 50,
    progress: bool | None = None,
) -> ExportReport:
    """Write every record of ``store`` to ``path`` as behest JSON Lines (see the module docstring).

    The file is written next to ``path`` (a temporary file created exclusively, never through a link: see
    ``behest_lab.files``) and renamed into place at the end, so a failed export leaves no half-written file.

    Args:
        store: The store to read.
        path: Output file (overwritten).
        batch_sessions: Sessions read per query (memory use is bounded by one batch).
        progress: Show a progress bar (None: only on a terminal or in a notebook).

    Returns:
        Records written per table.
    """
    target = Path(path)
    report = ExportReport(path=str(target), format="jsonl")
    written = dict.fromkeys(("sessions", "messages", "tool_executions", "usage_records", "embeddings", "artifacts"), 0)
    try:
        with (
            open_text_atomically(target) as out,
            progress_bar(progress, total=count(store, "sessions"), desc="export jsonl", unit="session") as bar,
        ):
            for b in iter_bundles(store, batch_sessions=batch_sessions):
                if b.session is not None:
                    out.write(line_of("session", b.session))
                    written["sessions"] += 1
                    bar.update(1)
                for kind, table, records in (
                    ("message", "messages", b.messages),
                    ("tool_execution", "tool_executions", b.executions),
                    ("usage_record", "usage_records", b.usage),
                    ("embedding", "embeddings", b.embeddings),
                    ("artifact", "artifacts", b.artifacts),
                ):
                    for r in records:
                        out.write(line_of(kind, r))
                    written[table] += len(records)
    except OSError as exc:
        raise InterchangeError(f"cannot write: {exc.strerror or exc}", path=str(target)) from exc
    report.written = written
    return report


#: The start of a line as ``export_jsonl`` writes it (serde puts ``id`` first in every record): lets a re-import
#: recognise a duplicate without parsing the line.
_FAST_ID = re.compile(
    rb'^\{"kind":"([a-z_]+)","record":\{"id":"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"'
)


def _deep_key(raw: bytes) -> str | None:
    """``record.<key>`` of the record field whose value nests deepest, found by scanning brackets and strings.

    Only for naming the field of a line too deep to decode (it runs on that line alone): the last key read at the
    record's level (depth 2, inside the envelope) when the deepest bracket opens.
    """
    depth = deepest = 0
    key: str | None = None
    found: str | None = None
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 0x22:  # a string: skip to its closing quote; at the record's level it may be a key
            end = _string_end(raw, i + 1)
            if depth == 2 and _colon_follows(raw, end + 1):
                key = raw[i + 1 : end].decode("utf-8", "replace")
            i = end + 1
            continue
        if byte in b"[{":
            depth += 1
            if depth > deepest:
                deepest, found = depth, key
        elif byte in b"]}":
            depth -= 1
        i += 1
    return None if found is None else f"record.{found}"


def _string_end(raw: bytes, i: int) -> int:
    """The index of the quote that closes the string whose text starts at ``i`` (``len(raw)`` if none does)."""
    escape = False
    for j in range(i, len(raw)):
        if escape:
            escape = False
        elif raw[j] == 0x5C:  # backslash
            escape = True
        elif raw[j] == 0x22:
            return j
    return len(raw)


def _colon_follows(raw: bytes, i: int) -> bool:
    while i < len(raw) and raw[i] in b" \t\r\n":
        i += 1
    return raw[i : i + 1] == b":"


def _decode(raw: bytes) -> tuple[str, dict[str, Any], Any]:
    """``(kind, record dict, duration_us or None)`` of one line; ``BadRowError`` when it is not an envelope."""
    try:
        obj = loads(raw)
    except TooDeepError as exc:
        key = _deep_key(raw)
        raise BadRowError(exc.reason if key is None else f"{key}: {exc.reason}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str) or not isinstance(obj.get("record"), dict):
        raise BadRowError('not a {"kind": ..., "record": {...}} line')
    kind = obj["kind"]
    if kind not in KINDS:
        raise BadRowError(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    record = obj["record"]
    if kind == "tool_execution" and obj.get("result_null") is True:
        record = {**record, "result_null": True}
    return kind, record, obj.get("duration_us")


def _exact_duration(record: ToolExecution, duration_us: Any) -> ToolExecution:
    """The execution with the microsecond duration of the envelope (it must agree with the record's milliseconds)."""
    if isinstance(duration_us, bool) or not isinstance(duration_us, int) or duration_us < 0:
        raise BadRowError(f"duration_us: expected a non-negative integer, got {duration_us!r}")
    if duration_us // 1000 != record.duration_ms:
        raise BadRowError(f"duration_us: {duration_us} does not match the record's duration of {record.duration_ms} ms")
    return record.model_copy(update={"duration": timedelta(microseconds=duration_us)})


def import_jsonl(
    store: Store,
    path: str | os.PathLike[str],
    *,
    skip_bad: bool = False,
    batch_sessions: int = 50,
    max_batch_records: int = 20_000,
    progress: bool | None = None,
) -> ImportReport:
    """Import a behest JSON Lines file into ``store``.

    Records are written in batches (a batch ends before the session line that would exceed ``batch_sessions``,
    or after ``max_batch_records`` records); each batch is written in one commit (``Store.write_batch``), so it
    lands completely or not at all, even when the process is killed, and re-running an interrupted import writes
    the batches that are missing.

    Args:
        store: The target store.
        path: The ``.jsonl`` file.
        skip_bad: Skip bad lines and count them in the report instead of stopping at the first one.
        batch_sessions: Sessions per batch.
        max_batch_records: Records per batch at most (bounds memory for very long sessions).
        progress: Show a progress bar (None: only on a terminal or in a notebook).

    Returns:
        Counts per table, duplicates and skipped lines.

    Raises:
        InterchangeError: The file cannot be read, or (without ``skip_bad``) a line is bad; ``.line`` is its
            1-based line number, ``.table`` and ``.row_id`` name the record when known. Batches before the bad
            line stay imported (re-running after a fix skips them as duplicates).
    """
    source = Path(path)
    report = ImportReport(path=str(source), format="jsonl")
    try:
        size = source.stat().st_size
        handle = open(source, "rb")  # noqa: SIM115 - closed by the with-block below
    except OSError as exc:
        raise InterchangeError(f"cannot read: {exc.strerror or exc}", path=str(source)) from exc
    writer = ImportWriter(store, report, path=str(source), skip_bad=skip_bad)
    with handle, progress_bar(progress, total=size, desc="import jsonl", unit="B", unit_scale=True) as bar:
        for lineno, raw in enumerate(handle, start=1):
            bar.update(len(raw))
            if not raw.strip():
                continue
            read = _read_line(writer, raw, lineno)
            if read is None:
                continue
            table, record = read
            if table == "sessions" and writer.pending_sessions >= batch_sessions:
                writer.flush()
            writer.add(table, record, line=lineno)
            if writer.pending >= max_batch_records:
                writer.flush()
        writer.flush()
    return report


def _read_line(writer: ImportWriter, raw: bytes, lineno: int) -> tuple[str, Any] | None:
    """``(table, record)`` of one line, or None when it is a duplicate or bad (the writer has counted it)."""
    fast = _FAST_ID.match(raw)
    fast_table = fast_id = None
    if fast is not None and (kind_id := fast.group(1).decode()) in KINDS:
        fast_table, fast_id = KINDS[kind_id][0], fast.group(2).decode()
        if writer.known_id(fast_table, fast_id):
            writer.read(fast_table)
            writer.seen(fast_table, fast_id)
            return None
    try:
        kind, data, duration_us = _decode(raw)
    except BadRowError as exc:
        # a line that does not decode still names its table and id when it starts as export_jsonl writes
        if fast_table is not None:
            writer.read(fast_table)
        writer.bad(fast_table, exc.reason, line=lineno, row_id=fast_id)
        return None
    table, cls = KINDS[kind]
    writer.read(table)
    raw_id = data.get("id")
    row_id = raw_id if isinstance(raw_id, str) else None
    if writer.seen(table, row_id):
        return None
    try:
        record = parse(partial(cls.from_dict, data))
        if duration_us is not None and isinstance(record, ToolExecution):
            record = _exact_duration(record, duration_us)
    except BadRowError as exc:
        writer.bad(table, exc.reason, line=lineno, row_id=row_id)
        return None
    return table, record


__all__ = ["KINDS", "export_jsonl", "import_jsonl", "line_of"]
