"""Shared plumbing of the heterogeneous GNN models (hetero SAGE, hetero GAT, rating head).

Side features (the ``features`` argument of :meth:`Recommender.fit`) use these keys, all
computed by the caller on the TRAIN split (:func:`side_features` does it in one call)::

    "user_x"             float32 [num_users, F_u]   engine.features.user_features
    "movie_x"            float32 [num_items, F_m]   engine.features.movie_features
    "movie_genre_edges"  int64   [2, E_g]           engine.hetero.genre_edges (movie -> genre)

Every key is optional: a missing ``*_x`` means "learnable id embeddings only" for that
node type, missing genre edges mean a user/movie graph without ``genre`` nodes. Feature
columns are z-scored inside the model (statistics of the matrix passed in, itself a
train-only statistic), so counts and one-hots live on one scale.

The graph the models propagate over is built here from the train interactions only
(duplicate pairs merged, last rating wins): ``('user','rated','movie')`` and its reverse,
or -- for the rating model, as in GC-MC -- one relation per rating level
``('user','rated_r','movie')`` / ``('movie','rev_rated_r','user')``, ``r = 1..L``, plus
``('movie','in_genre','genre')`` and its reverse.

:func:`train_rating` is the MSE counterpart of :func:`engine.training.train_bpr`
(same early stopping semantics: evaluate every ``eval_every`` epochs, keep the best state
in memory, restore it, report ``best_epoch``). BPR-trained hetero models reuse
:class:`engine.models.torch_base.TorchBPRRecommender` via :class:`HeteroLinkRecommender`.
"""

from __future__ import annotations

import abc
import copy
import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import HeteroConv
from torch_geometric.utils import to_torch_csr_tensor

from engine.data import Interactions
from engine.features import node_features
from engine.hetero import genre_edges
from engine.models.base import SideFeatures
from engine.models.torch_base import TorchBPRRecommender
from engine.schema import HAS_MOVIE, IN_GENRE, RATED_BY, RATES, EdgeType, NodeType

__all__ = [
    "FEATURE_KEYS",
    "GraphInputs",
    "HeteroLinkNet",
    "HeteroLinkRecommender",
    "NodeInput",
    "HeteroEncoderBase",
    "edge_types",
    "graph_inputs",
    "node_sizes",
    "rated_edges",
    "side_features",
    "to_adj_t",
    "train_rating",
]

log = logging.getLogger(__name__)

FEATURE_KEYS: tuple[str, str, str] = ("user_x", "movie_x", "movie_genre_edges")


def side_features(
    train: Interactions, movies: pd.DataFrame, users: pd.DataFrame | None = None
) -> dict[str, np.ndarray]:
    """The three :data:`FEATURE_KEYS` arrays, fitted on ``train`` (one row per IdMap index)."""
    nf = node_features(train, movies, users)
    return {"user_x": nf.user, "movie_x": nf.movie,
            "movie_genre_edges": genre_edges(movies, nf.genres)}


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


@dataclass
class GraphInputs:
    """Tensors a hetero model is built on (all derived from the train split).

    ``user``/``item``/``rating``: the distinct train pairs (int64/int64/float32 ``[E]``);
    ``user_x``/``movie_x``: z-scored features ``[U, F_u]``/``[I, F_m]`` (``F = 0`` when
    absent); ``genre_edges``: ``[2, E_g]`` movie -> genre; ``num_genres`` may be 0.
    """

    user: torch.Tensor
    item: torch.Tensor
    rating: torch.Tensor
    user_x: torch.Tensor
    movie_x: torch.Tensor
    genre_edges: torch.Tensor
    num_genres: int


def _zscore(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    sd = x.std(0)
    return ((x - x.mean(0)) / np.where(sd > 1e-8, sd, 1.0)).astype(np.float32)


def graph_inputs(train: Interactions, features: SideFeatures | None) -> GraphInputs:
    """Validate ``features`` against ``train`` and build :class:`GraphInputs`."""
    feats = dict(features or {})
    unknown = set(feats) - set(FEATURE_KEYS)
    if unknown:
        log.info("hetero models ignore side features %s", sorted(unknown))
    m = train.to_csr(binary=False).tocoo()
    n_u, n_i = train.num_users, train.num_items

    def rows(key: str, n: int) -> np.ndarray:
        if key not in feats:
            return np.zeros((n, 0), np.float32)
        x = np.asarray(feats[key], dtype=np.float32)
        if x.ndim != 2 or x.shape[0] != n:
            raise ValueError(f"features[{key!r}] has shape {x.shape}, expected ({n}, F)")
        return _zscore(x)

    g = np.asarray(feats.get("movie_genre_edges", np.zeros((2, 0))), dtype=np.int64)
    if g.ndim != 2 or g.shape[0] != 2 or (g.size and (g[0].max() >= n_i or g.min() < 0)):
        raise ValueError(f"features['movie_genre_edges'] must be [2, E] movie->genre, got {g.shape}")
    return GraphInputs(
        user=torch.from_numpy(m.row.astype(np.int64)),
        item=torch.from_numpy(m.col.astype(np.int64)),
        rating=torch.from_numpy(m.data.astype(np.float32)),
        user_x=torch.from_numpy(rows("user_x", n_u)),
        movie_x=torch.from_numpy(rows("movie_x", n_i)),
        genre_edges=torch.from_numpy(g),
        num_genres=int(g[1].max()) + 1 if g.size else 0,
    )


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

    def forward(self, user_x: torch.Tensor, movie_x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{'user': [U,d], 'movie': [I,d], 'genre': [G,d]}`` (genre only if present)."""
        hu, hm = self.user_emb.weight, self.movie_emb.weight
        if self.user_lin is not None:
            hu = hu + self.user_lin(user_x)
        if self.movie_lin is not None:
            hm = hm + self.movie_lin(movie_x)
        out = {NodeType.USER: hu, NodeType.MOVIE: hm}
        if self.genre_emb is not None:
            out[NodeType.GENRE] = self.genre_emb.weight
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
        self, user_x: torch.Tensor, movie_x: torch.Tensor,
        edge_index_dict: dict[EdgeType, torch.Tensor],
        edge_attr_dict: dict[EdgeType, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Layer-averaged node states ``{type: [N_type, d]}``."""
        h = self.node_input(user_x, movie_x)
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


class HeteroLinkNet(nn.Module):
    """Encoder over the fixed train graph + dot-product decoder + BPR loss.

    ``s(u, i) = h_u · h_i`` with ``h = encoder(graph)``;
    ``L = mean softplus(-(s(u,p) - s(u,n))) + reg * (|e_u|² + |e_p|² + |e_n|²) / (2B)``
    where ``e`` are the layer-0 id embeddings of the batch rows (LightGCN-style L2).
    The rating of each train edge, z-scored, is passed as ``edge_attr`` (``[E, 1]``;
    SAGE ignores it, GAT can attend on it).
    """

    user_x: torch.Tensor
    movie_x: torch.Tensor
    edge_attr: torch.Tensor
    edge_index: torch.Tensor
    genre_edges: torch.Tensor

    def __init__(self, encoder: HeteroEncoderBase, inputs: GraphInputs, reg: float) -> None:
        super().__init__()
        self.encoder, self.reg = encoder, reg
        self.register_buffer("user_x", inputs.user_x, persistent=False)
        self.register_buffer("movie_x", inputs.movie_x, persistent=False)
        r = inputs.rating
        sd = r.std().clamp_min(1e-6) if len(r) > 1 else torch.ones(())
        self.register_buffer("edge_attr", ((r - r.mean()) / sd).unsqueeze(1), persistent=False)
        self.register_buffer("edge_index", torch.stack([inputs.user, inputs.item]),
                             persistent=False)
        self.register_buffer("genre_edges", inputs.genre_edges, persistent=False)
        self.with_genres = inputs.num_genres > 0
        self.sizes = node_sizes(len(inputs.user_x), len(inputs.movie_x), inputs.num_genres)
        self._graph: tuple[dict[EdgeType, torch.Tensor], dict[EdgeType, torch.Tensor]] | None = (
            None)

    def graph(self) -> tuple[dict[EdgeType, torch.Tensor], dict[EdgeType, torch.Tensor]]:
        """``(edge_index_dict, edge_attr_dict)`` of the train graph.

        For encoders with ``sparse = True`` the edges come as cached CSR ``adj_t``
        matrices ``[N_dst, N_src]`` (one sparse product per relation instead of a
        gather/scatter; the edges are distinct, so the result is the same).
        """
        if self._graph is not None and self._graph[0][RATES].device == self.edge_index.device:
            return self._graph
        ei: dict[EdgeType, torch.Tensor] = {RATES: self.edge_index,
                                            RATED_BY: self.edge_index.flip(0)}
        if self.with_genres:
            ei[IN_GENRE], ei[HAS_MOVIE] = self.genre_edges, self.genre_edges.flip(0)
        if getattr(self.encoder, "sparse", False):
            ei = to_adj_t(ei, self.sizes)
        self._graph = (ei, {RATES: self.edge_attr, RATED_BY: self.edge_attr})
        return self._graph

    def embed(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final ``(user [U,d], movie [I,d])`` states."""
        ei, attr = self.graph()
        h = self.encoder(self.user_x, self.movie_x, ei, attr)
        return h[NodeType.USER], h[NodeType.MOVIE]

    def bpr_loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """BPR over one full-graph forward pass."""
        hu, hi = self.embed()
        u, p, n = hu[users], hi[pos], hi[neg]
        diff = (u * p).sum(-1) - (u * n).sum(-1)
        ni = self.encoder.node_input
        l2 = (ni.user_emb(users).pow(2).sum() + ni.movie_emb(pos).pow(2).sum()
              + ni.movie_emb(neg).pow(2).sum()) / (2 * len(users))
        return F.softplus(-diff).mean() + self.reg * l2


class HeteroLinkRecommender(TorchBPRRecommender):
    """BPR-trained hetero GNN recommender; subclasses supply :meth:`_encoder`.

    Reuses :class:`TorchBPRRecommender` for the loop, early stopping on valid NDCG@10
    (full catalogue, seen excluded) with restore-best, scoring ``h_u · h_i`` from cached
    final embeddings, and checkpoints. Subclasses must also set ``reg``.
    """

    reg: float

    def __init__(self) -> None:
        super().__init__()
        self._inputs: GraphInputs | None = None

    @abc.abstractmethod
    def _encoder(
        self, inputs: GraphInputs, num_users: int, num_items: int
    ) -> HeteroEncoderBase:
        """A fresh encoder (a pure nn.Module built from the sizes in ``inputs``)."""

    def _fit(
        self, train: Interactions, valid: Interactions | None, features: SideFeatures | None
    ) -> dict[str, Any]:
        self._inputs = graph_inputs(train, features)
        try:
            return super()._fit(train, valid, features)
        finally:
            self._inputs = None

    def _build(self, train: Interactions) -> nn.Module:
        assert self._inputs is not None
        enc = self._encoder(self._inputs, train.num_users, train.num_items)
        return HeteroLinkNet(enc, self._inputs, self.reg)

    def _final_embeddings(self, module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        assert isinstance(module, HeteroLinkNet)
        return module.embed()


class RatingModule(Protocol):
    """What :func:`train_rating` needs: a loss over rows of the module's own train table."""

    def rating_loss(self, rows: torch.Tensor) -> torch.Tensor: ...  # noqa: D102

    def parameters(self) -> Any: ...  # noqa: D102

    def state_dict(self) -> dict[str, Any]: ...  # noqa: D102

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...  # noqa: D102

    def train(self, mode: bool = True) -> Any: ...  # noqa: D102


def train_rating(
    module: RatingModule,
    num_rows: int,
    *,
    epochs: int,
    batch_size: int = 4096,
    lr: float = 5e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    evaluate: Callable[[], float] | None = None,
    eval_every: int = 1,
    patience: int = 5,
    time_budget_s: float | None = None,
) -> dict[str, Any]:
    """Adam(W) on ``module.rating_loss(rows)`` over seeded shuffles of ``0..num_rows-1``.

    ``evaluate`` returns a value to MINIMISE (e.g. validation RMSE). Returns
    ``{"loss", "valid": [(epoch, value)], "best_epoch", "best_valid", "epochs_run",
    "fit_seconds", "seconds_per_epoch", "stopped"}`` like :func:`engine.training.train_bpr`.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + 2)
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    steps = max(1, math.ceil(num_rows / batch_size))
    history: dict[str, Any] = {"loss": [], "valid": [], "best_epoch": 0, "best_valid": None}
    best_state: dict[str, Any] | None = None
    bad, stopped, epoch = 0, "epochs", 0
    t0 = time.perf_counter()
    train_seconds = 0.0
    for epoch in range(1, epochs + 1):
        te = time.perf_counter()
        module.train(True)
        perm = torch.from_numpy(rng.permutation(num_rows))
        total = 0.0
        for s in range(steps):
            rows = perm[s * batch_size : (s + 1) * batch_size]
            opt.zero_grad(set_to_none=True)
            loss = module.rating_loss(rows)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(rows)
        train_seconds += time.perf_counter() - te
        history["loss"].append(total / max(num_rows, 1))
        over = time_budget_s is not None and time.perf_counter() - t0 > time_budget_s
        if evaluate is not None and (epoch % eval_every == 0 or epoch == epochs or over):
            module.train(False)
            with torch.no_grad():
                value = float(evaluate())
            history["valid"].append((epoch, value))
            log.info("epoch %d loss %.4f valid %.4f", epoch, history["loss"][-1], value)
            if history["best_valid"] is None or value < history["best_valid"]:
                history["best_valid"], history["best_epoch"] = value, epoch
                best_state, bad = copy.deepcopy(module.state_dict()), 0
            else:
                bad += 1
                if bad >= patience:
                    stopped = "patience"
                    break
        if over:
            stopped = "budget"
            break
    if evaluate is not None and best_state is not None:
        module.load_state_dict(best_state)
    else:
        history["best_epoch"] = epoch
    module.train(False)
    history.update(epochs_run=epoch, stopped=stopped, fit_seconds=time.perf_counter() - t0,
                   seconds_per_epoch=train_seconds / max(epoch, 1))
    return history
