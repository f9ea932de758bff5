"""A Neo4j-backed PyG remote backend: ``FeatureStore`` and ``GraphStore`` over the ReelGraph graph.

PyG's stock ``NeighborLoader`` and ``LinkNeighborLoader`` accept a ``(FeatureStore,
GraphStore)`` pair instead of an in-memory ``HeteroData``. :func:`connect` gives that pair
for the graph in Neo4j::

    feature_store, graph_store = connect(driver)          # topology pulled once
    loader = NeighborLoader((feature_store, graph_store), num_neighbors=[10, 5],
                            input_nodes=("user", None), batch_size=512,
                            neighbor_sampler=neighbor_sampler((feature_store, graph_store),
                                                              [10, 5]))

* :class:`Neo4jGraphStore` -- the topology, pulled ONCE per edge type: ``rated`` /
  ``rev_rated`` from RATED through the parallel-list export
  (:func:`engine.graphdb.export.export_subgraph`), ``in_genre`` / ``rev_in_genre`` from
  IN_GENRE, held as CSC (sorted by destination, then source) with the z-scored rating of
  each user <-> movie edge in CSC order (:meth:`Neo4jGraphStore.edge_attr`).
* :class:`Neo4jFeatureStore` -- node features fetched PER BATCH: the batch's node
  indices become raw ``userId`` / ``movieId`` through the :class:`IdMap`, and one
  parameterised query (``cypher/pyg/*_features.cypher``) per node type returns the node
  property (a number, a float list, or float32 bytes) for all of them; a batch's node
  types are fetched concurrently. ``put_tensor`` writes such a property as float32 bytes
  (``cypher/pyg/*_features_write.cypher``; decoding bytes costs a third less than float
  lists): ``engine train --store neo4j`` writes the train-fitted features as
  ``trainFeatures`` before it trains.

An edge type or attribute the graph lacks, or a node without the property, is a one-line
:class:`StoreError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import neo4j
import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import EdgeAttr, FeatureStore, GraphStore, TensorAttr
from torch_geometric.typing import EdgeTensorType

from engine.data.hetero import store_topology
from engine.data.interactions import IdMap, Interactions
from engine.data.selection import Export, Selection
from engine.errors import ReelGraphError
from engine.graphdb.runner import Runner, spans
from engine.schema import RATED_BY, RATES, TRAIN_FEATURES, EdgeType, NodeType

__all__ = ["Neo4jFeatureStore", "Neo4jGraphStore", "StoreError", "connect"]

#: The statements of each node type: (read, write, id key).
_NODE_QUERIES: dict[str, tuple[str, str, str]] = {
    NodeType.USER: ("pyg/user_features", "pyg/user_features_write", "userIds"),
    NodeType.MOVIE: ("pyg/movie_features", "pyg/movie_features_write", "movieIds"),
}
_LABELS = {NodeType.USER: "User", NodeType.MOVIE: "Movie"}
_WRITE_ROWS = 5_000


class StoreError(ReelGraphError, KeyError):
    """The graph has no such edge type, node type or attribute."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def _decode(values: list[Any], n: int, prop: str) -> np.ndarray:
    """``[n, F]`` float32 from the property values: numbers, float lists or float32 bytes."""
    if n and isinstance(values[0], bytes | bytearray):
        widths = {len(v) for v in values}
        if len(widths) != 1:
            raise StoreError(f"node property {prop!r} holds byte strings of lengths "
                             f"{sorted(widths)}; expected float32 vectors of one width")
        return np.frombuffer(b"".join(values), dtype="<f4").reshape(n, -1).astype(np.float32)
    try:
        return np.asarray(values, dtype=np.float32).reshape(n, -1)
    except (TypeError, ValueError):
        raise StoreError(f"node property {prop!r} is not a number or a float list of one width "
                         "on every node") from None


class Neo4jGraphStore(GraphStore):
    """The ReelGraph topology as CSC per edge type (see module docstring)."""

    def __init__(self, edges: Mapping[EdgeType, tuple[np.ndarray, np.ndarray]],
                 sizes: Mapping[str, int], edge_attrs: Mapping[EdgeType, np.ndarray] | None = None
                 ) -> None:
        super().__init__()
        self.sizes = dict(sizes)
        self._csc: dict[EdgeType, tuple[Tensor, Tensor]] = {}
        self._attr: dict[EdgeType, Tensor] = {}
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

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_export(cls, export: Export, train: Interactions | None = None) -> Neo4jGraphStore:
        """The topology of an export's RATED / IN_GENRE edges (only ``train``'s pairs if given).

        ``train`` keeps held-out ratings out of message passing: pass the split's train
        part when the store feeds a model that is evaluated on the rest.
        """
        inter = export.interactions if train is None else train
        edges, attrs, genres = store_topology(inter, export.movies)
        sizes = {NodeType.USER: inter.num_users, NodeType.MOVIE: inter.num_items,
                 NodeType.GENRE: genres}
        return cls(edges, sizes, attrs)

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

    # -- extras ---------------------------------------------------------------------------
    def edge_attr(self, edge_type: EdgeType) -> Tensor:
        """``[E, 1]`` z-scored rating per edge, in CSC order (index it with a batch's ``e_id``)."""
        if edge_type not in self._attr:
            raise StoreError(f"edge type {edge_type} has no edge attribute (only {RATES} and {RATED_BY})")
        return self._attr[edge_type]


class Neo4jFeatureStore(FeatureStore):
    """Node features read from Neo4j per batch (see module docstring).

    Args:
        driver: an open Neo4j driver.
        idmap: node index <-> raw id (the export's; user/movie index ``i`` is node
            ``idmap.users[i]`` / ``idmap.movies[i]``).
        attrs: ``{(node_type, attr_name): node property}``; default: ``x`` of users and
            movies is the ``trainFeatures`` property.
        database: the Neo4j database.
    """

    def __init__(self, driver: neo4j.Driver, idmap: IdMap, *,
                 attrs: Mapping[tuple[str, str], str] | None = None,
                 database: str = "neo4j") -> None:
        super().__init__()
        self.runner = Runner(driver, database)
        self.idmap = idmap
        self.attrs = dict(attrs if attrs is not None else {
            (NodeType.USER, "x"): TRAIN_FEATURES, (NodeType.MOVIE, "x"): TRAIN_FEATURES})
        for (group, _), _prop in self.attrs.items():
            if group not in _NODE_QUERIES:
                raise StoreError(f"node type {group!r} has no features in Neo4j; use 'user' or 'movie'")
        self._dims: dict[tuple[str, str], int] = {}
        self.fetches = 0  # queries sent (one per node type per batch)

    def _raw_ids(self, group: str) -> np.ndarray:
        return self.idmap.users if group == NodeType.USER else self.idmap.movies

    def _key(self, attr: TensorAttr) -> tuple[str, str]:
        key = (attr.group_name, attr.attr_name)
        if key not in self.attrs:
            known = ", ".join(f"{g}.{a}" for g, a in self.attrs)
            raise StoreError(f"the feature store has no attribute {key[0]}.{key[1]}; it has {known}")
        return key

    def _get_tensor(self, attr: TensorAttr) -> Tensor | None:
        group, name = self._key(attr)
        raw = self._raw_ids(group)
        index = attr.index
        if index is None or (isinstance(index, slice) and index == slice(None)):
            idx = np.arange(len(raw))
        elif isinstance(index, slice):
            idx = np.arange(len(raw))[index]
        else:
            idx = torch.as_tensor(index).cpu().numpy().astype(np.int64)
        read, _, key = _NODE_QUERIES[group]
        prop = self.attrs[(group, name)]
        if len(idx) == 0:
            width = self._dims.get((group, name), 0)
            return torch.zeros((0, width), dtype=torch.float32)
        wanted, inverse = np.unique(raw[idx], return_inverse=True)  # each node fetched once
        parts = []
        for lo, hi in spans(len(wanted), 20_000):
            ids = wanted[lo:hi]
            rows = self.runner.read(read, **{key: ids.tolist()}, property=prop)
            self.fetches += 1
            got_ids = np.asarray(rows[0]["ids"], dtype=np.int64) if rows else np.zeros(0, np.int64)
            values = rows[0]["values"] if rows else []
            order = np.argsort(got_ids, kind="stable")
            if not np.array_equal(got_ids[order], ids) or len(values) != len(got_ids):
                missing = sorted(set(ids.tolist()) - set(got_ids.tolist()))
                what = (f"{_LABELS[group]} {missing[0]} is not in the graph" if missing else
                        f"some {_LABELS[group]} nodes have no property {prop!r}")
                raise StoreError(f"{what}; expected every node of the batch to have {prop!r} "
                                 "(engine train --store neo4j writes it)")
            parts.append(_decode(values, len(got_ids), prop)[order])
        return torch.from_numpy(np.concatenate(parts)[inverse])

    def _multi_get_tensor(self, attrs: list[TensorAttr]) -> list[Tensor | None]:
        """One query per node type of the batch, the types fetched concurrently."""
        if len(attrs) < 2:
            return [self._get_tensor(a) for a in attrs]
        with ThreadPoolExecutor(max_workers=min(len(attrs), 4)) as pool:
            return list(pool.map(self._get_tensor, attrs))

    def _put_tensor(self, tensor: Any, attr: TensorAttr) -> bool:
        group, name = attr.group_name, attr.attr_name
        if group not in _NODE_QUERIES:
            raise StoreError(f"node type {group!r} has no features in Neo4j; use 'user' or 'movie'")
        prop = self.attrs.setdefault((group, name), TRAIN_FEATURES if name == "x" else name)
        x = torch.as_tensor(tensor).detach().cpu().numpy().astype(np.float64)
        raw = self._raw_ids(group)
        idx = np.arange(len(raw)) if attr.index is None else \
            torch.as_tensor(attr.index).cpu().numpy().astype(np.int64)
        if x.shape[0] != len(idx):
            raise StoreError(f"{group}.{name}: {x.shape[0]} rows for {len(idx)} nodes")
        x = x.reshape(len(idx), -1).astype("<f4")
        _, write, _ = _NODE_QUERIES[group]
        for lo, hi in spans(len(idx), _WRITE_ROWS):  # float32 little-endian bytes per node
            rows = [{"id": int(raw[i]), "x": x[j].tobytes()} for j, i in enumerate(idx[lo:hi], lo)]
            self.runner.write(write, rows=rows, property=prop)
        self._dims.pop((group, name), None)
        return True

    def _remove_tensor(self, attr: TensorAttr) -> bool:
        group, name = self._key(attr)
        self.runner.autocommit("pyg/features_remove", label=_LABELS[group],
                               property=self.attrs[(group, name)])
        self._dims.pop((group, name), None)
        return True

    def _get_tensor_size(self, attr: TensorAttr) -> tuple[int, ...] | None:
        group, name = self._key(attr)
        n = len(self._raw_ids(group))
        if (group, name) not in self._dims:
            probe = self._get_tensor(TensorAttr(group, name, torch.arange(min(n, 1))))
            self._dims[(group, name)] = int(probe.shape[1]) if probe is not None and n else 0
        return (n, self._dims[(group, name)])

    def get_all_tensor_attrs(self) -> list[TensorAttr]:
        return [TensorAttr(group, name) for group, name in self.attrs]


def connect(driver: neo4j.Driver, selection: Selection | None = None, *, database: str = "neo4j",
            attrs: Mapping[tuple[str, str], str] | None = None
            ) -> tuple[Neo4jFeatureStore, Neo4jGraphStore]:
    """``(feature_store, graph_store)`` over the graph in Neo4j, for PyG's loaders."""
    graph_store, export = Neo4jGraphStore.pull(driver, selection, database=database)
    return Neo4jFeatureStore(driver, export.idmap, attrs=attrs, database=database), graph_store
