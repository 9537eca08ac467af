"""``open_source`` finds the Redis, artifact, Qdrant and SurrealDB readers by URL scheme and by path."""

from __future__ import annotations

from pathlib import Path

from qdrant_client import QdrantClient, models

from behest_lab.sources import open_source
from behest_lab.sources.objects import ObjectSource
from behest_lab.sources.qdrant import QdrantSource
from behest_lab.sources.surreal import SurrealSource


def test_paths_and_urls_open_the_right_reader(tmp_path: Path) -> None:
    client = QdrantClient(path=str(tmp_path / "q"))
    client.create_collection("behest", vectors_config=models.VectorParams(size=2, distance=models.Distance.COSINE))
    client.close()
    qdrant = open_source(str(tmp_path / "q"))
    assert isinstance(qdrant, QdrantSource)
    qdrant.close()
    (tmp_path / "a" / "metadata").mkdir(parents=True)
    (tmp_path / "a" / "metadata" / "x.json").write_text("{}")
    assert isinstance(open_source(str(tmp_path / "a")), ObjectSource)
    assert isinstance(open_source(f"file://{tmp_path / 'a'}"), ObjectSource)
    export = tmp_path / "e.surql"
    export.write_text("CREATE sessions:⟨x⟩ CONTENT {};")
    surreal = open_source(str(export))
    assert isinstance(surreal, SurrealSource)
    surreal.close()
