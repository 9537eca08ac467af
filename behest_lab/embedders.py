"""Text embedders that need no model download.

``HashEmbedder`` turns text into a dense vector by feature hashing: every normalised word (lightly stemmed), every
adjacent word pair and every character trigram of a word is a *feature*; each feature owns a pseudo-random ±1
direction derived from a BLAKE2b hash of the feature, and a text's vector is the weighted sum of its features'
directions, L2-normalised (a random-sign projection of the bag of features). Texts that share words or word
stems therefore point the same way, while unrelated texts are nearly orthogonal (cosine noise about
``1/sqrt(dim)``). The hash makes vectors identical across processes and machines (Python's ``hash()`` is salted per
process and is never used).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["HashEmbedder", "tokenize"]

_WORD = re.compile(r"[a-z0-9]+")

#: Words too common to say anything about a topic.
# fmt: off
_STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "do", "does", "for", "from",
    "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no",
    "not", "of", "on", "or", "our", "please", "she", "so", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "to", "too", "us", "was", "we", "were", "what", "when", "where", "which", "who", "why",
    "will", "with", "would", "you", "your", "just", "also", "about", "let",
    # what is left of contractions after splitting on the apostrophe (can't, it's, I'm, we're, you'll, I've, I'd)
    "t", "s", "m", "re", "ll", "ve", "d",
})
# fmt: on

#: Weights of the three feature kinds: whole words carry the topic, pairs sharpen it, trigrams catch spelling
#: variants the stemmer misses.
WORD_WEIGHT = 1.0
BIGRAM_WEIGHT = 0.5
TRIGRAM_WEIGHT = 0.25


def _stem(word: str) -> str:
    """A deliberately small suffix stripper: flights→flight, booking→book, cities→city, searched→search."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ing") and len(word) > 5:
        return word[:-3]
    if word.endswith("ed") and len(word) > 4:
        return word[:-2]
    if word.endswith("ly") and len(word) > 4:
        return word[:-2]
    if word.endswith("es") and len(word) > 4 and word[-3] in "sxz":
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Normalised word tokens: NFKD-folded to ASCII, lower-cased, stop words dropped, lightly stemmed."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return [_stem(w) for w in _WORD.findall(folded) if w not in _STOPWORDS]


def _features(text: str) -> dict[str, float]:
    """Weighted features of one text; repeated features add up (sub-linearly, see ``embed_many``)."""
    feats: dict[str, float] = {}
    words = tokenize(text)
    for w in words:
        key = "w:" + w
        feats[key] = feats.get(key, 0.0) + WORD_WEIGHT
        padded = f"#{w}#"
        for i in range(len(padded) - 2):
            key = "c:" + padded[i : i + 3]
            feats[key] = feats.get(key, 0.0) + TRIGRAM_WEIGHT
    for a, b in itertools.pairwise(words):
        key = f"b:{a} {b}"
        feats[key] = feats.get(key, 0.0) + BIGRAM_WEIGHT
    return feats


class HashEmbedder:
    """Deterministic bag-of-features embedder (no download, no training).

    Args:
        dim: Vector dimension (positive).
        model: Model name stored in ``EmbeddingRecord.model``; defaults to ``"behest-lab/hash-{dim}"``.
        cache_size: How many feature directions to keep in memory (they are cheap to recompute).

    Raises:
        ValueError: ``dim`` is not a positive integer, or ``cache_size`` is negative.
    """

    def __init__(self, dim: int = 64, model: str | None = None, *, cache_size: int = 200_000) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if cache_size < 0:
            raise ValueError(f"cache_size must not be negative, got {cache_size!r}")
        self.dim = dim
        self.model = model if model is not None else f"behest-lab/hash-{dim}"
        self._cache_size = cache_size
        self._cache: dict[str, npt.NDArray[np.float32]] = {}
        self._nbytes = (dim + 7) // 8

    def __repr__(self) -> str:
        return f"HashEmbedder(dim={self.dim}, model={self.model!r})"

    def _direction(self, feature: str) -> npt.NDArray[np.float32]:
        """The ±1 direction of one feature: sign bits from BLAKE2b (extended with a counter past 64 bytes)."""
        cached = self._cache.get(feature)
        if cached is not None:
            return cached
        raw = feature.encode("utf-8")
        chunks: list[bytes] = []
        counter = 0
        remaining = self._nbytes
        while remaining > 0:
            size = min(64, remaining)
            chunks.append(hashlib.blake2b(raw, digest_size=size, salt=counter.to_bytes(16, "little")).digest())
            remaining -= size
            counter += 1
        bits = np.unpackbits(np.frombuffer(b"".join(chunks), dtype=np.uint8))[: self.dim]
        vec = (bits.astype(np.float32) * 2.0 - 1.0).astype(np.float32)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()  # a simple bound; directions are recomputed on demand
        self._cache[feature] = vec
        return vec

    def embed_many(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed a batch: a ``(len(texts), dim)`` float32 array of unit rows.

        A text with no words gets a row of zeros.

        Raises:
            TypeError: an element is not a ``str`` (the message names its index).
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not a single string (use embed())")
        index: dict[str, int] = {}  # repeated texts are embedded once
        inverse = np.empty(len(texts), dtype=np.intp)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] must be a str, got {type(text).__name__}")
            inverse[i] = index.setdefault(text, len(index))
        unique = self._embed_unique(list(index))
        return unique[inverse] if len(index) != len(texts) else unique

    def _embed_unique(self, texts: list[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        weights: list[float] = []
        for i, text in enumerate(texts):
            feats = _features(text)
            rows.extend([i] * len(feats))
            cols.extend(vocab.setdefault(f, len(vocab)) for f in feats)
            weights.extend(feats.values())
        if not rows:
            return out
        directions = np.stack([self._direction(f) for f in vocab]).astype(np.float64)
        # Sub-linear term frequency: a word said five times is not five times as topical. The arithmetic is float64
        # and free of reductions whose order depends on the CPU (numpy's SIMD log1p, norm and sum kernels differ
        # in the last bits between processors), so the float32 result is the same on every machine.
        w = np.asarray([math.log1p(x) for x in weights], dtype=np.float64)
        contrib = directions[np.asarray(cols)] * w[:, None]
        # rows are ascending, so each text's features form one contiguous run: sum the runs in one call
        row_arr = np.asarray(rows)
        starts = np.flatnonzero(np.r_[True, row_arr[1:] != row_arr[:-1]])
        sums = np.add.reduceat(contrib, starts, axis=0)
        squares = np.zeros(len(sums), dtype=np.float64)
        for j in range(self.dim):  # column by column: element-wise adds in a fixed order
            squares += sums[:, j] * sums[:, j]
        norms = np.sqrt(squares)[:, None]
        unit = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)
        out[row_arr[starts]] = unit.astype(np.float32)
        return out

    def embed(self, text: str) -> list[float]:
        """Embed one text: ``dim`` float32 values (as Python floats) of unit length, or zeros for no words."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        vector: list[float] = self.embed_many([text])[0].tolist()
        return vector
