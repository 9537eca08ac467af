"""Exact float32 cosine search in numpy.

``VectorIndex`` keeps one row-normalised float32 matrix per dimension; a search is one matrix-vector product
(memory-bandwidth bound) plus a partial sort. Both stores use it: the memory store rebuilds it after writes, the
lake store when the lake's snapshot changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

import numpy as np
import numpy.typing as npt

from behest_lab.errors import VectorDimensionError

F32Array = npt.NDArray[np.float32]


def as_query(query: Sequence[float] | Any) -> F32Array:
    """The query as a float32 vector; empty or non-finite queries are a ``ValueError``."""
    q = np.asarray(query, dtype=np.float32)
    if q.ndim != 1 or q.size == 0:
        raise ValueError(f"query must be a non-empty one-dimensional vector, got shape {q.shape}")
    if not np.isfinite(q).all():
        raise ValueError("query has NaN or infinite components")
    return q


def normalize_rows(matrix: F32Array) -> F32Array:
    """Rows divided by their L2 norm in float32; zero rows stay zero (they score 0.0)."""
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", m, m, dtype=np.float32))
    norms[norms == 0] = 1.0
    out: F32Array = m / norms[:, None]
    return out


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors in float32 (0.0 if either is zero or the lengths differ)."""
    x = np.asarray(a, dtype=np.float32)
    y = np.asarray(b, dtype=np.float32)
    if x.shape != y.shape or x.size == 0:
        return 0.0
    den = np.float32(np.sqrt(np.dot(x, x))) * np.float32(np.sqrt(np.dot(y, y)))
    if den == 0:
        return 0.0
    return float(np.float32(np.dot(x, y)) / den)


@dataclass
class _Group:
    """All vectors of one dimension."""

    ids: list[UUID]
    models: npt.NDArray[np.int32]
    sessions: npt.NDArray[np.int64]
    matrix: F32Array
    id_order: npt.NDArray[np.int64]  # rank of each row's id (ties are broken by smaller id first)


@dataclass
class VectorIndex:
    """Row-normalised float32 matrices, one per dimension, with model and session codes for filtering."""

    groups: dict[int, _Group] = field(default_factory=dict)
    model_codes: dict[str, int] = field(default_factory=dict)
    session_codes: dict[UUID, int] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        rows: Iterable[tuple[UUID, str, UUID | None, Any]],
    ) -> VectorIndex:
        """Build from ``(id, model, session_id, vector)`` rows."""
        index = cls()
        by_dim: dict[int, tuple[list[UUID], list[int], list[int], list[Any]]] = {}
        for id_, model, session_id, vector in rows:
            dim = len(vector)
            ids, models, sessions, vectors = by_dim.setdefault(dim, ([], [], [], []))
            ids.append(id_)
            models.append(index.model_codes.setdefault(model, len(index.model_codes)))
            sessions.append(
                -1 if session_id is None else index.session_codes.setdefault(session_id, len(index.session_codes))
            )
            vectors.append(vector)
        for dim, (ids, models, sessions, vectors) in by_dim.items():
            matrix = np.asarray(vectors, dtype=np.float32).reshape(len(ids), dim)
            index.add_group(dim, ids, np.asarray(models, np.int32), np.asarray(sessions, np.int64), matrix)
        return index

    def add_group(
        self,
        dim: int,
        ids: list[UUID],
        models: npt.NDArray[np.int32],
        sessions: npt.NDArray[np.int64],
        matrix: F32Array,
        *,
        normalized: bool = False,
    ) -> None:
        """Install the group of dimension ``dim`` (``matrix`` is normalised here unless ``normalized``)."""
        order = np.argsort(np.asarray([u.int for u in ids], dtype=object), kind="stable")
        rank = np.empty(len(ids), dtype=np.int64)
        rank[order] = np.arange(len(ids), dtype=np.int64)
        self.groups[dim] = _Group(
            ids=ids,
            models=models,
            sessions=sessions,
            matrix=matrix if normalized else normalize_rows(matrix),
            id_order=rank,
        )

    @property
    def count(self) -> int:
        """Number of indexed vectors."""
        return sum(len(g.ids) for g in self.groups.values())

    @property
    def nbytes(self) -> int:
        """Bytes held by the matrices."""
        return sum(g.matrix.nbytes for g in self.groups.values())

    def search(
        self,
        query: Sequence[float] | Any,
        limit: int,
        *,
        model: str | None = None,
        session_id: UUID | None = None,
    ) -> list[tuple[UUID, float]]:
        """``(id, score)`` of the best ``limit`` matches, score descending, ties by smaller id first."""
        if limit < 0:
            raise ValueError("limit must not be negative")
        q = as_query(query)
        if limit == 0 or not self.groups:
            return []
        group = self.groups.get(q.size)
        if group is None:
            present = self._dims_with(model, session_id)
            if present:
                raise VectorDimensionError(q.size, present)
            return []
        mask: npt.NDArray[np.bool_] | None = None
        if model is not None:
            code = self.model_codes.get(model)
            if code is None:
                return []
            mask = group.models == code
        if session_id is not None:
            scode = self.session_codes.get(session_id)
            if scode is None:
                return []
            smask = group.sessions == scode
            mask = smask if mask is None else mask & smask
        norm = np.float32(np.sqrt(np.dot(q, q)))
        qn = q / norm if norm > 0 else q
        scores: F32Array
        if mask is None:
            scores = cast(F32Array, group.matrix @ qn)
            candidates = None
        else:
            candidates = np.flatnonzero(mask)
            if candidates.size == 0:
                present = self._dims_with(model, session_id)
                if present:
                    raise VectorDimensionError(q.size, present)
                return []
            scores = cast(F32Array, group.matrix[candidates] @ qn)
        return self._top(group, scores, candidates, limit)

    def _top(
        self,
        group: _Group,
        scores: F32Array,
        candidates: npt.NDArray[np.intp] | None,
        limit: int,
    ) -> list[tuple[UUID, float]]:
        n = scores.size
        k = min(limit, n)
        if k < n:
            part = np.argpartition(-scores, k - 1)[:k]
            kth = scores[part].min()
            # keep every row tied with the k-th score so ties are broken by id, not by partition order
            part = np.flatnonzero(scores >= kth)
        else:
            part = np.arange(n)
        rows = part if candidates is None else candidates[part]
        order = np.lexsort((group.id_order[rows], -scores[part]))[:k]
        return [(group.ids[int(rows[i])], float(scores[part[i]])) for i in order]

    def _dims_with(self, model: str | None, session_id: UUID | None) -> list[int]:
        dims = []
        mcode = self.model_codes.get(model) if model is not None else None
        scode = self.session_codes.get(session_id) if session_id is not None else None
        for dim, g in self.groups.items():
            m = np.ones(len(g.ids), dtype=bool)
            if model is not None:
                m &= g.models == (mcode if mcode is not None else -2)
            if session_id is not None:
                m &= g.sessions == (scode if scode is not None else -2)
            if m.any():
                dims.append(dim)
        return dims
