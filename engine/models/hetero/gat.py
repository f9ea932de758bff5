"""Heterogeneous graph attention (GAT / GATv2) over the user / movie / genre graph, BPR.

Veličković et al., "Graph Attention Networks", ICLR 2018; Brody, Alon & Yahav, "How
Attentive are Graph Attention Networks?" (GATv2), ICLR 2022; one attention layer per
relation combined with PyG's ``HeteroConv`` (as in HAN / R-GAT style models).

Same graph, layer-0 inputs, dropout + layer averaging, dot decoder and BPR training as
:mod:`engine.models.hetero.sage`; only the per-relation message function differs. For a
relation ``r: s -> t`` with ``K`` heads of width ``d / K`` (``concat`` of heads -> ``d``)::

    GAT:    e_vu^k = LeakyReLU(a_k^T [W_k h_v || W_k h_u || W_e^k z_vu])
    GATv2:  e_vu^k = a_k^T LeakyReLU(W_k [h_v || h_u] + W_e^k z_vu)
    α_vu^k = softmax_{u in N_r(v)} e_vu^k,      conv_r(h)_v = ||_k sum_u α_vu^k W_k h_u

``z_vu`` ([E, 1]) is the z-scored train rating of the edge (only on ``rated`` /
``rev_rated`` when ``use_rating=True``), so attention can weight a user's loved movies
above the ones they rated 1. No self loops (bipartite relations; the encoder adds its own
self transform). Cost is ``O(E · d)`` per layer with gather/scatter (no sparse-matrix
shortcut), i.e. several times a SAGE step.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn
from torch_geometric.nn import GATConv, GATv2Conv

from engine.errors import ParameterError
from engine.models.fit import TrainSettings
from engine.models.hetero.encoder import HeteroEncoderBase
from engine.models.hetero.link import HeteroLinkRecommender
from engine.models.params import check_float, check_int
from engine.schema import NodeType

__all__ = ["HeteroGATEncoder", "HeteroGATRecommender"]


class HeteroGATEncoder(HeteroEncoderBase):
    """Residual hetero GAT(v2): ``{type: [N_type, dim]}`` node states.

    Args:
        num_users, num_items, num_genres, user_feat_dim, movie_feat_dim, dim, num_layers,
            dropout, rating_levels, residual: as
            :class:`~engine.models.hetero.sage.HeteroSAGEEncoder` (edges as ``[2, E]``).
        heads: attention heads ``K`` (``dim % heads == 0``).
        attn_dropout: dropout on the attention coefficients.
        v2: GATv2 ("dynamic" attention) instead of GAT.
        use_rating: feed the edge's rating to the attention of user <-> movie relations.
    """

    def __init__(
        self, num_users: int, num_items: int, num_genres: int, user_feat_dim: int,
        movie_feat_dim: int, dim: int = 64, num_layers: int = 2, dropout: float = 0.5,
        rating_levels: int = 0, heads: int = 2, attn_dropout: float = 0.0, v2: bool = False,
        use_rating: bool = True, residual: bool = False,
    ) -> None:
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.heads, self.attn_dropout, self.v2 = heads, attn_dropout, v2
        self.uses_edge_attr = use_rating
        super().__init__(num_users, num_items, num_genres, user_feat_dim, movie_feat_dim,
                         dim, num_layers, dropout, rating_levels, residual)

    def make_conv(self, edge_type: tuple[str, str, str]) -> nn.Module:
        """``GAT(v2)Conv((d, d), d / K, heads=K)``; rating edge attribute on user<->movie."""
        src, _, dst = edge_type
        rated = {src, dst} == {NodeType.USER, NodeType.MOVIE}
        conv = GATv2Conv if self.v2 else GATConv
        return conv(
            (self.dim, self.dim), self.dim // self.heads, heads=self.heads, concat=True,
            dropout=self.attn_dropout, add_self_loops=False,
            edge_dim=1 if (rated and self.uses_edge_attr) else None,
        )


class HeteroGATRecommender(HeteroLinkRecommender):
    """Hetero GAT(v2) + dot decoder, BPR loss, early stopping on valid NDCG@10.

    Reads the ``HeteroData`` training graph like
    :class:`~engine.models.hetero.sage.HeteroSAGERecommender`.
    """

    name: ClassVar[str] = "hetero_gat"
    train_defaults: ClassVar[TrainSettings] = TrainSettings(
        epochs=300, batch_size=8192, lr=3e-3, eval_every=5, patience=5)

    def __init__(self, dim: int = 64, num_layers: int = 2, heads: int = 2, v2: bool = False,
                 use_rating: bool = True, dropout: float = 0.7, attn_dropout: float = 0.0,
                 reg: float = 1e-4, minibatch: Any = "auto", fanouts: Any = "10,5",
                 loss: str = "bpr", epoch_edges: int | None = None,
                 max_edges: int | None = None, **train: Any) -> None:
        super().__init__(**train)
        self._sampling_params(minibatch, fanouts, loss, epoch_edges, max_edges)
        self.dim = check_int("dim", dim, 1)
        self.num_layers = check_int("num_layers", num_layers, 1)
        self.heads = check_int("heads", heads, 1)
        if self.dim % self.heads:
            raise ParameterError(f"parameter dim={self.dim} must be divisible by heads={self.heads}")
        self.v2, self.use_rating = bool(v2), bool(use_rating)
        self.dropout = check_float("dropout", dropout, 0.0, 1.0)
        self.attn_dropout = check_float("attn_dropout", attn_dropout, 0.0, 1.0)
        self.reg = check_float("reg", reg, 0.0)

    def _encoder(self, dims: dict[str, Any]) -> HeteroEncoderBase:
        return HeteroGATEncoder(
            **dims, dim=self.dim, num_layers=self.num_layers,
            dropout=self.dropout, heads=self.heads, attn_dropout=self.attn_dropout, v2=self.v2,
            use_rating=self.use_rating,
        )
