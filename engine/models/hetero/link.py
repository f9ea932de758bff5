"""Link prediction over the heterogeneous train graph: encoder + dot decoder + BPR.

:class:`HeteroLinkNet` holds the prepared train graph (:func:`prepare_graph`) as buffers,
runs the encoder on its ``x_dict`` / ``edge_index_dict`` and scores ``s(u, i) = h_u · h_i``;
:class:`HeteroLinkRecommender` is the BPR-trained recommender the hetero SAGE and GAT
models share (subclasses supply the encoder).
"""

from __future__ import annotations

import abc
from typing import Any

import torch
from torch import nn
from torch_geometric.data import HeteroData

from engine.data.interactions import Interactions
from engine.models.hetero.encoder import HeteroEncoderBase
from engine.models.hetero.inputs import node_sizes, num_genres, prepare_graph, to_adj_t
from engine.models.losses import bpr_loss
from engine.models.torch_base import TorchBPRRecommender
from engine.schema import HAS_MOVIE, IN_GENRE, RATED_BY, RATES, EdgeType, NodeType

__all__ = ["HeteroLinkNet", "HeteroLinkRecommender"]

Graph = tuple[dict[str, torch.Tensor], dict[EdgeType, torch.Tensor], dict[EdgeType, torch.Tensor]]


class HeteroLinkNet(nn.Module):
    """Encoder over the fixed train graph + dot-product decoder + BPR loss.

    ``s(u, i) = h_u · h_i`` with ``h = encoder(x_dict, edge_index_dict)``;
    ``L = mean softplus(-(s(u,p) - s(u,n))) + reg * (|e_u|² + |e_p|² + |e_n|²) / (2B)``
    where ``e`` are the layer-0 id embeddings of the batch rows (LightGCN-style L2).
    The z-scored rating of each train edge is the ``edge_attr`` (``[E, 1]``; SAGE ignores
    it, GAT can attend on it).
    """

    user_x: torch.Tensor
    movie_x: torch.Tensor
    edge_attr: torch.Tensor
    edge_index: torch.Tensor
    genre_edges: torch.Tensor

    def __init__(self, encoder: HeteroEncoderBase, graph: HeteroData, reg: float) -> None:
        super().__init__()
        self.encoder, self.reg = encoder, reg
        self.register_buffer("user_x", graph[NodeType.USER].x, persistent=False)
        self.register_buffer("movie_x", graph[NodeType.MOVIE].x, persistent=False)
        self.register_buffer("edge_attr", graph[RATES].edge_attr, persistent=False)
        self.register_buffer("edge_index", graph[RATES].edge_index, persistent=False)
        genres = num_genres(graph)
        self.with_genres = genres > 0
        self.register_buffer("genre_edges", graph[IN_GENRE].edge_index if self.with_genres
                             else torch.zeros((2, 0), dtype=torch.long), persistent=False)
        self.sizes = node_sizes(graph[NodeType.USER].num_nodes, graph[NodeType.MOVIE].num_nodes,
                                genres)
        self._graph: Graph | None = None

    def graph(self) -> Graph:
        """``(x_dict, edge_index_dict, edge_attr_dict)`` of the train graph.

        For encoders with ``sparse = True`` the edges come as cached CSR ``adj_t``
        matrices ``[N_dst, N_src]`` (one sparse product per relation instead of a
        gather/scatter; the edges are distinct, so the result is the same).
        """
        if self._graph is not None and self._graph[1][RATES].device == self.edge_index.device:
            return self._graph
        ei: dict[EdgeType, torch.Tensor] = {RATES: self.edge_index,
                                            RATED_BY: self.edge_index.flip(0)}
        if self.with_genres:
            ei[IN_GENRE], ei[HAS_MOVIE] = self.genre_edges, self.genre_edges.flip(0)
        if getattr(self.encoder, "sparse", False):
            ei = to_adj_t(ei, self.sizes)
        x = {NodeType.USER: self.user_x, NodeType.MOVIE: self.movie_x}
        self._graph = (x, ei, {RATES: self.edge_attr, RATED_BY: self.edge_attr})
        return self._graph

    def embed(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final ``(user [U,d], movie [I,d])`` states."""
        x, ei, attr = self.graph()
        h = self.encoder(x, ei, attr)
        return h[NodeType.USER], h[NodeType.MOVIE]

    def bpr_loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """BPR over one full-graph forward pass."""
        hu, hi = self.embed()
        u, p, n = hu[users], hi[pos], hi[neg]
        ni = self.encoder.node_input
        ego = (ni.user_emb(users), ni.movie_emb(pos), ni.movie_emb(neg))
        return bpr_loss((u * p).sum(-1), (u * n).sum(-1), ego, self.reg)


class HeteroLinkRecommender(TorchBPRRecommender):
    """BPR-trained hetero GNN recommender; subclasses supply :meth:`_encoder`.

    Reuses :class:`TorchBPRRecommender` for the loop, early stopping on valid NDCG@10
    (full catalogue, seen excluded) with restore-best, scoring ``h_u · h_i`` from cached
    final embeddings, and checkpoints. ``fit(train, valid, graph)`` reads node features and
    genre relations from the ``HeteroData`` ``graph`` (optional: without it, id embeddings
    only and no genre nodes).
    """

    needs_graph = True

    @abc.abstractmethod
    def _encoder(self, graph: HeteroData) -> HeteroEncoderBase:
        """A fresh encoder (a pure nn.Module built from the sizes of the prepared ``graph``)."""

    def _build(self, train: Interactions, graph: HeteroData | None) -> nn.Module:
        prepared = prepare_graph(train, graph)
        return HeteroLinkNet(self._encoder(prepared), prepared, self.reg)

    def _final_embeddings(self, module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        assert isinstance(module, HeteroLinkNet)
        return module.embed()

    @staticmethod
    def feature_dims(graph: HeteroData) -> dict[str, Any]:
        """Sizes an encoder is built from: node counts and feature widths."""
        return {
            "num_users": graph[NodeType.USER].num_nodes,
            "num_items": graph[NodeType.MOVIE].num_nodes,
            "num_genres": num_genres(graph),
            "user_feat_dim": graph[NodeType.USER].x.shape[1],
            "movie_feat_dim": graph[NodeType.MOVIE].x.shape[1],
        }
