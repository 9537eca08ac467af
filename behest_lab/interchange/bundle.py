"""``Bundle``: one session and everything of it, the unit every reader yields and every writer takes.

Exports read a store as bundles; importers and sources (behest's other backends, other agents' logs) yield
bundles that an ``ImportWriter`` lands batch by batch with ``Store.write_batch``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from behest_lab.records import (
    Artifact,
    EmbeddingRecord,
    MessageRecord,
    Provenance,
    Session,
    ToolExecution,
    UsageRecord,
)


@dataclass
class Bundle:
    """One session and everything of it (``session`` None: records that belong to no session).

    ``provenance`` lists where records came from, one entry per record that has one (empty for a store's own
    records).
    """

    session: Session | None
    messages: list[MessageRecord] = field(default_factory=list)
    executions: list[ToolExecution] = field(default_factory=list)
    usage: list[UsageRecord] = field(default_factory=list)
    embeddings: list[EmbeddingRecord] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)
