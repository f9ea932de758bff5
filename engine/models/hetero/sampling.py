"""Heterogeneous neighbour sampling for PyG's stock ``NeighborLoader`` / ``LinkNeighborLoader``.

PyG's :class:`~torch_geometric.sampler.NeighborSampler` samples through the compiled
``pyg-lib`` or ``torch-sparse`` kernels. Neither has a wheel for every torch build (none
for the torch this project pins on CPU-only machines), so :func:`neighbor_sampler` returns
the stock sampler when a kernel is installed and otherwise :class:`TorchNeighborSampler`:
the same sampler with its ``_sample`` step written in plain torch (and always for a store
pair: see :func:`neighbor_sampler`). Everything else -- the
loaders, ``(FeatureStore, GraphStore)`` inputs, CSC conversion, negative sampling, the
``HeteroData`` batches -- is PyG's own.

Semantics (PyG's "directional" subgraph, no replacement, not disjoint, no time): hop ``h``
takes, for every relation ``s -> t`` and every ``t`` node added at hop ``h - 1`` (the seeds
at hop 0), up to ``num_neighbors[rel][h]`` of its in-neighbours uniformly without
replacement (all of them for ``-1``). New nodes get local indices in order of first
appearance, after the seeds. ``torch.manual_seed`` makes the draw reproducible, so the
same seed gives the same batch from a ``HeteroData`` and from a store pair holding the
same graph.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch_geometric.typing
from torch import Tensor
from torch_geometric.sampler import HeteroSamplerOutput, NeighborSampler

__all__ = ["TorchNeighborSampler", "draw_without_replacement", "neighbor_sampler"]


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


class _Nodes:
    """Local node lists per type: global id -> local index, in order of first appearance."""

    def __init__(self, num_nodes: dict[str, int]) -> None:
        self.local = {t: torch.full((max(n, 0),), -1, dtype=torch.long) for t, n in num_nodes.items()}
        self.ids: dict[str, list[Tensor]] = {t: [] for t in num_nodes}
        self.count = dict.fromkeys(num_nodes, 0)

    def add(self, t: str, glob: Tensor) -> tuple[Tensor, Tensor]:
        """Local indices of ``glob`` (new ones appended); also the newly added ids."""
        if glob.numel() == 0:
            return glob, glob
        uniq, inv = torch.unique(glob, return_inverse=True)
        first = torch.full((uniq.numel(),), glob.numel(), dtype=torch.long)
        first.scatter_reduce_(0, inv, torch.arange(glob.numel()), reduce="amin")
        order = torch.argsort(first)  # unique ids in order of first appearance
        uniq = uniq[order]
        new = uniq[self.local[t][uniq] < 0]
        self.local[t][new] = torch.arange(self.count[t], self.count[t] + new.numel())
        self.count[t] += new.numel()
        self.ids[t].append(new)
        return self.local[t][glob], new

    def node(self) -> dict[str, Tensor]:
        return {t: torch.cat(v) if v else torch.zeros(0, dtype=torch.long) for t, v in self.ids.items()}


class TorchNeighborSampler(NeighborSampler):
    """PyG's ``NeighborSampler`` with the heterogeneous sampling step in plain torch.

    Only what the kernels' default mode does: directional subgraphs, sampling without
    replacement, no ``disjoint``, no temporal or weighted sampling (a clear error says so).
    """

    def __init__(self, data: Any, num_neighbors: Any, **kwargs: Any) -> None:
        with warnings.catch_warnings():  # "without pyg-lib is deprecated": this is the fallback
            warnings.filterwarnings("ignore", message=".*pyg-lib.*")
            super().__init__(data, num_neighbors, **kwargs)
        if isinstance(data, tuple) and isinstance(self.num_nodes, dict):
            # PyG takes a remote graph's node types from the feature store only; node types
            # without features (genre) still have nodes: size them from the graph store
            for attr in data[1].get_all_edge_attrs():
                src, _, dst = attr.edge_type
                for t, n in zip((src, dst), attr.size or (None, None), strict=True):
                    if n is not None and t not in self.num_nodes:
                        self.num_nodes[t] = int(n)
            self.node_types = list(self.num_nodes)
            if not all(a.layout.value == "csc" and a.is_sorted for a in data[1].get_all_edge_attrs()):
                self._canonical_csc()
        elif isinstance(self.num_nodes, dict):
            self._canonical_csc()

    def _canonical_csc(self) -> None:
        """Neighbours sorted by source within each destination (PyG's CSC sort is unstable).

        A store that serves its CSC sorted (``is_sorted=True``, as
        :class:`~engine.graphdb.pyg_store.Neo4jGraphStore` does) then samples the same edges
        as the ``HeteroData`` holding the same graph.
        """
        for rel, colptr in self.colptr_dict.items():
            row = self.row_dict[rel]
            col = torch.repeat_interleave(torch.arange(colptr.numel() - 1), colptr.diff())
            n_src = int(row.max()) + 1 if row.numel() else 1
            order = torch.argsort(col * n_src + row)
            self.row_dict[rel] = row[order]
            et = self.to_edge_type[rel]
            current = getattr(self, "perm", None)
            perms: dict[Any, Tensor | None] = current if isinstance(current, dict) else {}
            perm = perms.get(et)
            perms[et] = order if perm is None else perm[order]
            self.perm = perms

    def _sample(self, seed: Any, seed_time: Any = None, **kwargs: Any) -> HeteroSamplerOutput:
        if not isinstance(seed, dict):
            raise NotImplementedError("TorchNeighborSampler samples heterogeneous graphs only")
        if self.disjoint or self.replace or seed_time is not None or self.node_time is not None \
                or self.edge_time is not None or self.edge_weight is not None \
                or self.sample_direction != "forward" or self.subgraph_type.value == "induced":
            raise NotImplementedError(
                "TorchNeighborSampler supports directional sampling without replacement only; "
                "install pyg-lib for disjoint, temporal, weighted or induced sampling")
        nodes = _Nodes(self.num_nodes)
        frontier: dict[str, Tensor] = {}
        for t, s in seed.items():
            _, frontier[t] = nodes.add(t, s.long())
        rows: dict[tuple[str, str, str], list[Tensor]] = {et: [] for et in self.edge_types}
        cols: dict[tuple[str, str, str], list[Tensor]] = {et: [] for et in self.edge_types}
        edges: dict[tuple[str, str, str], list[Tensor]] = {et: [] for et in self.edge_types}
        sampled_nodes = {t: [int(nodes.count[t])] for t in self.num_nodes}
        sampled_edges: dict[tuple[str, str, str], list[int]] = {et: [] for et in self.edge_types}
        fanouts = self.num_neighbors.get_mapped_values(self.edge_types)
        for hop in range(self.num_neighbors.num_hops):
            added: dict[str, list[Tensor]] = {t: [] for t in self.num_nodes}
            for et in sorted(self.edge_types):  # a fixed draw order (PyG's order is a set's)
                src, _, dst = et
                k = fanouts[self.to_rel_type[et]][hop]
                f = frontier.get(dst)
                if f is None or f.numel() == 0 or k == 0:
                    sampled_edges[et].append(0)
                    continue
                colptr = self.colptr_dict[self.to_rel_type[et]]
                row = self.row_dict[self.to_rel_type[et]]
                start, deg = colptr[f], colptr[f + 1] - colptr[f]
                pos, owner = self._positions(start, deg, k)
                src_glob = row[pos]
                src_local, new = nodes.add(src, src_glob)
                added[src].append(new)
                rows[et].append(src_local)
                cols[et].append(nodes.local[dst][f[owner]])
                edges[et].append(pos)
                sampled_edges[et].append(pos.numel())
            frontier = {t: torch.cat(v) if v else torch.zeros(0, dtype=torch.long)
                        for t, v in added.items()}
            for t in self.num_nodes:
                sampled_nodes[t].append(int(frontier[t].numel()))

        def cat(d: dict[tuple[str, str, str], list[Tensor]]) -> dict[tuple[str, str, str], Tensor]:
            return {et: torch.cat(v) if v else torch.zeros(0, dtype=torch.long) for et, v in d.items()}

        return HeteroSamplerOutput(node=nodes.node(), row=cat(rows), col=cat(cols),
                                   edge=cat(edges), batch=None,
                                   num_sampled_nodes=sampled_nodes,
                                   num_sampled_edges=sampled_edges)

    @staticmethod
    def _positions(start: Tensor, deg: Tensor, k: int) -> tuple[Tensor, Tensor]:
        """CSC positions of the sampled in-edges and, per edge, its frontier row."""
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

    ``data`` is a ``HeteroData`` or a ``(FeatureStore, GraphStore)`` pair. A store pair
    always gets :class:`TorchNeighborSampler` (PyG's stock sampler sizes a remote graph's
    node types from the feature store only, so it misses genre nodes, and draws relations
    in a set's order); a ``HeteroData`` gets PyG's stock sampler when ``pyg-lib`` /
    ``torch-sparse`` is installed, else the torch one. Build :class:`TorchNeighborSampler`
    directly to draw identical batches from both kinds of source.
    """
    kernels = torch_geometric.typing.WITH_PYG_LIB or torch_geometric.typing.WITH_TORCH_SPARSE
    cls = NeighborSampler if kernels and not isinstance(data, tuple) else TorchNeighborSampler
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pyg-lib.*")
        return cls(data, num_neighbors, **kwargs)
