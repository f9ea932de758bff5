"""Layer-0 node states and heterogeneous message passing over ``x_dict`` / ``edge_index_dict``.

:class:`HeteroEncoderBase` is the shared encoder of the hetero SAGE / GAT recommenders
and the GC-MC-style rating model. It takes PyG's dictionaries: node features per type
(``x_dict``) and edges per relation (``edge_index_dict``, as ``[2, E]`` indices or sparse
``adj_t``), optionally ``n_id_dict`` (the global index of each node when the dicts hold a
sampled subgraph, as ``NeighborLoader`` batches do) and ``edge_attr_dict``.
"""

from __future__ import annotations

import abc
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import HeteroConv

from engine.models.hetero.inputs import edge_types
from engine.schema import EdgeType, NodeType

__all__ = ["HeteroEncoderBase", "NodeInput"]


class NodeInput(nn.Module):
    """Layer-0 node states: learnable id embedding + linear projection of the features.

    ``h0_user = E_u[id] + W_u x_u`` ([U, d]), ``h0_movie = E_m[id] + W_m x_m`` ([I, d]),
    ``h0_genre = E_g[id]`` ([G, d]). A zero feature width drops the projection.
    """

    def __init__(
        self, num_users: int, num_items: int, num_genres: int, user_feat_dim: int,
        movie_feat_dim: int, dim: int, init_std: float = 0.1,
    ) -> None:
        super().__init__()
        self.user_emb = nn.Embedding(num_users, dim)
        self.movie_emb = nn.Embedding(num_items, dim)
        self.genre_emb = nn.Embedding(num_genres, dim) if num_genres > 0 else None
        for e in (self.user_emb, self.movie_emb, self.genre_emb):
            if e is not None:
                nn.init.normal_(e.weight, std=init_std)
        self.user_lin = nn.Linear(user_feat_dim, dim, bias=False) if user_feat_dim else None
        self.movie_lin = nn.Linear(movie_feat_dim, dim, bias=False) if movie_feat_dim else None

    def forward(self, x_dict: dict[str, torch.Tensor],
                n_id_dict: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """``{'user': [N_u,d], 'movie': [N_m,d], 'genre': [N_g,d]}`` (genre only if present).

        Without ``n_id_dict`` every node of each type, in index order.
        """

        def ids(emb: nn.Embedding, t: str) -> torch.Tensor:
            return emb.weight if n_id_dict is None or t not in n_id_dict else emb(n_id_dict[t])

        hu, hm = ids(self.user_emb, NodeType.USER), ids(self.movie_emb, NodeType.MOVIE)
        if self.user_lin is not None:
            hu = hu + self.user_lin(x_dict[NodeType.USER])
        if self.movie_lin is not None:
            hm = hm + self.movie_lin(x_dict[NodeType.MOVIE])
        out = {NodeType.USER: hu, NodeType.MOVIE: hm}
        if self.genre_emb is not None:
            out[NodeType.GENRE] = ids(self.genre_emb, NodeType.GENRE)
        return out


class HeteroEncoderBase(nn.Module):
    """Heterogeneous message passing with layer averaging (base of the SAGE / GAT encoders).

    For layers ``l = 0..L-1`` and node type ``t``::

        m_t     = sum_{relations r: s -> t} conv_r(h_s, h_t, edges_r)          [N_t, d]
        z_t     = dropout(LeakyReLU(W_t^l h_t^l + m_t))                        [N_t, d]
        h_t^l+1 = z_t            (or h_t^l + z_t with ``residual=True``)
        out_t   = (1 / (L + 1)) sum_{l=0..L} h_t^l                          [N_t, d]

    (``HeteroConv`` with ``aggr='sum'`` across relations; the layer mean keeps the id
    signal of layer 0, as LightGCN's layer combination does). Heavy dropout (0.5-0.7)
    is what keeps the free id embeddings from memorising the train edges (cf. GC-MC's
    node dropout). Subclasses create the per-relation convolution in :meth:`make_conv`;
    ``uses_edge_attr`` says whether the rating edge attribute is passed through.
    """

    uses_edge_attr: bool = False
    sparse: bool = False

    def __init__(
        self, num_users: int, num_items: int, num_genres: int, user_feat_dim: int,
        movie_feat_dim: int, dim: int, num_layers: int, dropout: float, rating_levels: int,
        residual: bool = False,
    ) -> None:
        super().__init__()
        self.dim, self.dropout, self.residual = dim, dropout, residual
        self.node_input = NodeInput(num_users, num_items, num_genres, user_feat_dim,
                                    movie_feat_dim, dim)
        types = [NodeType.USER, NodeType.MOVIE] + ([NodeType.GENRE] if num_genres else [])
        rels = edge_types(rating_levels, num_genres > 0)
        self.convs = nn.ModuleList(
            HeteroConv({et: self.make_conv(et) for et in rels}, aggr="sum")
            for _ in range(num_layers)
        )
        self.self_lins = nn.ModuleList(
            nn.ModuleDict({t: nn.Linear(dim, dim) for t in types}) for _ in range(num_layers)
        )

    @abc.abstractmethod
    def make_conv(self, edge_type: EdgeType) -> nn.Module:
        """The message-passing layer of one relation (``[N_s,d],[N_t,d] -> [N_t,d]``)."""

    def forward(
        self,
        x_dict: dict[str, torch.Tensor],
        edge_index_dict: dict[EdgeType, torch.Tensor],
        edge_attr_dict: dict[EdgeType, torch.Tensor] | None = None,
        n_id_dict: dict[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Layer-averaged node states ``{type: [N_type, d]}``."""
        h = self.node_input(x_dict, n_id_dict)
        total = dict(h)
        for conv, lins_ in zip(self.convs, self.self_lins, strict=True):
            lins = cast(nn.ModuleDict, lins_)
            if self.uses_edge_attr and edge_attr_dict:
                msg = conv(h, edge_index_dict, edge_attr_dict=edge_attr_dict)
            else:
                msg = conv(h, edge_index_dict)
            new = {}
            for t, x in h.items():
                z = lins[t](x)
                if t in msg:
                    z = z + msg[t]
                z = F.dropout(F.leaky_relu(z, 0.2), self.dropout, self.training)
                new[t] = x + z if self.residual else z
            h = new
            total = {t: total[t] + h[t] for t in total}
        return {t: v / (len(self.convs) + 1) for t, v in total.items()}
