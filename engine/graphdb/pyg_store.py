"""A Neo4j-backed PyG remote backend: ``FeatureStore`` and ``GraphStore`` over the ReelGraph graph.

PyG's stock ``NeighborLoader`` and ``LinkNeighborLoader`` accept a ``(FeatureStore,
GraphStore)`` pair instead of an in-memory ``HeteroData``. :func:`connect` gives that pair
for the graph in Neo4j (``docs/pyg-stores.md`` lists the loaders and options that work)::

    settings = Neo4jSettings.from_env()                   # password from the env or .env
    feature_store, graph_store = connect(settings)        # topology pulled once
    data = (feature_store, graph_store)
    loader = NeighborLoader(data, num_neighbors=[10, 5], input_nodes="user",
                            batch_size=512, num_workers=2,
                            neighbor_sampler=neighbor_sampler(data, [10, 5]))

(``input_nodes="user"`` or ``("user", torch.arange(n))``: PyG 2.8.1 cannot size
``("user", None)`` over a remote backend.)

* :class:`~engine.graphdb.pyg_graph.Neo4jGraphStore` -- the topology, pulled ONCE per
  edge type (``rated`` / ``rev_rated`` from RATED, ``in_genre`` / ``rev_in_genre`` from
  IN_GENRE) as sorted CSC, with each user <-> movie edge's z-scored rating and int64
  epoch-second ``timestamp`` in CSC order (:mod:`engine.graphdb.pyg_graph`).
* :class:`Neo4jFeatureStore` -- node features fetched PER BATCH: the batch's node
  indices become raw ``userId`` / ``movieId`` / genre ``name`` and one parameterised
  query (``cypher/pyg/*_features.cypher``) per node type returns the node property for
  all of them; a batch's node types are fetched concurrently. Every PyG index kind
  works (``None``, slices, an int, a bool mask, tensors, numpy arrays); dtypes and
  shapes round-trip (:mod:`engine.graphdb.pyg_values`: int64 stays int64). ``genre.x``
  is the one-hot of the genre's index, as in the engine's ``HeteroData`` (computed, no
  round trip); the graph store's edge ``timestamp`` and ``edge_attr`` of ``rated`` /
  ``rev_rated`` are listed as edge-level attributes (``TensorAttr(edge_type, name)``),
  which is how PyG's samplers find ``time_attr``. Only attributes that exist are listed.
* Both stores pickle: the feature store holds a :class:`~engine.graphdb.pyg_worker.DriverHandle`
  (settings, not a live driver) and each DataLoader worker opens its own driver, after
  ``fork`` or ``spawn``. Build them from :class:`Neo4jSettings` for ``num_workers > 0``;
  the password then travels to spawned workers inside the pickled settings only.

Anything the stores cannot serve is a one-line :class:`StoreError` (a ``KeyError``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import neo4j
import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import FeatureStore

from engine.data.interactions import IdMap
from engine.data.selection import Selection
from engine.graphdb.pyg_graph import Neo4jGraphStore
from engine.graphdb.pyg_values import (
    Layout,
    StoreError,
    TensorAttr,
    as_ours,
    decode,
    encode,
    infer_layout,
    resolve_index,
)
from engine.graphdb.pyg_worker import DriverHandle
from engine.graphdb.runner import Runner, spans
from engine.schema import TRAIN_FEATURES, NodeType, Prop
from engine.settings import Neo4jSettings

__all__ = ["Neo4jFeatureStore", "Neo4jGraphStore", "StoreError", "TensorAttr", "connect"]

log = logging.getLogger(__name__)

#: Per node type: (read, write, probe statement, id parameter, label).
_NODE_QUERIES: dict[str, tuple[str, str, str, str, str]] = {
    NodeType.USER: ("pyg/user_features", "pyg/user_features_write", "pyg/user_features_probe",
                    "userIds", "User"),
    NodeType.MOVIE: ("pyg/movie_features", "pyg/movie_features_write", "pyg/movie_features_probe",
                     "movieIds", "Movie"),
    NodeType.GENRE: ("pyg/genre_features", "pyg/genre_features_write", "pyg/genre_features_probe",
                     "names", "Genre"),
}
_WRITE_ROWS = 5_000
_READ_ROWS = 20_000


#: Properties the graph itself lives on (ids, loaded data, live and write-back state): readable
#: through the store, never written or removed by it.
_RESERVED = frozenset(v for k, v in vars(Prop).items() if k.isupper() and isinstance(v, str))


def _writable(prop: str, key: tuple[Any, Any]) -> None:
    if prop in _RESERVED:
        raise StoreError(f"{_name(*key)} is the graph's own property {prop!r} (ids, loaded data or "
                         "live state); the store reads it but never writes or removes it -- put "
                         "your tensor under another name")


class _Ids:
    """Node index <-> raw id (userId, movieId or genre name) of one node type; ids sorted."""

    def __init__(self, raw: np.ndarray) -> None:
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    def index_of(self, ids: Sequence[Any]) -> np.ndarray:
        """Sorted indices of those ``ids`` that are nodes of the map (others ignored)."""
        if not len(ids):
            return np.zeros(0, dtype=np.int64)
        got = np.asarray(list(ids), dtype=None if self.raw.dtype.kind == "U" else np.int64)
        pos = np.minimum(np.searchsorted(self.raw, got), max(len(self.raw) - 1, 0))
        ok = self.raw[pos] == got if len(self.raw) else np.zeros(len(got), dtype=bool)
        return np.unique(pos[ok]).astype(np.int64)

    def param(self, ids: np.ndarray) -> list[Any]:
        return [str(v) for v in ids] if self.raw.dtype.kind == "U" else [int(v) for v in ids]


class Neo4jFeatureStore(FeatureStore):
    """Node features read from Neo4j per batch (see module docstring).

    Args:
        source: where the features live: :class:`Neo4jSettings` (picklable: use these for
            ``num_workers > 0``; the password stays inside the settings object), an open
            driver (this process only; workers then read the credentials from the
            environment / ``.env``), or a :class:`DriverHandle`.
        idmap: node index <-> raw id (the export's; user/movie index ``i`` is node
            ``idmap.users[i]`` / ``idmap.movies[i]``).
        attrs: ``{(node_type, attr_name): node property}``; default: ``x`` of users and
            movies is the ``trainFeatures`` property. Listed once the property exists.
        database: the Neo4j database (default: the settings', else ``"neo4j"``).
        genres: genre names by genre index (the export's ``genres``): genre nodes, and a
            one-hot ``genre.x`` unless ``attrs`` maps ``("genre", "x")`` to a property.
        graph_store: the pair's graph store: its edge ``timestamp`` / ``edge_attr`` become
            edge-level attributes (what PyG's temporal samplers read).
    """

    def __init__(self, source: neo4j.Driver | Neo4jSettings | DriverHandle, idmap: IdMap, *,
                 attrs: Mapping[tuple[str, str], str] | None = None, database: str | None = None,
                 genres: Sequence[str] = (), graph_store: Neo4jGraphStore | None = None) -> None:
        super().__init__(tensor_attr_cls=TensorAttr)
        self.handle = source if isinstance(source, DriverHandle) else DriverHandle(source, database)
        self.idmap = idmap
        self.graph_store = graph_store
        self._ids = {NodeType.USER: _Ids(idmap.users), NodeType.MOVIE: _Ids(idmap.movies),
                     NodeType.GENRE: _Ids(np.asarray(sorted(genres), dtype=str))}
        self.attrs = dict(attrs if attrs is not None else {
            (NodeType.USER, "x"): TRAIN_FEATURES, (NodeType.MOVIE, "x"): TRAIN_FEATURES})
        for (group, _), _prop in self.attrs.items():
            if group not in _NODE_QUERIES:
                raise StoreError(f"node type {group!r} has no features in Neo4j; use 'user', "
                                 "'movie' or 'genre'")
        self.one_hot = {(NodeType.GENRE, "x")} if genres and (NodeType.GENRE, "x") not in self.attrs \
            else set()
        self._layout: dict[tuple[str, str], Layout] = {}
        self._present: dict[tuple[str, str], np.ndarray] = {}  # node indices holding it
        self._count_lock = threading.Lock()
        self.fetches = 0  # queries sent (one per node type per batch)

    @property
    def runner(self) -> Runner:
        """The query runner of this process (its own driver in a DataLoader worker)."""
        return self.handle.runner()

    # -- pickling (DataLoader workers): the handle keeps settings, not a driver -----------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_count_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._count_lock = threading.Lock()

    def close(self) -> None:
        """Close the driver the store opened in this process (a driver passed in stays open)."""
        self.handle.close()

    # -- bookkeeping ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Forget what is known of the graph's properties (after another process changed them)."""
        self._layout.clear()
        self._present.clear()

    def _probe(self, key: tuple[str, str]) -> np.ndarray:
        """Indices of the nodes holding ``key``'s property (one query, cached); infers its layout."""
        if key not in self._present:
            group = key[0]
            _, _, probe, _, _ = _NODE_QUERIES[group]
            rows = self.runner.read(probe, property=self.attrs[key])
            ids, sample = (rows[0]["ids"], rows[0]["sample"]) if rows else ([], None)
            self._present[key] = self._ids[group].index_of(ids)
            if len(self._present[key]) and key not in self._layout:
                self._layout[key] = infer_layout(sample, self.attrs[key])
        return self._present[key]

    def _exists(self, key: tuple[Any, Any]) -> bool:
        if key in self.one_hot:
            return True
        if isinstance(key[0], tuple):
            return self.graph_store is not None and key in self.graph_store.edge_tensor_attrs()
        return key in self.attrs and len(self._probe(key)) > 0

    def _key(self, attr: TensorAttr) -> tuple[Any, str]:
        key = (attr.group_name, attr.attr_name)
        if not self._exists(key):
            known = ", ".join(_name(a.group_name, a.attr_name) for a in self.get_all_tensor_attrs())
            if key in self.attrs:
                label = _NODE_QUERIES[key[0]][4]
                raise StoreError(f"{_name(*key)} is the node property {self.attrs[key]!r}, which no "
                                 f"{label} node holds yet (engine train --store neo4j writes "
                                 f"{TRAIN_FEATURES!r}, put_tensor any); the store has {known or 'none'}")
            raise StoreError(f"the feature store has no attribute {_name(*key)}; it has {known or 'none'}")
        return key

    # -- PyG FeatureStore interface -------------------------------------------------------
    def put_tensor(self, tensor: Any, *args: Any, **kwargs: Any) -> bool:
        return super().put_tensor(tensor, *as_ours(args), **kwargs)

    def get_tensor(self, *args: Any, convert_type: bool = False, **kwargs: Any) -> Any:
        return super().get_tensor(*as_ours(args), convert_type=convert_type, **kwargs)

    def multi_get_tensor(self, attrs: list[Any], convert_type: bool = False) -> list[Any]:
        return super().multi_get_tensor([as_ours((a,))[0] for a in attrs], convert_type=convert_type)

    def remove_tensor(self, *args: Any, **kwargs: Any) -> bool:
        return super().remove_tensor(*as_ours(args), **kwargs)

    def update_tensor(self, tensor: Any, *args: Any, **kwargs: Any) -> bool:
        return super().update_tensor(tensor, *as_ours(args), **kwargs)

    def get_tensor_size(self, *args: Any, **kwargs: Any) -> tuple[int, ...] | None:
        return super().get_tensor_size(*as_ours(args), **kwargs)

    def get_all_tensor_attrs(self) -> list[TensorAttr]:
        out = [TensorAttr(g, a) for g, a in self.attrs if self._exists((g, a))]
        out += [TensorAttr(g, a) for g, a in sorted(self.one_hot)]
        if self.graph_store is not None:
            out += [TensorAttr(et, name) for et, name in self.graph_store.edge_tensor_attrs()]
        return out

    def _get_tensor(self, attr: TensorAttr) -> Tensor | None:
        key = self._key(attr)
        group = key[0]
        if isinstance(group, tuple):  # edge-level: the graph store's, in CSC order
            assert self.graph_store is not None
            full = self.graph_store.edge_tensor(group, key[1])
            return _select(full, resolve_index(attr.index, full.shape[0], f"{group} edges"))
        n = len(self._ids[group])
        sel = resolve_index(attr.index, n, f"{group} nodes")
        if key in self.one_hot:
            return _select(torch.eye(n, dtype=torch.float32), sel)
        if sel is None:
            present = self._probe(key)  # every node holding the property, in index order
            sel = present, (len(present),)
        idx, lead = sel
        return self._fetch(key, idx).reshape(*lead, *self._layout[key].shape)

    def _fetch(self, key: tuple[str, str], idx: np.ndarray) -> Tensor:
        """``[len(idx), *shape]`` rows of ``key`` for node indices ``idx`` (each node fetched once)."""
        group = key[0]
        read, _, _, param, label = _NODE_QUERIES[group]
        prop, ids = self.attrs[key], self._ids[group]
        layout = self._layout.get(key)
        if len(idx) == 0:
            if layout is None:
                self._probe(key)
                layout = self._layout.get(key)
            return layout.empty() if layout is not None else torch.zeros((0, 0))
        wanted, inverse = np.unique(ids.raw[idx], return_inverse=True)
        parts = []
        for lo, hi in spans(len(wanted), _READ_ROWS):
            chunk = wanted[lo:hi]
            rows = self.runner.read(read, **{param: ids.param(chunk)}, property=prop)
            with self._count_lock:
                self.fetches += 1
            got = np.asarray(rows[0]["ids"] if rows else [], dtype=chunk.dtype)
            values = rows[0]["values"] if rows else []
            order = np.argsort(got, kind="stable")
            if not np.array_equal(got[order], chunk) or len(values) != len(got):
                missing = sorted(set(chunk.tolist()) - set(got.tolist()))
                what = (f"{label} {missing[0]!r} is not in the graph" if missing else
                        f"some {label} nodes have no property {prop!r}")
                raise StoreError(f"{what}; expected every node of the batch to have {prop!r} "
                                 "(engine train --store neo4j writes it)")
            if layout is None:
                layout = self._layout.setdefault(key, infer_layout(values[0], prop))
            parts.append(decode([values[i] for i in order], layout, prop))
        return torch.cat(parts)[torch.from_numpy(inverse.reshape(-1))]

    def _multi_get_tensor(self, attrs: list[TensorAttr]) -> list[Tensor | None]:
        """One query per node type of the batch, the types fetched concurrently."""
        remote = [i for i, a in enumerate(attrs) if (a.group_name, a.attr_name) in self.attrs]
        if len(remote) < 2:
            return [self._get_tensor(a) for a in attrs]
        self.handle.runner()  # open this process's driver before the threads share it
        out: list[Tensor | None] = [None] * len(attrs)
        with ThreadPoolExecutor(max_workers=min(len(remote), 4)) as pool:
            futures = {i: pool.submit(self._get_tensor, attrs[i]) for i in remote}
            for i, a in enumerate(attrs):
                out[i] = futures[i].result() if i in futures else self._get_tensor(a)
        return out

    def _put_tensor(self, tensor: Any, attr: TensorAttr) -> bool:
        group, name = attr.group_name, attr.attr_name
        if not isinstance(name, str) or not name:
            raise StoreError(f"put_tensor needs an attribute name: store[{group!r}, {name!r}, ...] "
                             f"names none; use e.g. store[{group!r}, 'x', None] = tensor")
        if isinstance(group, tuple):
            raise StoreError(f"edge attributes of {group} come from Neo4j's RATED edges; the graph "
                             "store is read-only")
        if group not in _NODE_QUERIES:
            raise StoreError(f"node type {group!r} has no features in Neo4j; use 'user', 'movie' "
                             "or 'genre'")
        key = (group, name)
        if key in self.one_hot:
            raise StoreError("genre.x is the one-hot of the genre index (computed, not stored); "
                             "store genre features under another name")
        ids = self._ids[group]
        x = torch.as_tensor(tensor).detach().cpu()
        sel = resolve_index(attr.index, len(ids), f"{group} nodes")
        idx, lead = (np.arange(len(ids), dtype=np.int64), (len(ids),)) if sel is None else sel
        if tuple(x.shape[:len(lead)]) != lead:
            raise StoreError(f"{_name(*key)}: a tensor of shape {tuple(x.shape)} for an index "
                             f"selecting {lead or 'one'} node(s)")
        x = x.reshape(len(idx), *x.shape[len(lead):])
        prop = self.attrs.get(key, TRAIN_FEATURES if name == "x" else name)
        _writable(prop, key)
        self.attrs[key] = prop
        values, layout = encode(x, prop)
        if sel is not None and self._exists(key) and self._layout[key] != layout \
                and len(np.setdiff1d(self._present[key], idx)):
            old = self._layout[key]
            raise StoreError(f"{_name(*key)} holds {old.dtype} rows of shape {old.shape} on other "
                             f"nodes; a put of {layout.dtype} {layout.shape} rows would mix them "
                             "(put every node, index=None, or remove it first)")
        _, write, _, _, _ = _NODE_QUERIES[group]
        for lo, hi in spans(len(idx), _WRITE_ROWS):
            rows = [{"id": raw, "x": v} for raw, v in
                    zip(ids.param(ids.raw[idx[lo:hi]]), values[lo:hi], strict=True)]
            self.runner.write(write, rows=rows, property=prop)
        self._layout[key] = layout
        known = self._present.get(key)
        self._present[key] = (np.arange(len(ids), dtype=np.int64) if sel is None else
                              np.union1d(known, idx) if known is not None else np.unique(idx))
        return True

    def _remove_tensor(self, attr: TensorAttr) -> bool:
        key = (attr.group_name, attr.attr_name)
        if isinstance(key[0], tuple) and self._exists(key):
            raise StoreError(f"edge attributes of {key[0]} come from Neo4j's RATED edges; the graph "
                             "store is read-only")
        if key not in self.attrs or not self._exists(key):
            return False
        _, _, _, _, label = _NODE_QUERIES[key[0]]
        _writable(self.attrs[key], key)
        self.runner.autocommit("pyg/features_remove", label=label, property=self.attrs[key])
        self._present[key] = np.zeros(0, dtype=np.int64)
        self._layout.pop(key, None)
        return True

    def _get_tensor_size(self, attr: TensorAttr) -> tuple[int, ...] | None:
        key = (attr.group_name, attr.attr_name)
        if not self._exists(key):
            return None
        if isinstance(key[0], tuple):
            assert self.graph_store is not None
            full = self.graph_store.edge_tensor(key[0], key[1])
            n = rows = int(full.shape[0])
            shape: tuple[int, ...] = tuple(full.shape[1:])
        elif key in self.one_hot:
            n = rows = len(self._ids[key[0]])
            shape = (n,)
        else:
            n, rows = len(self._ids[key[0]]), len(self._probe(key))  # index None: the holders
            shape = self._layout[key].shape
        sel = resolve_index(attr.index, n, f"{key[0]} rows")
        return (rows, *shape) if sel is None else (*sel[1], *shape)


def _name(group: Any, name: Any) -> str:
    return f"{group}.{name}"


def _select(full: Tensor, sel: tuple[np.ndarray, tuple[int, ...]] | None) -> Tensor:
    if sel is None:
        return full
    idx, lead = sel
    return full[torch.from_numpy(idx)].reshape(*lead, *full.shape[1:])


def connect(source: neo4j.Driver | Neo4jSettings, selection: Selection | None = None, *,
            database: str | None = None, attrs: Mapping[tuple[str, str], str] | None = None
            ) -> tuple[Neo4jFeatureStore, Neo4jGraphStore]:
    """``(feature_store, graph_store)`` over the graph in Neo4j, for PyG's loaders.

    ``source``: :class:`Neo4jSettings` (the stores open their own driver, in every
    DataLoader worker too) or an open driver (single-process use; workers then connect
    with the environment's settings). The topology is pulled once, here.
    """
    handle = DriverHandle(source, database)
    graph_store, export = Neo4jGraphStore.pull(handle.driver(), selection, database=handle.database)
    features = Neo4jFeatureStore(handle, export.idmap, attrs=attrs, genres=export.genres,
                                 graph_store=graph_store)
    features.get_all_tensor_attrs()  # probe which attributes exist, once, in this process
    return features, graph_store
