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
from engine.schema import HAS_MOVIE, IN_GENRE, RATED_BY, RATES, NodeType


def genre_edges(movies: pd.DataFrame, genres: list[str]) -> np.ndarray:
    """``[2, E]`` movie index -> genre index for every IN_GENRE edge."""
    col = {g: j for j, g in enumerate(genres)}
    src = [i for i, gs in enumerate(movies["genres"]) for _ in gs]
    dst = [col[g] for gs in movies["genres"] for g in gs]
    return np.array([src, dst], dtype=np.int64).reshape(2, -1)


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
