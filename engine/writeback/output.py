"""What a trained model hands to write-back: :class:`RunOutput`, validated and fingerprinted.

Pure: arrays in, arrays out. :mod:`engine.writeback.build` makes one from a fitted model,
:mod:`engine.writeback.files` saves it as a run's ``writeback/`` folder (no pickle), and
:func:`engine.graphdb.writeback.write_back` writes it into the graph.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.data.interactions import IdMap

__all__ = ["RunOutput", "json_default", "scores_are_dot_products"]


@dataclass
class RunOutput:
    """Everything a trained model hands to write-back (all indices in ``idmap`` space)."""

    run_id: str
    model: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    dataset: str
    git_sha: str | None
    idmap: IdMap
    user_emb: np.ndarray | None  # float32 [num_users, d]
    item_emb: np.ndarray | None  # float32 [num_movies, d]
    rec_items: np.ndarray  # int64 [num_users, K] movie indices, seen excluded, best first
    rec_scores: np.ndarray  # float32 [num_users, K]
    rec_ratings: np.ndarray | None = None  # float32 [num_users, K] predicted ratings
    #: int64 [num_users, K]: movie index of "because you recently rated ..." (-1: none)
    rec_reasons: np.ndarray | None = None
    similar_items: np.ndarray | None = None  # int64 [num_movies, Ks]
    similar_scores: np.ndarray | None = None  # float32 [num_movies, Ks]
    trained_at: str | None = None  # ISO-8601; None: the time of the first write-back
    #: The graph it was trained on (engine.graphdb.binding.read_binding): :Dataset name,
    #: md5, fingerprint, status and user/movie/rating counts; None for runs saved before.
    binding: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.validate()

    @property
    def k(self) -> int:
        return int(self.rec_items.shape[1])

    @property
    def dim(self) -> int | None:
        return None if self.user_emb is None else int(self.user_emb.shape[1])

    def validate(self) -> None:
        """Coerce dtypes and check shapes; raises ``ValueError`` naming the bad field."""
        if not isinstance(self.run_id, str) or not self.run_id.strip():
            raise ValueError("run_id must be a non-empty string")
        if self.binding is not None and not isinstance(self.binding, dict):
            raise ValueError("binding must be a dict (the dataset the run was trained on)")
        n_users, n_movies = self.idmap.num_users, self.idmap.num_movies
        self.rec_items = _as(self.rec_items, np.int64, "rec_items", (n_users, None))
        k = self.rec_items.shape[1]
        if k < 1:
            raise ValueError("rec_items must hold at least one recommendation per user")
        self.rec_scores = _as(self.rec_scores, np.float32, "rec_scores", (n_users, k))
        _check_scores(self.rec_scores, "rec_scores")
        if self.rec_ratings is not None:
            self.rec_ratings = _as(self.rec_ratings, np.float32, "rec_ratings", (n_users, k))
        if self.rec_reasons is not None:
            self.rec_reasons = _as(self.rec_reasons, np.int64, "rec_reasons", (n_users, k))
            if self.rec_reasons.size and (self.rec_reasons.min() < -1 or self.rec_reasons.max() >= n_movies):
                raise ValueError(f"rec_reasons holds indices outside -1..{n_movies - 1}")
        _check_indices(self.rec_items, n_movies, "rec_items")
        if (self.user_emb is None) != (self.item_emb is None):
            raise ValueError("user_emb and item_emb must both be given or both be None")
        if self.user_emb is not None and self.item_emb is not None:
            self.user_emb = _as(self.user_emb, np.float32, "user_emb", (n_users, None))
            d = self.user_emb.shape[1]
            self.item_emb = _as(self.item_emb, np.float32, "item_emb", (n_movies, d))
            if d < 1 or d > 4096:
                raise ValueError(f"embedding dimension must be in 1..4096 (Neo4j), got {d}")
            for name in ("user_emb", "item_emb"):
                if not np.isfinite(getattr(self, name)).all():
                    raise ValueError(f"{name} holds NaN or infinite values")
        if (self.similar_items is None) != (self.similar_scores is None):
            raise ValueError("similar_items and similar_scores must both be given or both be None")
        if self.similar_items is not None:
            self.similar_items = _as(self.similar_items, np.int64, "similar_items", (n_movies, None))
            ks = self.similar_items.shape[1]
            self.similar_scores = _as(self.similar_scores, np.float32, "similar_scores",
                                      (n_movies, ks))
            _check_scores(self.similar_scores, "similar_scores")
            _check_indices(self.similar_items, n_movies, "similar_items")

    def fingerprint(self) -> str:
        """sha256 over the metadata and every array: same output <=> same fingerprint."""
        h = hashlib.sha256()
        meta = {"run_id": self.run_id, "model": self.model, "dataset": self.dataset,
                "params": self.params, "metrics": self.metrics, "git_sha": self.git_sha}
        h.update(json.dumps(meta, sort_keys=True, default=json_default).encode())
        for name, arr in self.arrays().items():
            h.update(name.encode())
            h.update(str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()

    def arrays(self) -> dict[str, np.ndarray]:
        """The array fields that are set, by name (as stored in ``arrays.npz``)."""
        names = ("idmap_users", "idmap_movies", "rec_items", "rec_scores", "rec_ratings", "rec_reasons",
                 "user_emb", "item_emb", "similar_items", "similar_scores")
        out: dict[str, np.ndarray] = {}
        for name in names:
            value = (self.idmap.users if name == "idmap_users" else
                     self.idmap.movies if name == "idmap_movies" else getattr(self, name))
            if value is not None:
                out[name] = value
        return out


def _as(value: Any, dtype: type, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != len(shape) or any(
        e is not None and e != s for e, s in zip(shape, arr.shape, strict=True)
    ):
        want = "[" + ", ".join("*" if e is None else str(e) for e in shape) + "]"
        raise ValueError(f"{name} has shape {list(arr.shape)}, expected {want}")
    if np.issubdtype(np.dtype(dtype), np.integer) and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got {arr.dtype}")
    return arr.astype(dtype, copy=False)


def _check_scores(scores: np.ndarray, name: str) -> None:
    """Scores are finite, or ``-inf`` where a row has fewer entries than its width (padding)."""
    bad = np.isnan(scores) | np.isposinf(scores)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(f"{name} holds NaN or +inf ({int(bad.sum()):,} values, first in row {row}): "
                         "the model diverged; nothing of it is written")


def _check_indices(items: np.ndarray, n: int, name: str) -> None:
    if items.size and (items.min() < 0 or items.max() >= n):
        raise ValueError(f"{name} holds indices outside 0..{n - 1}")
    if items.shape[1] > 1:
        s = np.sort(items, axis=1)
        if (s[:, 1:] == s[:, :-1]).any():
            row = int(np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))[0])
            raise ValueError(f"{name} row {row} lists the same movie twice")


def json_default(obj: Any) -> Any:
    """``json.dumps`` hook: numpy scalars and arrays as plain Python."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def scores_are_dot_products(out: RunOutput, sample: int = 1000) -> bool:
    """Whether ``rec_scores`` are ``user_emb . item_emb`` (checked on a sample of users).

    Readers then extend a user's stored top-K with the next best movies by the same score
    (``model:vector`` rows of ``recommend/for_user``).
    """
    if out.user_emb is None or out.item_emb is None:
        return False
    rows = np.linspace(0, out.idmap.num_users - 1, min(sample, out.idmap.num_users)).astype(np.int64)
    items, scores = out.rec_items[rows], out.rec_scores[rows]
    dots = np.einsum("nd,nkd->nk", out.user_emb[rows], out.item_emb[items])
    ok = np.isfinite(scores)
    return bool(np.allclose(dots[ok], scores[ok], rtol=1e-3, atol=1e-4))
