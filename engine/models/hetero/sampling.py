"""Heterogeneous neighbour sampling for PyG's stock ``NeighborLoader`` / ``LinkNeighborLoader``.

PyG's :class:`~torch_geometric.sampler.NeighborSampler` samples through the compiled
``pyg-lib`` or ``torch-sparse`` kernels. Neither has a wheel for every torch build (none
for the torch this project pins on CPU-only machines), so :func:`neighbor_sampler` returns
the stock sampler when a kernel is installed and otherwise :class:`TorchNeighborSampler`:
the same sampler with its ``_sample`` step written in plain torch (and always for a store
pair: see :func:`neighbor_sampler`). Everything else -- the loaders, ``(FeatureStore,
GraphStore)`` inputs, CSC conversion, negative sampling, the ``HeteroData`` batches -- is
PyG's own.

Semantics (PyG's "directional" subgraph, no replacement): hop ``h`` takes, for every
relation ``s -> t`` and every ``t`` node added at hop ``h - 1`` (the seeds at hop 0), up
to ``num_neighbors[rel][h]`` of its in-neighbours uniformly without replacement (all of
them for ``-1``). New nodes get local indices in order of first appearance, after the
seeds.

* ``disjoint=True``: every seed grows its own subgraph (a node reached from two seeds is
  two local nodes); ``batch[t]`` holds each local node's seed, as PyG's kernels give it.
* Temporal (``time_attr``; always disjoint, as in PyG): a subgraph only takes neighbours
  whose time is not later than its seed's time. Edge-level time (``timestamp`` of
  ``rated`` / ``rev_rated``) needs ``edge_label_time`` / ``input_time``; node-level time
  falls back to the seeds' own times. Relations without a time (genre edges) are not
  constrained. ``temporal_strategy``: ``uniform`` among the allowed neighbours, or ``last``
  (the most recent ones).

Reproducible per batch, whatever process draws it: each batch's draws (and PyG's negative
sampling, which runs inside the sampler) come from a generator seeded by the sampler's
``base_seed`` (drawn from torch's RNG when the sampler is built, unless given) and the
batch's own seeds. The same ``torch.manual_seed`` thus gives the same batches from a
``HeteroData`` and from a store pair holding the same graph, and with ``num_workers`` 0,
1 or 2, ``fork`` or ``spawn``, persistent workers or not. A batch of exactly the same
seeds draws the same neighbourhood again (shuffle, or vary ``base_seed``, across epochs).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch_geometric.typing
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.sampler import HeteroSamplerOutput, NeighborSampler

__all__ = ["TorchNeighborSampler", "draw_without_replacement", "neighbor_sampler"]

EdgeType = tuple[str, str, str]


def draw_without_replacement(deg: Tensor, k: int) -> Tensor:
    """``[n, k]`` offsets in ``0..deg_r - 1``, distinct per row (Floyd's algorithm).

    Rows must have ``deg_r >= k``; cost ``O(n k²)`` whatever the degrees.
    """
    n = deg.numel()
    out = torch.empty((n, k), dtype=torch.long)
    for s in range(k):
        j = deg - k + s  # candidate range 0..j
        t = (torch.rand(n) * (j + 1).to(torch.float64)).long().clamp_max(j)
        dup = (out[:, :s] == t[:, None]).any(1) if s else torch.zeros(n, dtype=torch.bool)
        out[:, s] = torch.where(dup, j, t)
    return out


def _empty() -> Tensor:
    return torch.zeros(0, dtype=torch.long)


class _Nodes:
    """Local nodes per type, in order of first appearance.

    Not disjoint: one local node per global node (a dense global -> local map). Disjoint:
    one per (seed, global node) pair, each carrying its seed (``root``) and, when temporal,
    the seed's time.
    """

    def __init__(self, num_nodes: dict[str, int], disjoint: bool) -> None:
        self.n = {t: max(int(n), 0) for t, n in num_nodes.items()}
        self.disjoint = disjoint
        self.local = {t: torch.full((n,), -1, dtype=torch.long) for t, n in self.n.items()} \
            if not disjoint else {}
        self.keys = {t: _empty() for t in self.n}  # disjoint: sorted (root, node) keys ...
        self.key_local = {t: _empty() for t in self.n}  # ... and their local indices
        self.glob = {t: _empty() for t in self.n}
        self.root = {t: _empty() for t in self.n}
        self.time: dict[str, Tensor | None] = dict.fromkeys(self.n)

    def count(self, t: str) -> int:
        return int(self.glob[t].numel())

    def add(self, t: str, glob: Tensor, root: Tensor | None = None,
            time: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Local indices of ``glob`` (new ones appended) and the new local indices."""
        if glob.numel() == 0:
            return _empty(), _empty()
        key = glob if root is None else root * max(self.n[t], 1) + glob
        uniq, inv = torch.unique(key, return_inverse=True)
        first = torch.full((uniq.numel(),), glob.numel(), dtype=torch.long)
        first.scatter_reduce_(0, inv, torch.arange(glob.numel()), reduce="amin")
        order = torch.argsort(first)  # unique keys in order of first appearance
        ukey, ufirst = uniq[order], first[order]
        if root is None:
            loc = self.local[t][ukey]
        else:
            pos = torch.searchsorted(self.keys[t], ukey).clamp_max(max(self.keys[t].numel() - 1, 0))
            hit = self.keys[t][pos] == ukey if self.keys[t].numel() else \
                torch.zeros(ukey.numel(), dtype=torch.bool)
            loc = torch.where(hit, self.key_local[t][pos] if self.keys[t].numel() else pos,
                              torch.full_like(pos, -1))
        new = loc < 0
        start = self.count(t)
        new_local = torch.arange(start, start + int(new.sum()))
        loc[new] = new_local
        src = ufirst[new]
        if root is None:
            self.local[t][ukey[new]] = new_local
        else:
            keys = torch.cat([self.keys[t], ukey[new]])
            sort = torch.argsort(keys)
            self.keys[t], self.key_local[t] = keys[sort], torch.cat([self.key_local[t], new_local])[sort]
            self.root[t] = torch.cat([self.root[t], root[src]])
        self.glob[t] = torch.cat([self.glob[t], glob[src]])
        if time is not None:
            old = self.time[t]
            self.time[t] = time[src] if old is None else torch.cat([old, time[src]])
        if root is None:
            return self.local[t][glob], new_local
        by_key = torch.empty_like(loc)
        by_key[order] = loc
        return by_key[inv], new_local


def _count_not_later(key: Tensor, start: Tensor, deg: Tensor, limit: Tensor) -> Tensor:
    """Per row: how many of ``key[start:start + deg]`` (sorted) are ``<= limit`` (binary search)."""
    lo, hi = start.clone(), start + deg
    last = max(key.numel() - 1, 0)
    while True:
        active = lo < hi
        if not bool(active.any()):
            return lo - start
        mid = (lo + hi) // 2
        ok = key[mid.clamp_max(last)] <= limit
        lo = torch.where(active & ok, mid + 1, lo)
        hi = torch.where(active & ~ok, mid, hi)


class TorchNeighborSampler(NeighborSampler):
    """PyG's ``NeighborSampler`` with the heterogeneous sampling step in plain torch.

    Directional subgraphs without replacement; ``disjoint``; temporal sampling with
    node- or edge-level ``time_attr`` (strategies ``uniform`` and ``last``). Replacement,
    weighted, backward or induced sampling raise a clear error (install pyg-lib).

    Args:
        data: a ``HeteroData`` or a ``(FeatureStore, GraphStore)`` pair.
        num_neighbors: as for PyG's ``NeighborSampler``.
        base_seed: seeds every batch's draws together with the batch's seeds (default:
            drawn from torch's RNG, so ``torch.manual_seed`` before building decides it).
        **kwargs: PyG's ``NeighborSampler`` options (``disjoint``, ``time_attr``,
            ``temporal_strategy``, ...).
    """

    num_nodes: Any  # PyG's: {node type: count} for heterogeneous graphs

    def __init__(self, data: Any, num_neighbors: Any, *, base_seed: int | None = None,
                 **kwargs: Any) -> None:
        time_attr = kwargs.pop("time_attr", None)
        with warnings.catch_warnings():  # "without pyg-lib is deprecated": this is the fallback
            warnings.filterwarnings("ignore", message=".*pyg-lib.*")
            super().__init__(data, num_neighbors, **kwargs)
        if self.temporal_strategy not in ("uniform", "last"):
            raise ValueError(f"temporal_strategy={self.temporal_strategy!r}: use 'uniform' or 'last'")
        remote = isinstance(data, tuple)
        if remote and isinstance(self.num_nodes, dict):
            # PyG takes a remote graph's node types from the feature store only; node types
            # without features still have nodes: size them from the graph store
            for attr in data[1].get_all_edge_attrs():
                src, _, dst = attr.edge_type
                for t, n in zip((src, dst), attr.size or (None, None), strict=True):
                    if n is not None and t not in self.num_nodes:
                        self.num_nodes[t] = int(n)
            self.num_nodes = dict(sorted(self.num_nodes.items()))  # not a set's order
            self.node_types = list(self.num_nodes)
            if not all(a.layout.value == "csc" and a.is_sorted for a in data[1].get_all_edge_attrs()):
                self._canonical_csc()
        elif isinstance(self.num_nodes, dict):
            self._canonical_csc()
        self.base_seed = int(torch.randint(0, 2**62, ()).item()) if base_seed is None else int(base_seed)
        self._time_key: dict[str, Tensor] = {}
        if time_attr is not None:
            self._set_time(data, time_attr)

    # -- CSC preparation ------------------------------------------------------------------
    def _reorder(self, rel: str, order: Tensor) -> None:
        """Permute relation ``rel``'s CSC positions (within rows), keeping ``perm`` in step."""
        self.row_dict[rel] = self.row_dict[rel][order]
        et = self.to_edge_type[rel]
        current = getattr(self, "perm", None)
        perms: dict[Any, Tensor | None] = current if isinstance(current, dict) else {}
        perm = perms.get(et)
        perms[et] = order if perm is None else perm[order]
        self.perm = perms

    def _cols(self, rel: str) -> Tensor:
        colptr = self.colptr_dict[rel]
        return torch.repeat_interleave(torch.arange(colptr.numel() - 1), colptr.diff())

    def _canonical_csc(self) -> None:
        """Neighbours sorted by source within each destination (PyG's CSC sort is unstable).

        A store that serves its CSC sorted (``is_sorted=True``, as
        :class:`~engine.graphdb.pyg_store.Neo4jGraphStore` does) then samples the same edges
        as the ``HeteroData`` holding the same graph.
        """
        for rel in list(self.colptr_dict):
            row = self.row_dict[rel]
            n_src = int(row.max()) + 1 if row.numel() else 1
            self._reorder(rel, torch.argsort(self._cols(rel) * n_src + row))

    def _set_time(self, data: Any, time_attr: str) -> None:
        """Node- or edge-level times (PyG's lookup), then neighbours sorted by time per row."""
        node_time: dict[str, Tensor] = {}
        edge_time: dict[EdgeType, Tensor] = {}  # in e_id order (what ``perm`` maps to)
        if isinstance(data, HeteroData):
            node_time = {t: data[t][time_attr] for t in data.node_types if time_attr in data[t]}
            edge_time = {et: data[et][time_attr] for et in data.edge_types if time_attr in data[et]}
        else:
            # edge times follow the graph store's own edge order (its e_id), as its edges do
            fs = data[0]
            attrs = [a for a in fs.get_all_tensor_attrs() if a.attr_name == time_attr]
            tensors = fs.multi_get_tensor([type(a)(a.group_name, a.attr_name, None) for a in attrs])
            for a, x in zip(attrs, tensors, strict=True):
                if isinstance(a.group_name, tuple):
                    edge_time[a.group_name] = x
                else:
                    node_time[a.group_name] = x
            for t, x in node_time.items():
                if x.shape[0] != self.num_nodes.get(t, x.shape[0]):
                    raise ValueError(f"node time {t}.{time_attr} has {x.shape[0]} rows for "
                                     f"{self.num_nodes[t]} {t} nodes: every node needs a time")
        if node_time and edge_time:
            raise ValueError(f"the time attribute {time_attr!r} is both node- and edge-level")
        if not node_time and not edge_time:
            raise ValueError(f"the time attribute {time_attr!r} is neither a node- nor an "
                             "edge-level attribute of the graph")
        perms = self.perm if isinstance(self.perm, dict) else {}
        for rel in list(self.colptr_dict):
            et = self.to_edge_type[rel]
            if edge_time:
                if et not in edge_time:
                    continue
                raw, p = edge_time[et].reshape(-1), perms.get(et)
                key = raw if p is None else raw[p]
            else:
                if et[0] not in node_time:
                    continue
                key = node_time[et[0]].reshape(-1)[self.row_dict[rel]]
            order = torch.from_numpy(np.lexsort((key.numpy(), self._cols(rel).numpy())))
            self._reorder(rel, order)
            self._time_key[rel] = key[order]
        self.node_time = node_time or None
        self.edge_time = {self.to_rel_type[et]: v for et, v in edge_time.items()} or None

    # -- per-batch random streams ---------------------------------------------------------
    @contextmanager
    def _batch_rng(self, *parts: Tensor | None) -> Iterator[None]:
        """Torch's RNG seeded by ``base_seed`` and the batch (restored afterwards)."""
        digest = hashlib.blake2b(self.base_seed.to_bytes(8, "little"), digest_size=8)
        for part in parts:
            if part is not None:
                digest.update(str(part.dtype).encode())
                digest.update(part.detach().cpu().contiguous().numpy().tobytes())
            digest.update(b"|")
        with torch.random.fork_rng(devices=[]):
            # the CPU generator only: torch.manual_seed would also reseed (and not restore) CUDA
            torch.default_generator.manual_seed(int.from_bytes(digest.digest(), "little") & (2**63 - 1))
            yield

    def sample_from_nodes(self, inputs: Any) -> Any:
        with self._batch_rng(inputs.input_id, inputs.node, inputs.time):
            return super().sample_from_nodes(inputs)

    def sample_from_edges(self, inputs: Any, neg_sampling: Any = None) -> Any:
        with self._batch_rng(inputs.input_id, inputs.row, inputs.col, inputs.time):
            return super().sample_from_edges(inputs, neg_sampling)

    # -- the sampling step -------------------------------------------------------------------
    def _seed_times(self, seed: dict[str, Tensor], seed_time: Any) -> dict[str, Tensor]:
        given = dict(seed_time) if isinstance(seed_time, dict) else {}
        out = {}
        for t, s in seed.items():
            if t in given:
                out[t] = given[t]
            elif self.node_time is not None and t in self.node_time:
                out[t] = self.node_time[t][s]
            else:
                raise ValueError(f"temporal sampling needs the time of each {t} seed: pass "
                                 "input_time (NeighborLoader) or edge_label_time (LinkNeighborLoader)")
        return out

    def _sample(self, seed: Any, seed_time: Any = None, **kwargs: Any) -> HeteroSamplerOutput:
        if not isinstance(seed, dict):
            raise NotImplementedError("TorchNeighborSampler samples heterogeneous graphs only")
        if self.replace or self.edge_weight is not None or self.sample_direction != "forward" \
                or self.subgraph_type.value == "induced":
            raise NotImplementedError(
                "TorchNeighborSampler supports directional sampling without replacement only "
                "(disjoint and temporal included); install pyg-lib for weighted, backward, "
                "induced or with-replacement sampling")
        disjoint, temporal = self.disjoint, self.is_temporal
        times = self._seed_times(seed, seed_time) if temporal else {}
        nodes = _Nodes(self.num_nodes, disjoint)
        frontier: dict[str, Tensor] = {}
        for t, s in seed.items():
            s = s.long()
            root = torch.arange(s.numel()) if disjoint else None
            _, frontier[t] = nodes.add(t, s, root, times.get(t))
        rows: dict[EdgeType, list[Tensor]] = {et: [] for et in self.edge_types}
        cols: dict[EdgeType, list[Tensor]] = {et: [] for et in self.edge_types}
        edges: dict[EdgeType, list[Tensor]] = {et: [] for et in self.edge_types}
        sampled_nodes = {t: [nodes.count(t)] for t in self.num_nodes}
        sampled_edges: dict[EdgeType, list[int]] = {et: [] for et in self.edge_types}
        fanouts = self.num_neighbors.get_mapped_values(self.edge_types)
        for hop in range(self.num_neighbors.num_hops):
            added: dict[str, list[Tensor]] = {t: [] for t in self.num_nodes}
            for et in sorted(self.edge_types):  # a fixed draw order (PyG's order is a set's)
                src, _, dst = et
                rel = self.to_rel_type[et]
                k = fanouts[rel][hop]
                f = frontier.get(dst)
                if f is None or f.numel() == 0 or k == 0:
                    sampled_edges[et].append(0)
                    continue
                colptr, row = self.colptr_dict[rel], self.row_dict[rel]
                g = nodes.glob[dst][f]
                start, deg = colptr[g], colptr[g + 1] - colptr[g]
                f_time = nodes.time[dst]
                if rel in self._time_key and f_time is not None:  # only not-later neighbours
                    deg = _count_not_later(self._time_key[rel], start, deg, f_time[f])
                pos, owner = self._positions(start, deg, k, self.temporal_strategy == "last")
                src_local, new = nodes.add(
                    src, row[pos], nodes.root[dst][f][owner] if disjoint else None,
                    f_time[f][owner] if f_time is not None else None)
                added[src].append(new)
                rows[et].append(src_local)
                cols[et].append(f[owner])
                edges[et].append(pos)
                sampled_edges[et].append(pos.numel())
            frontier = {t: torch.cat(v) if v else _empty() for t, v in added.items()}
            for t in self.num_nodes:
                sampled_nodes[t].append(int(frontier[t].numel()))

        def cat(d: dict[EdgeType, list[Tensor]]) -> dict[EdgeType, Tensor]:
            return {et: torch.cat(v) if v else _empty() for et, v in d.items()}

        return HeteroSamplerOutput(node=dict(nodes.glob), row=cat(rows), col=cat(cols),
                                   edge=cat(edges), batch=dict(nodes.root) if disjoint else None,
                                   num_sampled_nodes=sampled_nodes,
                                   num_sampled_edges=sampled_edges)

    @staticmethod
    def _positions(start: Tensor, deg: Tensor, k: int, last: bool = False) -> tuple[Tensor, Tensor]:
        """CSC positions of the sampled in-edges and, per edge, its frontier row.

        Row ``r`` draws from positions ``start[r] .. start[r] + deg[r] - 1``: ``k`` of them
        uniformly without replacement, all of them when ``deg <= k`` or ``k < 0``, the last
        ``k`` (the most recent, for a row sorted by time) with ``last``.
        """
        owner_rows = torch.arange(deg.numel())
        take_all = deg <= k if k >= 0 else torch.ones_like(deg, dtype=torch.bool)
        # rows that keep every in-edge
        d_all, s_all, o_all = deg[take_all], start[take_all], owner_rows[take_all]
        owner_a = torch.repeat_interleave(o_all, d_all)
        offs = torch.arange(int(d_all.sum())) - torch.repeat_interleave(
            torch.cumsum(d_all, 0) - d_all, d_all)
        pos_a = torch.repeat_interleave(s_all, d_all) + offs
        if k < 0 or bool(take_all.all()):
            return pos_a, owner_a
        some = ~take_all
        if last:
            picks = deg[some][:, None] - k + torch.arange(k)[None, :]
        else:
            picks = draw_without_replacement(deg[some], k)  # [n, k]
        pos_s = (start[some][:, None] + picks).reshape(-1)
        owner_s = owner_rows[some].repeat_interleave(k)
        # keep the frontier order: edges grouped by frontier row
        pos = torch.cat([pos_a, pos_s])
        owner = torch.cat([owner_a, owner_s])
        order = torch.argsort(owner, stable=True)
        return pos[order], owner[order]


def neighbor_sampler(data: Any, num_neighbors: Any, **kwargs: Any) -> NeighborSampler:
    """The sampler to pass as ``neighbor_sampler=`` to ``NeighborLoader`` / ``LinkNeighborLoader``.

    ``data`` is a ``HeteroData`` or a ``(FeatureStore, GraphStore)`` pair; ``kwargs`` are
    ``NeighborSampler``'s (``disjoint``, ``time_attr``, ``temporal_strategy``, ...). A store
    pair always gets :class:`TorchNeighborSampler` (PyG's stock sampler sizes a remote
    graph's node types from the feature store only, draws relations in a set's order and
    per process, so worker batches would differ); a ``HeteroData`` gets PyG's stock sampler
    when ``pyg-lib`` / ``torch-sparse`` is installed, else the torch one. Build
    :class:`TorchNeighborSampler` directly to draw identical batches from both kinds of source.
    """
    kernels = torch_geometric.typing.WITH_PYG_LIB or torch_geometric.typing.WITH_TORCH_SPARSE
    cls = NeighborSampler if kernels and not isinstance(data, tuple) else TorchNeighborSampler
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pyg-lib.*")
        return cls(data, num_neighbors, **kwargs)
