"""FastRP embeddings computed in Neo4j by the Graph Data Science library, ranked in numpy.

FastRP (Chen et al., 2019) is a sparse random projection of the graph's adjacency powers:
every node starts from a very sparse random vector ``R``, and its embedding is
``Σ_k w_k · normalise((D⁻¹ A)^k R)`` over ``iteration_weights`` ``w_k``. On the undirected
user--movie rating graph an item's hop-1 vector averages the random vectors of its raters,
so two items' vectors are close when many users rated both (a random-projection item-item
neighbourhood), and a user's hop-2 vector reaches the users who share their movies.

The embedding runs in the database (``gds.fastRP`` on a projection of exactly the train
pairs, see :mod:`engine.graphdb.gds`), so ``fit`` needs the database as its ``graph``:
an object with the :class:`FastRPBackend` method, which ``engine train`` / ``engine
evaluate`` pass when the server runs OpenGDS (``engine db start --plugins gds``).
Scoring is numpy:

* ``scoring="item"`` (default): ``score(u, j) = p_u · ê_j`` with ``ê`` the unit item
  vectors and ``p_u = Σ_{i ∈ seen(u)} ê_i`` (item-based, folds in new users exactly);
* ``scoring="dot"``: ``score(u, j) = e_u · e_j``, the user's and the movie's FastRP vectors.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from engine.data.interactions import Interactions
from engine.errors import ParameterError
from engine.models.base import Recommender
from engine.models.history import FitHistory
from engine.models.params import check_choice, check_float, check_int

__all__ = ["FastRPBackend", "GdsFastRP"]


@runtime_checkable
class FastRPBackend(Protocol):
    """What computes FastRP: :class:`engine.graphdb.gds.GdsSession` (the database)."""

    def fastrp(self, source: np.ndarray, target: np.ndarray, weight: np.ndarray,
               num_nodes: int, config: dict[str, Any]) -> np.ndarray: ...


def _weights(text: Any) -> str:
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        values = []
    if not values or any(v < 0 for v in values) or not any(values):
        raise ParameterError(f"parameter iteration_weights={text!r} must be comma-separated "
                             "non-negative numbers, not all zero, e.g. '0,1,1'")
    return ",".join(f"{v:g}" for v in values)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class GdsFastRP(Recommender):
    """FastRP (GDS, in Neo4j) on the train graph; item-based or dot-product ranking."""

    name: ClassVar[str] = "gds_fastrp"
    #: ``fit``'s graph is the database (a :class:`FastRPBackend`), not a ``HeteroData``.
    needs_graph: ClassVar[bool] = True
    in_database: ClassVar[bool] = True

    def __init__(self, dim: int = 512, iteration_weights: str = "1,1,1",
                 normalization_strength: float = 0.0, self_influence: float = 0.0,
                 weight: str = "rating", scoring: str = "item", seed: int = 42) -> None:
        super().__init__()
        self.dim = check_int("dim", dim, 8, 4096)
        self.iteration_weights = _weights(iteration_weights)
        self.normalization_strength = check_float("normalization_strength",
                                                  normalization_strength, -1.0, 1.0)
        self.self_influence = check_float("self_influence", self_influence, 0.0)
        self.weight = check_choice("weight", weight, ("rating", "binary"))
        self.scoring = check_choice("scoring", scoring, ("item", "dot"))
        self.seed = check_int("seed", seed, 0)
        self.user_vectors = np.zeros((0, self.dim), dtype=np.float32)
        self.item_vectors = np.zeros((0, self.dim), dtype=np.float32)

    def config(self) -> dict[str, Any]:
        """The ``gds.fastRP`` configuration of these parameters."""
        return {
            "embeddingDimension": self.dim,
            "iterationWeights": [float(v) for v in self.iteration_weights.split(",")],
            "normalizationStrength": self.normalization_strength,
            "nodeSelfInfluence": self.self_influence,
            "relationshipWeightProperty": "weight",
            "randomSeed": self.seed,
        }

    def _fit(self, train: Interactions, valid: Interactions | None, graph: Any) -> FitHistory:
        if not isinstance(graph, FastRPBackend):
            raise ParameterError(
                "gds_fastrp computes FastRP in Neo4j: run it through `engine train` or "
                "`engine evaluate` on a server with the GDS plugin (`engine db start --plugins gds`)"
            )
        t0 = time.perf_counter()
        u, i = train.user.astype(np.int64), train.item.astype(np.int64)
        w = (np.asarray(train.rating, np.float64) / 5.0 if self.weight == "rating"
             else np.ones(len(u)))
        vectors = graph.fastrp(u, self.num_users + i, w, self.num_users + self.num_items,
                               self.config())
        self.item_vectors = vectors[self.num_users:].astype(np.float32)
        if self.scoring == "dot":
            self.user_vectors = vectors[: self.num_users].astype(np.float32)
        else:
            self._fold_users(train)
        return FitHistory(fit_seconds=time.perf_counter() - t0)

    def _fold_users(self, history: Interactions) -> None:
        """``p_u = Σ ê_i`` over the history (``dot``: the mean of the rated items' vectors)."""
        assert self._seen is not None
        items = _unit(self.item_vectors) if self.scoring == "item" else self.item_vectors
        profile = np.asarray(self._seen @ items, dtype=np.float32)
        if self.scoring == "dot":
            counts = np.asarray(self._seen.sum(axis=1), dtype=np.float32).reshape(-1, 1)
            profile /= np.maximum(counts, 1.0)
        self.user_vectors = profile

    def score(self, users: np.ndarray) -> np.ndarray:
        items = _unit(self.item_vectors) if self.scoring == "item" else self.item_vectors
        return self.user_vectors[np.asarray(users, dtype=np.int64)] @ items.T

    def embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        items = _unit(self.item_vectors) if self.scoring == "item" else self.item_vectors
        return self.user_vectors, items.astype(np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {"user_vectors": self.user_vectors, "item_vectors": self.item_vectors}

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.user_vectors = state["user_vectors"].astype(np.float32)
        self.item_vectors = state["item_vectors"].astype(np.float32)
