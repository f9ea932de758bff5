"""Explicit-rating regression: biased matrix factorisation and the shared rating model.

Koren, Bell & Volinsky, "Matrix Factorization Techniques for Recommender Systems", IEEE
Computer 2009: biases + factors. :class:`RatingHead` is the decoder of every rating
model here (``h`` encoder states ``[N, d]`` -- none for plain MF --, ``p, q`` free factors
``[N, k]``, ``A, B`` ``[k', d]``)::

    r̂(u, i) = μ + b_u + b_i + w_u·h_u + w_i·h_i + p_u·q_i + (A h_u)·(B h_i)

Loss: ``mean (r̂ - r)² + reg · mean(|p_u|² + |q_i|² + b_u² + b_i²)`` with AdamW weight
decay on the rest, trained by :func:`~engine.models.fit.fit_loop`; the epoch is chosen
on ``valid`` (carve it from train, never test) by RMSE, best state restored. Predictions
are clipped to the train rating range. Everything is a sum of dot products, so
``score(users)`` over the full catalogue is two matrix products.

:class:`RatingModel` is the trainer shared with the GC-MC-style
:class:`~engine.models.hetero.rating.HeteroSAGERatingModel` (which adds the encoder);
:class:`BiasedMF` is the decoder alone (the baseline of the rating benchmark).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import HeteroData

from engine.data.interactions import Interactions
from engine.errors import ParameterError
from engine.evaluate.metrics import rating_metrics
from engine.models.base import Task
from engine.models.fit import TrainSettings, fit_loop
from engine.models.foldin import ridge_users
from engine.models.hetero.encoder import HeteroEncoderBase
from engine.models.hetero.inputs import node_sizes, num_genres, prepare_graph, rated_edges, to_adj_t
from engine.models.history import FitHistory
from engine.models.params import check_float, check_int
from engine.models.torch_base import TorchRecommender
from engine.schema import HAS_MOVIE, IN_GENRE, RATES, EdgeType, NodeType

if TYPE_CHECKING:
    from engine.models.base import GraphInput

__all__ = ["BiasedMF", "RatingHead", "RatingModel", "RatingNet"]

#: λ of the rating models' fold-in: on the user bias, and on the other user-side weights.
FOLD_REG_BIAS = 1.0
FOLD_REG = 1.0


class RatingHead(nn.Module):
    """Biased-MF + bilinear GNN decoder (see module docstring); ``dim = 0``: pure MF.

    Shapes: ``users, items`` int64 ``[B]``; ``hu, hi`` float ``[B, dim]``; output ``[B]``.
    """

    def __init__(
        self, num_users: int, num_items: int, dim: int, mf_dim: int, proj_dim: int,
        global_mean: float, dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.dim, self.dropout = dim, dropout
        self.register_buffer("mu", torch.tensor(float(global_mean)))
        self.user_bias = nn.Embedding(num_users, 1)
        self.item_bias = nn.Embedding(num_items, 1)
        self.p = nn.Embedding(num_users, mf_dim)
        self.q = nn.Embedding(num_items, mf_dim)
        for e in (self.user_bias, self.item_bias):
            nn.init.zeros_(e.weight)
        for e in (self.p, self.q):
            nn.init.normal_(e.weight, std=0.01)
        if dim:
            self.w_user = nn.Linear(dim, 1, bias=False)
            self.w_item = nn.Linear(dim, 1, bias=False)
            self.a = nn.Linear(dim, proj_dim, bias=False)
            self.b = nn.Linear(dim, proj_dim, bias=False)

    def _gnn_parts(
        self, hu: torch.Tensor, hi: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        hu = F.dropout(hu, self.dropout, self.training)
        hi = F.dropout(hi, self.dropout, self.training)
        return self.w_user(hu).squeeze(-1), self.w_item(hi).squeeze(-1), self.a(hu), self.b(hi)

    def forward(
        self, users: torch.Tensor, items: torch.Tensor, hu: torch.Tensor, hi: torch.Tensor
    ) -> torch.Tensor:
        """Predicted ratings of the pairs ``(users[j], items[j])`` (unclipped)."""
        out = (self.mu + self.user_bias(users).squeeze(-1) + self.item_bias(items).squeeze(-1)
               + (self.p(users) * self.q(items)).sum(-1))
        if self.dim:
            bu, bi, au, bh = self._gnn_parts(hu, hi)
            out = out + bu + bi + (au * bh).sum(-1)
        return out

    def full(self, users: torch.Tensor, hu: torch.Tensor, hi_all: torch.Tensor) -> torch.Tensor:
        """Ratings of ``users`` for every item: ``[n, num_items]`` (unclipped)."""
        items = torch.arange(self.q.num_embeddings, device=users.device)
        out = (self.mu + self.user_bias(users) + self.item_bias(items).T
               + self.p(users) @ self.q(items).T)
        if self.dim:
            bu, bi, au, bh = self._gnn_parts(hu, hi_all)
            out = out + bu[:, None] + bi[None, :] + au @ bh.T
        return out

    def reg_terms(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``mean(|p_u|² + |q_i|² + b_u² + b_i²)`` over the batch."""
        return (self.p(users).pow(2).sum(-1) + self.q(items).pow(2).sum(-1)
                + self.user_bias(users).squeeze(-1).pow(2)
                + self.item_bias(items).squeeze(-1).pow(2)).mean()


class RatingNet(nn.Module):
    """Encoder (optional) + :class:`RatingHead` over the train graph, with the MSE loss."""

    user: torch.Tensor
    item: torch.Tensor
    rating: torch.Tensor
    level: torch.Tensor
    user_x: torch.Tensor
    movie_x: torch.Tensor
    genre_edges: torch.Tensor

    def __init__(
        self, encoder: HeteroEncoderBase | None, head: RatingHead, graph: HeteroData,
        rating_levels: int, reg: float, edge_dropout: float,
    ) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head
        self.rating_levels, self.reg, self.edge_dropout = rating_levels, reg, edge_dropout
        rating = graph[RATES].rating
        level = torch.ceil(rating).long().clamp(1, max(rating_levels, 1)) - 1
        genres = num_genres(graph)
        self.with_genres = genres > 0
        genre_edges = (graph[IN_GENRE].edge_index if self.with_genres
                       else torch.zeros((2, 0), dtype=torch.long))
        user, item = graph[RATES].edge_index
        for name, t in (("user", user), ("item", item), ("rating", rating),
                        ("level", level), ("user_x", graph[NodeType.USER].x),
                        ("movie_x", graph[NodeType.MOVIE].x), ("genre_edges", genre_edges)):
            self.register_buffer(name, t, persistent=False)
        self.sizes = node_sizes(graph[NodeType.USER].num_nodes, graph[NodeType.MOVIE].num_nodes,
                                genres)

    def encode(self, keep: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """States ``(user [U,d], movie [I,d])`` from the train edges where ``keep``."""
        if self.encoder is None:
            empty = self.user_x.new_zeros
            return empty((self.sizes[NodeType.USER], 0)), empty((self.sizes[NodeType.MOVIE], 0))
        u, i, lv = self.user, self.item, self.level
        if keep is not None:
            u, i, lv = u[keep], i[keep], lv[keep]
        ei: dict[EdgeType, torch.Tensor] = rated_edges(u, i, lv, self.rating_levels)
        if self.with_genres:
            ei[IN_GENRE], ei[HAS_MOVIE] = self.genre_edges, self.genre_edges.flip(0)
        x = {NodeType.USER: self.user_x, NodeType.MOVIE: self.movie_x}
        h = self.encoder(x, to_adj_t(ei, self.sizes))
        return h[NodeType.USER], h[NodeType.MOVIE]

    def rating_loss(self, rows: torch.Tensor) -> torch.Tensor:
        """MSE + L2 on the batch ``rows`` of the train table; targets leave the graph."""
        keep = None
        if self.encoder is not None:
            keep = torch.ones(len(self.user), dtype=torch.bool, device=self.user.device)
            keep[rows] = False
            if self.training and self.edge_dropout > 0:
                keep &= torch.rand(len(keep), device=keep.device) >= self.edge_dropout
        hu, hi = self.encode(keep)
        u, i = self.user[rows], self.item[rows]
        pred = self.head(u, i, hu[u], hi[i])
        return F.mse_loss(pred, self.rating[rows]) + self.reg * self.head.reg_terms(u, i)


class RatingModel(TorchRecommender):
    """Rating regression with :class:`RatingHead` (``predict``/``score`` give ratings).

    Subclasses with an encoder set ``dim``, ``num_layers``, ``rating_levels``,
    ``proj_dim``, ``dropout`` and ``edge_dropout`` and return it from :meth:`_encoder`.
    """

    task: ClassVar[Task] = "rating"
    dim: int = 0
    rating_levels: int = 0
    proj_dim: int = 0
    dropout: float = 0.0
    edge_dropout: float = 0.0

    def __init__(self, mf_dim: int, reg: float, **train: Any) -> None:
        super().__init__(**train)
        self.mf_dim = check_int("mf_dim", mf_dim, 0)
        self.reg = check_float("reg", reg, 0.0)
        self.head: RatingHead | None = None
        self.user_h = np.zeros((0, 0), np.float32)
        self.item_h = np.zeros((0, 0), np.float32)
        self.bounds = np.array([-np.inf, np.inf], np.float32)
        #: fold-in users' ``(θ [n, d'], φ [I, d'], c [I])``: ``r̂ = c + θ·φ`` (:meth:`_fold_users`)
        self._folded: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _encoder(self, graph: HeteroData) -> HeteroEncoderBase | None:
        return None

    def _head(self, global_mean: float, with_encoder: bool) -> RatingHead:
        return RatingHead(self.num_users, self.num_items, self.dim if with_encoder else 0,
                          self.mf_dim, self.proj_dim, global_mean, self.dropout)

    def _fit(self, train: Interactions, valid: Interactions | None,
             graph: GraphInput | None) -> FitHistory:
        t0 = time.perf_counter()
        s = self.settings
        torch.manual_seed(s.seed)
        if isinstance(graph, tuple):
            raise ParameterError(f"{self.name} trains on an in-memory HeteroData graph only")
        prepared = prepare_graph(train, graph)
        rating = prepared[RATES].rating
        self.bounds = np.array([rating.min(), rating.max()], np.float32)
        encoder = self._encoder(prepared)
        net = RatingNet(encoder, self._head(float(rating.mean()), encoder is not None), prepared,
                        self.rating_levels, self.reg, self.edge_dropout)
        evaluate = None
        if valid is not None and len(valid) > 0:
            vu, vi = torch.from_numpy(valid.user.astype(np.int64)), torch.from_numpy(
                valid.item.astype(np.int64))

            def evaluate() -> float:
                hu, hi = net.encode()
                pred = net.head(vu, vi, hu[vu], hi[vi]).clamp(*self.bounds.tolist())
                return rating_metrics(valid.rating, pred.numpy())["rmse"]

        rng = np.random.default_rng(s.seed + 2)
        n_rows = len(net.user)
        steps = max(1, math.ceil(n_rows / s.batch_size))

        def run_epoch(opt: torch.optim.Optimizer) -> float:
            perm = torch.from_numpy(rng.permutation(n_rows))
            total = 0.0
            for step in range(steps):
                rows = perm[step * s.batch_size : (step + 1) * s.batch_size]
                opt.zero_grad(set_to_none=True)
                loss = net.rating_loss(rows)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(rows)
            return total / max(n_rows, 1)

        history = fit_loop(net, run_epoch, s, evaluate=evaluate, metric="rmse",
                           higher_is_better=False)
        with torch.no_grad():
            hu, hi = net.encode()
        self.head = net.head
        self.user_h, self.item_h = hu.numpy().astype(np.float32), hi.numpy().astype(np.float32)
        history.fit_seconds = time.perf_counter() - t0
        return history

    def _item_side(self) -> tuple[np.ndarray, np.ndarray]:
        """``(φ [I, d'], c [I])`` with ``r̂(u, i) = c_i + θ_u·φ_i`` for a user-side vector ``θ_u``.

        ``c = μ + b_i + w_i·h_i`` and ``φ = [1, q_i, B h_i]``; a user's ``θ`` is then
        ``[b_u + w_u·h_u, p_u, A h_u]`` (the decoder is linear in its user side).
        """
        assert self.head is not None
        head = self.head
        with torch.no_grad():
            mu: torch.Tensor = head.mu  # type: ignore[assignment]
            c = mu + head.item_bias.weight.squeeze(-1)
            parts = [torch.ones(self.num_items, 1), head.q.weight]
            if head.dim:
                hi = torch.from_numpy(self.item_h)
                c = c + head.w_item(hi).squeeze(-1)
                parts.append(head.b(hi))
        return (torch.cat(parts, dim=1).detach().numpy().astype(np.float64),
                c.detach().numpy().astype(np.float64))

    def _fold_users(self, history: Interactions) -> None:
        """New users' decoder side by ridge regression of their ratings on the frozen item side."""
        phi, c = self._item_side()
        reg = np.r_[FOLD_REG_BIAS, np.full(phi.shape[1] - 1, FOLD_REG)]
        theta = ridge_users(history.to_csr(binary=False), phi, reg=reg, offset=c)
        self._folded = (theta, phi.astype(np.float32), c.astype(np.float32))

    # ----------------------------------------------------------------- inference
    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings (clipped to the train range) of each ``(users[j], items[j])``."""
        self._check_fitted()
        if self._folded is not None:
            theta, phi, c = self._folded
            uu, ii = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
            pairs = c[ii] + np.einsum("nk,nk->n", theta[uu], phi[ii])
            return np.clip(pairs, *self.bounds).astype(np.float32)
        assert self.head is not None
        u = torch.from_numpy(np.asarray(users, dtype=np.int64))
        i = torch.from_numpy(np.asarray(items, dtype=np.int64))
        with torch.no_grad():
            out = self.head(u, i, torch.from_numpy(self.user_h)[u], torch.from_numpy(self.item_h)[i])
        return out.clamp(*self.bounds.tolist()).numpy().astype(np.float32)

    def score(self, users: np.ndarray) -> np.ndarray:
        """Predicted ratings of every item: float32 ``[n, num_items]``."""
        self._check_fitted()
        if self._folded is not None:
            theta, phi, c = self._folded
            out = c[None, :] + theta[np.asarray(users, dtype=np.int64)] @ phi.T
            return np.clip(out, *self.bounds).astype(np.float32)
        assert self.head is not None
        u = torch.from_numpy(np.asarray(users, dtype=np.int64))
        with torch.no_grad():
            out = self.head.full(u, torch.from_numpy(self.user_h)[u], torch.from_numpy(self.item_h))
        return out.clamp(*self.bounds.tolist()).numpy().astype(np.float32)

    def embeddings(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Encoder states ``(user [U,d], movie [I,d])`` (``None`` without one, or for fold-in users)."""
        if self._folded is not None:
            return None
        return (self.user_h, self.item_h) if self.user_h.shape[1] else None

    # ----------------------------------------------------------------- persistence
    def _state(self) -> dict[str, np.ndarray]:
        assert self.head is not None
        out = {"user_h": self.user_h, "item_h": self.item_h, "bounds": self.bounds}
        for k, v in self.head.state_dict().items():
            out[f"head.{k}"] = v.detach().cpu().numpy()
        return out

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.user_h = state["user_h"].astype(np.float32)
        self.item_h = state["item_h"].astype(np.float32)
        self.bounds = state["bounds"].astype(np.float32)
        head = self._head(float(state["head.mu"]), self.user_h.shape[1] > 0)
        head.load_state_dict({k[5:]: torch.from_numpy(np.asarray(v))
                              for k, v in state.items() if k.startswith("head.")})
        head.eval()
        self.head = head


class BiasedMF(RatingModel):
    """Biased matrix factorisation ``μ + b_u + b_i + p_u·q_i`` (the decoder alone), MSE."""

    name: ClassVar[str] = "biased_mf_rating"
    train_defaults: ClassVar[TrainSettings] = TrainSettings(
        epochs=150, batch_size=8192, lr=2e-3, eval_every=1, patience=5)

    def __init__(self, mf_dim: int = 32, reg: float = 0.1, **train: Any) -> None:
        super().__init__(mf_dim=mf_dim, reg=reg, **train)
