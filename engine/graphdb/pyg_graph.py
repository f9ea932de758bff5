"""The Neo4j-backed PyG ``GraphStore``: ReelGraph's topology, pulled once, as sorted CSC.

``rated`` / ``rev_rated`` come from RATED through the parallel-list export
(:func:`engine.graphdb.export.export_subgraph`), ``in_genre`` / ``rev_in_genre`` from
IN_GENRE; each edge type is held as CSC sorted by destination, then source
(``is_sorted=True``: PyG's samplers use it as is). Beside the topology, in the same CSC
order (a batch's ``e_id`` indexes them): the z-scored rating of each user <-> movie edge
(:meth:`Neo4jGraphStore.edge_attr`) and its int64 epoch-second ``timestamp``
(:meth:`Neo4jGraphStore.edge_time`), what temporal sampling (``time_attr='timestamp'``)
reads through the feature store. The store is read-only and holds tensors only: it
pickles to DataLoader workers as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

import neo4j
import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import EdgeAttr, GraphStore
from torch_geometric.typing import EdgeTensorType

from engine.data.hetero import store_topology
from engine.data.interactions import Interactions
from engine.data.selection import Export, Selection
from engine.graphdb.pyg_values import StoreError
from engine.schema import RATED_BY, RATES, EdgeType, NodeType

__all__ = ["EDGE_ATTR", "TIMESTAMP", "Neo4jGraphStore", "pair_timestamps"]

#: Edge-level attributes the graph store serves (``TensorAttr(edge_type, name)``).
TIMESTAMP, EDGE_ATTR = "timestamp", "edge_attr"


def pair_timestamps(inter: Interactions) -> np.ndarray:
    """int64 epoch seconds of each distinct pair in :func:`rated_pairs` order (last row wins)."""
    key = inter.user.astype(np.int64) * max(inter.num_items, 1) + inter.item
    _, last = np.unique(key[::-1], return_index=True)  # sorted keys: (user, movie) order
    return inter.timestamp[len(key) - 1 - last].astype(np.int64)


class Neo4jGraphStore(GraphStore):
    """The ReelGraph topology as CSC per edge type (see module docstring)."""

    def __init__(self, edges: Mapping[EdgeType, tuple[np.ndarray, np.ndarray]],
                 sizes: Mapping[str, int], edge_attrs: Mapping[EdgeType, np.ndarray] | None = None,
                 edge_times: Mapping[EdgeType, np.ndarray] | None = None) -> None:
        super().__init__()
        self.sizes = dict(sizes)
        self._csc: dict[EdgeType, tuple[Tensor, Tensor]] = {}
        self._attr: dict[EdgeType, Tensor] = {}
        self._time: dict[EdgeType, Tensor] = {}
        for et, (src, dst) in edges.items():
            s, _, t = et
            order = np.lexsort((src, dst))  # by destination, then source
            row = torch.from_numpy(np.ascontiguousarray(src[order], dtype=np.int64))
            counts = np.bincount(dst, minlength=self.sizes[t])
            colptr = torch.from_numpy(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
            self._csc[et] = (row, colptr)
            if edge_attrs is not None and et in edge_attrs:
                self._attr[et] = torch.from_numpy(
                    np.ascontiguousarray(edge_attrs[et][order], dtype=np.float32)).reshape(-1, 1)
            if edge_times is not None and et in edge_times:
                self._time[et] = torch.from_numpy(np.ascontiguousarray(edge_times[et][order],
                                                                       dtype=np.int64))

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_export(cls, export: Export, train: Interactions | None = None) -> Neo4jGraphStore:
        """The topology of an export's RATED / IN_GENRE edges (only ``train``'s pairs if given).

        ``train`` keeps held-out ratings out of message passing: pass the split's train
        part when the store feeds a model that is evaluated on the rest. A pair rated twice
        is one edge with its last rating and timestamp.
        """
        inter = export.interactions if train is None else train
        edges, attrs, genres = store_topology(inter, export.movies)
        times = pair_timestamps(inter)
        if len(times) != len(edges[RATES][0]):  # both: the distinct pairs in (user, movie) order
            raise StoreError(f"{len(times)} pair timestamps for {len(edges[RATES][0])} rated edges")
        sizes = {NodeType.USER: inter.num_users, NodeType.MOVIE: inter.num_items,
                 NodeType.GENRE: genres}
        return cls(edges, sizes, attrs, {RATES: times, RATED_BY: times})

    @classmethod
    def pull(cls, driver: neo4j.Driver, selection: Selection | None = None, *,
             database: str = "neo4j", progress: bool = False) -> tuple[Neo4jGraphStore, Export]:
        """Pull the topology once from Neo4j; also returns the export (its IdMap, nodes)."""
        from engine.graphdb.export import export_subgraph

        export = export_subgraph(driver, selection, database=database, progress=progress)
        return cls.from_export(export), export

    # -- PyG GraphStore interface --------------------------------------------------------
    def _attr_key(self, edge_attr: EdgeAttr) -> EdgeType:
        et = edge_attr.edge_type
        if et not in self._csc:
            known = ", ".join(str(k) for k in self._csc)
            raise StoreError(f"the graph has no edge type {et}; it has {known}")
        return et

    def _put_edge_index(self, edge_index: EdgeTensorType, edge_attr: EdgeAttr) -> bool:
        raise StoreError("Neo4jGraphStore is read-only: its topology comes from Neo4j")

    def _get_edge_index(self, edge_attr: EdgeAttr) -> EdgeTensorType | None:
        et = self._attr_key(edge_attr)
        row, colptr = self._csc[et]
        if edge_attr.layout.value == "csc":
            return row, colptr
        if edge_attr.layout.value == "coo":
            col = torch.repeat_interleave(torch.arange(colptr.numel() - 1), colptr.diff())
            return row, col
        raise StoreError(f"edge layout {edge_attr.layout.value!r} is not stored; use 'coo' or 'csc'")

    def _remove_edge_index(self, edge_attr: EdgeAttr) -> bool:
        raise StoreError("Neo4jGraphStore is read-only: its topology comes from Neo4j")

    def get_all_edge_attrs(self) -> list[EdgeAttr]:
        return [EdgeAttr(et, "csc", is_sorted=True, size=(self.sizes[et[0]], self.sizes[et[2]]))
                for et in self._csc]

    # -- edge-level tensors (CSC order: index them with a batch's ``e_id``) ----------------
    def edge_attr(self, edge_type: EdgeType) -> Tensor:
        """``[E, 1]`` z-scored rating per edge, in CSC order (index it with a batch's ``e_id``)."""
        if edge_type not in self._attr:
            raise StoreError(f"edge type {edge_type} has no edge attribute (only {RATES} and {RATED_BY})")
        return self._attr[edge_type]

    def edge_time(self, edge_type: EdgeType) -> Tensor:
        """``[E]`` int64 epoch seconds of each edge's rating, in CSC order."""
        if edge_type not in self._time:
            raise StoreError(f"edge type {edge_type} has no timestamp (only {RATES} and {RATED_BY})")
        return self._time[edge_type]

    def edge_tensor_attrs(self) -> list[tuple[EdgeType, str]]:
        """``(edge_type, name)`` of every edge-level tensor: ``timestamp`` and ``edge_attr``."""
        return ([(et, TIMESTAMP) for et in self._time] + [(et, EDGE_ATTR) for et in self._attr])

    def edge_tensor(self, edge_type: EdgeType, name: str) -> Tensor:
        """The edge-level tensor ``name`` (``timestamp`` or ``edge_attr``) of ``edge_type``."""
        if name == TIMESTAMP:
            return self.edge_time(edge_type)
        if name == EDGE_ATTR:
            return self.edge_attr(edge_type)
        raise StoreError(f"edges have no attribute {name!r}; the graph store serves "
                         f"{TIMESTAMP!r} and {EDGE_ATTR!r}")
