"""Build a PyG ``HeteroData`` graph from pure arrays (no IO).

Node types ``user``/``movie``/``genre`` and edge types from :mod:`engine.schema`:
``('user','rated','movie')`` with ``edge_attr = [rating, normalised time]`` and its
reverse ``('movie','rev_rated','user')``, ``('movie','in_genre','genre')`` and its
reverse. Only the interactions passed in become edges: callers pass the TRAIN split, so
no held-out rating (or its reverse) is in the message-passing graph.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import HeteroData

from engine.data.features import NodeFeatures
from engine.data.interactions import IdMap, Interactions
from engine.schema import HAS_MOVIE, IN_GENRE, RATED_BY, RATES, EdgeType, NodeType


def genre_edges(movies: pd.DataFrame, genres: list[str]) -> np.ndarray:
    """``[2, E]`` movie index -> genre index for every IN_GENRE edge, sorted by (movie, genre)."""
    col = {g: j for j, g in enumerate(genres)}
    src = [i for i, gs in enumerate(movies["genres"]) for _ in gs]
    dst = [col[g] for gs in movies["genres"] for g in gs]
    out = np.array([src, dst], dtype=np.int64).reshape(2, -1)
    return out[:, np.lexsort((out[1], out[0]))]


def rated_pairs(train: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(user, movie, rating)`` of the distinct train pairs, sorted by (user, movie).

    A re-rated pair appears once, its last rating kept: the ``rated`` relation of the
    message-passing graph.
    """
    m = train.to_csr(binary=False).tocoo()
    return m.row.astype(np.int64), m.col.astype(np.int64), m.data.astype(np.float32)


def zscore_ratings(rating: np.ndarray) -> np.ndarray:
    """``(r - mean) / sd`` (sample sd, 1 when undefined): the ``edge_attr`` of rated edges."""
    r = rating.astype(np.float32)
    if len(r) < 2:
        return r - (r.mean() if len(r) else 0.0)
    sd = max(float(np.std(r, ddof=1, dtype=np.float32)), 1e-6)
    return ((r - r.mean(dtype=np.float32)) / np.float32(sd)).astype(np.float32)


def store_topology(train: Interactions, movies: pd.DataFrame
                   ) -> tuple[dict[EdgeType, tuple[np.ndarray, np.ndarray]],
                              dict[EdgeType, np.ndarray], int]:
    """``(edges, edge_attrs, num_genres)`` of the message-passing graph, as plain arrays.

    ``edges[et] = (src, dst)`` for ``rated`` / ``rev_rated`` (distinct train pairs) and
    ``in_genre`` / ``rev_in_genre``; ``edge_attrs`` the z-scored rating of each rated edge.
    The same relations :func:`engine.models.hetero.inputs.prepare_graph` builds.
    """
    u, i, r = rated_pairs(train)
    z = zscore_ratings(r)
    edges: dict[EdgeType, tuple[np.ndarray, np.ndarray]] = {RATES: (u, i), RATED_BY: (i, u)}
    attrs = {RATES: z, RATED_BY: z}
    genres = sorted({g for gs in movies["genres"] for g in gs})
    if genres:
        g = genre_edges(movies, genres)
        edges[IN_GENRE], edges[HAS_MOVIE] = (g[0], g[1]), (g[1], g[0])
    return edges, attrs, len(genres)


def to_hetero_data(
    idmap: IdMap, train: Interactions, movies: pd.DataFrame, features: NodeFeatures
) -> HeteroData:
    """The training graph; ``node_id`` holds the raw ids for each node type."""
    data = HeteroData()
    data[NodeType.USER].x = torch.from_numpy(features.user)
    data[NodeType.USER].node_id = torch.from_numpy(idmap.users)
    data[NodeType.MOVIE].x = torch.from_numpy(features.movie)
    data[NodeType.MOVIE].node_id = torch.from_numpy(idmap.movies)
    n_genres = len(features.genres)
    data[NodeType.GENRE].x = torch.eye(n_genres, dtype=torch.float32)
    data[NodeType.GENRE].num_nodes = n_genres

    edge_index = torch.from_numpy(np.vstack([train.user, train.item]).astype(np.int64))
    ts = train.timestamp.astype(np.float64)
    span = max(float(ts.max() - ts.min()), 1.0) if len(ts) else 1.0
    t_norm = (ts - (ts.min() if len(ts) else 0.0)) / span
    edge_attr = torch.from_numpy(np.column_stack([train.rating, t_norm]).astype(np.float32))
    data[RATES].edge_index = edge_index
    data[RATES].edge_attr = edge_attr
    data[RATES].rating = torch.from_numpy(train.rating.astype(np.float32))
    data[RATES].timestamp = torch.from_numpy(train.timestamp.astype(np.int64))
    data[RATED_BY].edge_index = edge_index.flip(0)
    data[RATED_BY].edge_attr = edge_attr
    data[RATED_BY].rating = data[RATES].rating
    data[RATED_BY].timestamp = data[RATES].timestamp

    g = torch.from_numpy(genre_edges(movies, features.genres))
    data[IN_GENRE].edge_index = g
    data[HAS_MOVIE].edge_index = g.flip(0)
    data.validate(raise_on_error=True)
    return data
