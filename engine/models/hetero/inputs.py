"""The message-passing graph of the heterogeneous models, prepared from PyG ``HeteroData``.

Every heterogeneous model reads the training graph the PyG way: a ``HeteroData`` built
from the TRAIN split only (:func:`engine.data.hetero.to_hetero_data`) with node types
``user``/``movie``/``genre`` (``x`` features fitted on train) and the relations of
:mod:`engine.schema`. :func:`prepare_graph` turns it into what the encoders propagate
over:

* ``x_dict``: ``user``/``movie`` features z-scored per column (statistics of the matrix
  passed in, itself a train-only statistic), so counts and one-hots live on one scale;
  a graph without features (or ``None``) gives zero-width ``x``: id embeddings only;
* ``('user','rated','movie')`` and its reverse: the distinct train pairs (a re-rated pair
  once, last rating wins), with ``rating`` and ``edge_attr`` = the z-scored rating ``[E, 1]``;
* ``('movie','in_genre','genre')`` and its reverse, when the graph has genre nodes.

The rating model (GC-MC style) splits ``rated`` into one relation per rating level
(:func:`rated_edges`); :func:`to_adj_t` gives the sparse CSR form SAGE layers multiply with.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch_geometric.data import HeteroData
from torch_geometric.utils import to_torch_csr_tensor

from engine.data.hetero import rated_pairs, zscore_ratings
from engine.data.interactions import Interactions
from engine.errors import ParameterError
from engine.schema import HAS_MOVIE, IN_GENRE, RATED_BY, RATES, EdgeType, NodeType

__all__ = ["edge_types", "node_sizes", "num_genres", "prepare_graph", "rated_edges", "to_adj_t"]


def _zscore(x: torch.Tensor) -> torch.Tensor:
    x64 = x.detach().cpu().numpy().astype(np.float64)
    sd = x64.std(0)
    return torch.from_numpy(((x64 - x64.mean(0)) / np.where(sd > 1e-8, sd, 1.0)).astype(np.float32))


def _features(graph: HeteroData | None, node_type: str, n: int) -> torch.Tensor:
    if graph is None or node_type not in graph.node_types or "x" not in graph[node_type]:
        return torch.zeros((n, 0), dtype=torch.float32)
    x = graph[node_type].x
    if x.dim() != 2 or x.shape[0] != n:
        raise ParameterError(f"graph['{node_type}'].x has shape {tuple(x.shape)}, expected ({n}, F): "
                             "the graph must be built from the same train split")
    return _zscore(x)


def prepare_graph(train: Interactions, graph: HeteroData | None) -> HeteroData:
    """The train message-passing graph (see module docstring) as a new ``HeteroData``."""
    n_u, n_i = train.num_users, train.num_items
    users, movies, ratings = rated_pairs(train)  # distinct pairs sorted by (user, movie)
    out = HeteroData()
    out[NodeType.USER].x = _features(graph, NodeType.USER, n_u)
    out[NodeType.USER].num_nodes = n_u
    out[NodeType.MOVIE].x = _features(graph, NodeType.MOVIE, n_i)
    out[NodeType.MOVIE].num_nodes = n_i
    rating = torch.from_numpy(ratings)
    attr = torch.from_numpy(zscore_ratings(ratings)).unsqueeze(1)
    ei = torch.from_numpy(np.vstack([users, movies]))
    for et, index in ((RATES, ei), (RATED_BY, ei.flip(0))):
        out[et].edge_index = index
        out[et].rating = rating
        out[et].edge_attr = attr
    genres = 0
    if graph is not None and NodeType.GENRE in graph.node_types and IN_GENRE in graph.edge_types:
        genres = int(graph[NodeType.GENRE].num_nodes or 0)
        g = graph[IN_GENRE].edge_index.long()
        g = g[:, torch.from_numpy(np.lexsort((g[1].numpy(), g[0].numpy())))]  # by (movie, genre)
        if g.numel() and (g[0].max() >= n_i or g.min() < 0 or g[1].max() >= genres):
            raise ParameterError(f"graph{IN_GENRE}.edge_index must be [2, E] movie -> genre indices")
        if genres:
            out[NodeType.GENRE].num_nodes = genres
            out[IN_GENRE].edge_index = g
            out[HAS_MOVIE].edge_index = g.flip(0)
    return out


def num_genres(graph: HeteroData) -> int:
    """Genre nodes of a prepared graph (0: no genre relations)."""
    return int(graph[NodeType.GENRE].num_nodes) if NodeType.GENRE in graph.node_types else 0


def edge_types(rating_levels: int, with_genres: bool) -> list[EdgeType]:
    """Relations of the message-passing graph (forward and reverse of each)."""
    if rating_levels > 0:
        out: list[EdgeType] = []
        for r in range(1, rating_levels + 1):
            out += [(NodeType.USER, f"rated_{r}", NodeType.MOVIE),
                    (NodeType.MOVIE, f"rev_rated_{r}", NodeType.USER)]
    else:
        out = [RATES, RATED_BY]
    if with_genres:
        out += [IN_GENRE, HAS_MOVIE]
    return out


def rated_edges(
    user: torch.Tensor, item: torch.Tensor, level: torch.Tensor | None, rating_levels: int
) -> dict[EdgeType, torch.Tensor]:
    """``edge_index`` per user/movie relation (both directions) for the given pairs.

    ``level`` (int64 ``[E]`` in ``0..L-1``) routes each pair to ``rated_{level+1}``;
    with ``rating_levels == 0`` all pairs go to ``rated``.
    """
    out: dict[EdgeType, torch.Tensor] = {}
    if rating_levels <= 0 or level is None:
        ei = torch.stack([user, item])
        out[RATES], out[RATED_BY] = ei, ei.flip(0)
        return out
    for r in range(rating_levels):
        sel = level == r
        ei = torch.stack([user[sel], item[sel]])
        out[(NodeType.USER, f"rated_{r + 1}", NodeType.MOVIE)] = ei
        out[(NodeType.MOVIE, f"rev_rated_{r + 1}", NodeType.USER)] = ei.flip(0)
    return out


def node_sizes(num_users: int, num_items: int, num_genres: int) -> dict[str, int]:
    """Node count per node type."""
    return {NodeType.USER: num_users, NodeType.MOVIE: num_items, NodeType.GENRE: num_genres}


def to_adj_t(
    edge_index_dict: dict[EdgeType, torch.Tensor], sizes: dict[str, int]
) -> dict[EdgeType, torch.Tensor]:
    """Each ``[2, E]`` src -> dst ``edge_index`` as a sparse CSR ``adj_t`` ``[N_dst, N_src]``.

    The edges of one relation must be distinct (duplicates would be summed).
    """
    out = {}
    for (s, r, t), ei in edge_index_dict.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
            out[(s, r, t)] = to_torch_csr_tensor(ei.flip(0), size=(sizes[t], sizes[s]))
    return out
