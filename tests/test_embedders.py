"""HashEmbedder: deterministic, normalised, and semantically useful without a model download."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from behest_lab import EmbeddingRecord, open_store
from behest_lab.embedders import HashEmbedder, tokenize

TRAVEL = [
    "Book me a flight from Berlin to Lisbon next Friday, two passengers.",
    "Which hotels in Lisbon are close to the old town? Max €150 per night.",
    "Can you find cheaper flights to Porto if I leave a day earlier?",
    "What's the weather like in Lisbon in November? Should I pack a jacket?",
]
CODING = [
    "Fix the failing unit test in the parser module, it raises KeyError.",
    "Refactor the database connection pool to use async/await.",
    "Why does my Rust code not compile: Vec<String> vs &str in the handler?",
    "The React table re-renders on every keystroke because useMemo depends on a new array.",
]
SUPPORT = [
    "My order ORD-123456 arrived damaged, I want a refund.",
    "The refund for my returned headphones has not arrived yet.",
]


def ranking(embedder: HashEmbedder, query: str, texts: list[str]) -> list[str]:
    scores = embedder.embed_many(texts) @ np.asarray(embedder.embed(query), dtype=np.float32)
    return [texts[i] for i in np.argsort(-scores, kind="stable")]


@pytest.mark.parametrize(
    ("query", "relevant"),
    [
        ("flight to Lisbon", TRAVEL),
        ("refund for a damaged order", SUPPORT),
        ("parser unit test raises KeyError", CODING[:1]),
        ("async database connection pool", CODING[1:2]),
        ("rust compile error: Vec<String> vs &str", CODING[2:3]),
    ],
)
def test_related_texts_rank_above_unrelated_ones(query: str, relevant: list[str]) -> None:
    texts = TRAVEL + CODING + SUPPORT
    top = ranking(HashEmbedder(), query, texts)[: len(relevant)]
    assert set(top) == set(relevant)


def test_vectors_are_unit_float32_of_the_dimension() -> None:
    e = HashEmbedder(dim=48)
    m = e.embed_many(TRAVEL + CODING)
    assert m.dtype == np.float32
    assert m.shape == (8, 48)
    assert np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-6)
    v = e.embed(TRAVEL[0])
    assert isinstance(v, list)
    assert len(v) == 48
    assert all(isinstance(x, float) for x in v)
    assert np.array_equal(np.asarray(v, dtype=np.float32), m[0])
    assert e.model == "behest-lab/hash-48"
    assert HashEmbedder(8, "custom").model == "custom"


def test_text_without_words_is_the_zero_vector() -> None:
    e = HashEmbedder()
    assert e.embed("") == [0.0] * 64
    assert not e.embed_many(["?! …", "the and of"]).any()  # punctuation and stop words only
    assert e.embed_many([]).shape == (0, 64)


def test_batch_rows_equal_single_embeddings_and_repeats_are_identical() -> None:
    e = HashEmbedder()
    texts = [TRAVEL[0], CODING[1], TRAVEL[0], "", CODING[1]]
    batch = e.embed_many(texts)
    for text, row in zip(texts, batch, strict=True):
        assert np.array_equal(row, np.asarray(HashEmbedder().embed(text), dtype=np.float32))
    assert np.array_equal(batch[0], batch[2])


def test_stemming_and_case_folding_bring_variants_together() -> None:
    assert tokenize("Flights BOOKED in Cities, searching!") == ["flight", "book", "city", "search"]
    e = HashEmbedder()
    a, b, c = e.embed_many(["cheap flights to Lisbon", "Cheap flight to LISBON", "pytest fixture scope"])
    assert float(a @ b) > 0.9
    assert float(a @ c) < 0.4


def test_large_dimensions_use_more_than_one_digest() -> None:
    e = HashEmbedder(dim=1000)
    m = e.embed_many(TRAVEL)
    assert m.shape == (4, 1000)
    assert np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-5)
    # a single word's direction must use all 1000 signs, not repeat the first 512
    d = e.embed("lisbon")
    assert len({round(x, 6) for x in d}) >= 2
    assert d[:500] != d[500:]


def test_deterministic_across_processes_with_different_hash_seeds() -> None:
    code = (
        "import json; from behest_lab.embedders import HashEmbedder; "
        f"print(json.dumps(HashEmbedder(dim=32).embed({TRAVEL[1]!r})))"
    )
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1] == HashEmbedder(dim=32).embed(TRAVEL[1])


def test_vectors_go_into_the_embedding_store_and_search_finds_the_topic() -> None:
    e = HashEmbedder()
    texts = TRAVEL + CODING + SUPPORT
    with open_store(None) as store:
        store.embeddings.upsert_many(
            [
                EmbeddingRecord(model=e.model, vector=v, metadata={"text": t})
                for t, v in zip(texts, e.embed_many(texts), strict=False)
            ]
        )
        hits = store.embeddings.search(e.embed("cheap flight to Lisbon"), 3, model=e.model)
    texts_found = {h.record.metadata["text"] for h in hits if isinstance(h.record.metadata, dict)}
    assert len(texts_found) == 3
    assert texts_found <= set(TRAVEL)


@pytest.mark.parametrize("dim", [0, -3, 2.0, True])
def test_bad_dimension_is_refused(dim: object) -> None:
    with pytest.raises(ValueError, match="dim"):
        HashEmbedder(dim=dim)  # type: ignore[arg-type]


def test_non_strings_are_refused_with_their_position() -> None:
    e = HashEmbedder()
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        e.embed_many(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="single string"):
        e.embed_many("just one")
    with pytest.raises(TypeError, match="text must be a str"):
        e.embed(None)  # type: ignore[arg-type]
