"""FastRP in numpy: the unit tier's stand-in for GDS's ``gds.fastRP`` (no server here).

tests/integration/test_gds.py runs the real one in Neo4j.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp


class NumpyFastRP:
    """FastRP in numpy for the model's unit tests (the real one is GDS's; see integration)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def fastrp(self, source: np.ndarray, target: np.ndarray, weight: np.ndarray,
               num_nodes: int, config: dict[str, Any]) -> np.ndarray:
        self.calls.append({"source": source, "target": target, "weight": weight,
                           "num_nodes": num_nodes, "config": config})
        rng = np.random.default_rng(config["randomSeed"])
        dim = config["embeddingDimension"]
        adj = sp.coo_matrix((weight, (source, target)), shape=(num_nodes, num_nodes)).tocsr()
        adj = adj + adj.T
        deg = np.asarray(adj.sum(axis=1)).ravel()
        step = sp.diags(1.0 / np.maximum(deg, 1e-12)) @ adj
        cur = rng.choice([-1.0, 0.0, 1.0], size=(num_nodes, dim), p=[1 / 6, 2 / 3, 1 / 6])
        out = np.zeros((num_nodes, dim))
        for w in config["iterationWeights"]:
            cur = step @ cur
            cur /= np.maximum(np.linalg.norm(cur, axis=1, keepdims=True), 1e-12)
            out += w * cur
        out[deg == 0] = 0.0
        return out.astype(np.float32)
