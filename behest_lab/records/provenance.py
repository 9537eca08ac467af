"""Where a record came from: a source's kind, its secret-free location and the place inside it."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from behest_lab.records._base import BehestRecord, Text


class Provenance(BehestRecord):
    """The origin of one stored record, kept beside it (behest has no such record; behest_lab adds it).

    ``source`` names the kind of source (``sqlite``, ``postgresql``, ``redis``, ``claude-code``, ``otel`` ...),
    ``location`` the source without any secret (a path, or a URL with its password removed), and ``ref`` the
    place inside it: a file and line (``projects/x/a.jsonl:17``), a table and key (``messages:<id>``), a span id.
    """

    _wire_required: ClassVar[tuple[str, ...]] = ("record_id", "table", "source", "location", "ref")

    record_id: UUID
    """Id of the record (a session, message, tool execution, usage record, embedding or artifact)."""
    table: Text
    """The store table the record lives in (``sessions``, ``messages``, ``tool_executions`` ...)."""
    source: Text
    """Kind of source the record was read from."""
    location: Text
    """The source, without credentials."""
    ref: Text
    """Where in the source: file and line, table and key, or span id."""
