"""Explicit-rating regression: a GC-MC-style hetero GraphSAGE encoder + biased-MF decoder.

Berg, Kipf & Welling, "Graph Convolutional Matrix Completion" (GC-MC), KDD 2018 deep
learning day: one relation per rating level; Koren, Bell & Volinsky, "Matrix
Factorization Techniques for Recommender Systems", IEEE Computer 2009: biases + factors.

Encoder: :class:`~engine.models.hetero_sage.HeteroSAGEEncoder` with ``rating_levels = L``
relations ``('user','rated_r','movie')`` (+ reverses, + genre relations), so a user's
state mixes the movies they loved apart from the ones they hated. Decoder (``h`` the
encoder states ``[N, d]``, ``p, q`` free factors ``[N, k]``, ``A, B`` ``[k', d]``)::

    r̂(u, i) = μ + b_u + b_i + w_u·h_u + w_i·h_i + p_u·q_i + (A h_u)·(B h_i)

The first line is biased MF (the ensemble's anchor), the rest the GNN term; everything
is a sum of dot products, so ``score(users)`` over the full catalogue is two matrix
products. Loss: ``mean (r̂ - r)² + reg · mean(|p_u|² + |q_i|² + b_u² + b_i²)`` with
AdamW weight decay on the rest. Against label leakage, the target edges of each batch
are removed from the message-passing graph of that step (and a further ``edge_dropout``
share at random), so no edge is predicted from its own rating. Predictions are clipped
to the train rating range. The epoch is chosen on ``valid`` (carve it from train, never
test) by RMSE, best state restored.

:class:`BiasedMF` is the same decoder without the encoder (the baseline of the bench).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.data import Interactions
from engine.metrics import rating_metrics
from engine.models.base import Recommender, SideFeatures
from engine.models.hetero_base import (
    GraphInputs,
    graph_inputs,
    node_sizes,
    rated_edges,
    to_adj_t,
    train_rating,
)
from engine.models.hetero_sage import HeteroSAGEEncoder
from engine.schema import HAS_MOVIE, IN_GENRE, EdgeType, NodeType

__all__ = ["BiasedMF", "HeteroSAGERatingModel", "RatingHead", "RatingNet"]


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
        self, encoder: HeteroSAGEEncoder | None, head: RatingHead, inputs: GraphInputs,
        rating_levels: int, reg: float, edge_dropout: float,
    ) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head
        self.rating_levels, self.reg, self.edge_dropout = rating_levels, reg, edge_dropout
        level = torch.ceil(inputs.rating).long().clamp(1, max(rating_levels, 1)) - 1
        for name, t in (("user", inputs.user), ("item", inputs.item), ("rating", inputs.rating),
                        ("level", level), ("user_x", inputs.user_x),
                        ("movie_x", inputs.movie_x), ("genre_edges", inputs.genre_edges)):
            self.register_buffer(name, t, persistent=False)
        self.with_genres = inputs.num_genres > 0
        self.sizes = node_sizes(len(inputs.user_x), len(inputs.movie_x), inputs.num_genres)

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
        h = self.encoder(self.user_x, self.movie_x, to_adj_t(ei, self.sizes))
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


class HeteroSAGERatingModel(Recommender):
    """Rating regression (GC-MC-style hetero SAGE + biased MF); ``predict`` gives ratings.

    ``features``: the keys of :class:`~engine.models.hetero_sage.HeteroSAGERecommender`
    (``"user_x"``, ``"movie_x"``, ``"movie_genre_edges"``; optional, TRAIN split).
    ``score(users)`` returns predicted ratings for the whole catalogue (so ``recommend``
    ranks by predicted rating); ``embeddings()`` returns the encoder states.

    Defaults were chosen on a 10% validation carve of ML-100K ``u1.base`` (seed 1): two
    layers, 64-d, dropout 0.3, no free MF factors (``mf_dim=0``: the biases + GNN term
    validated better than adding ``p_u·q_i``; set ``mf_dim>0`` for the full ensemble).
    """

    name: ClassVar[str] = "hetero_sage_rating"

    def __init__(
        self,
        dim: int = 64,
        num_layers: int = 2,
        rating_levels: int = 5,
        mf_dim: int = 0,
        proj_dim: int = 32,
        dropout: float = 0.3,
        edge_dropout: float = 0.1,
        reg: float = 0.05,
        weight_decay: float = 1e-4,
        lr: float = 2e-3,
        epochs: int = 150,
        batch_size: int = 8192,
        seed: int = 0,
        patience: int = 5,
        time_budget_s: float | None = None,
    ) -> None:
        super().__init__()
        self.dim, self.num_layers, self.rating_levels = dim, num_layers, rating_levels
        self.mf_dim, self.proj_dim, self.dropout = mf_dim, proj_dim, dropout
        self.edge_dropout, self.reg, self.weight_decay = edge_dropout, reg, weight_decay
        self.lr, self.epochs, self.batch_size, self.seed = lr, epochs, batch_size, seed
        self.patience, self.time_budget_s = patience, time_budget_s
        self.head: RatingHead | None = None
        self.user_h = np.zeros((0, 0), np.float32)
        self.item_h = np.zeros((0, 0), np.float32)
        self.bounds = np.array([-np.inf, np.inf], np.float32)

    def _encoder(self, inputs: GraphInputs, num_users: int, num_items: int) -> (
            HeteroSAGEEncoder | None):
        return HeteroSAGEEncoder(
            num_users, num_items, inputs.num_genres, inputs.user_x.shape[1],
            inputs.movie_x.shape[1], self.dim, self.num_layers, self.dropout,
            rating_levels=self.rating_levels,
        )

    def _head(self, global_mean: float) -> RatingHead:
        dim = self.dim if self._has_encoder() else 0
        return RatingHead(self.num_users, self.num_items, dim, self.mf_dim, self.proj_dim,
                          global_mean, self.dropout)

    def _has_encoder(self) -> bool:
        return True

    def _fit(
        self, train: Interactions, valid: Interactions | None, features: SideFeatures | None
    ) -> dict[str, Any]:
        t0 = time.perf_counter()
        torch.manual_seed(self.seed)
        inputs = graph_inputs(train, features)
        self.bounds = np.array([inputs.rating.min(), inputs.rating.max()], np.float32)
        encoder = self._encoder(inputs, self.num_users, self.num_items)
        net = RatingNet(encoder, self._head(float(inputs.rating.mean())), inputs,
                        self.rating_levels, self.reg, self.edge_dropout)
        evaluate = None
        if valid is not None and len(valid) > 0:
            vu, vi = torch.from_numpy(valid.user.astype(np.int64)), torch.from_numpy(
                valid.item.astype(np.int64))

            def evaluate() -> float:
                hu, hi = net.encode()
                pred = net.head(vu, vi, hu[vu], hi[vi]).clamp(*self.bounds.tolist())
                return rating_metrics(valid.rating, pred.numpy())["rmse"]

        history = train_rating(
            net, len(inputs.user), epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
            weight_decay=self.weight_decay, seed=self.seed, evaluate=evaluate, eval_every=1,
            patience=self.patience, time_budget_s=self.time_budget_s,
        )
        with torch.no_grad():
            hu, hi = net.encode()
        self.head = net.head
        self.user_h, self.item_h = hu.numpy().astype(np.float32), hi.numpy().astype(np.float32)
        history["fit_seconds"] = time.perf_counter() - t0
        return history

    # ----------------------------------------------------------------- inference
    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings (clipped to the train range) of each ``(users[j], items[j])``."""
        self._check_fitted()
        assert self.head is not None
        u = torch.from_numpy(np.asarray(users, dtype=np.int64))
        i = torch.from_numpy(np.asarray(items, dtype=np.int64))
        with torch.no_grad():
            out = self.head(u, i, torch.from_numpy(self.user_h)[u], torch.from_numpy(self.item_h)[i])
        return out.clamp(*self.bounds.tolist()).numpy().astype(np.float32)

    def score(self, users: np.ndarray) -> np.ndarray:
        """Predicted ratings of every item: float32 ``[n, num_items]``."""
        self._check_fitted()
        assert self.head is not None
        u = torch.from_numpy(np.asarray(users, dtype=np.int64))
        with torch.no_grad():
            out = self.head.full(u, torch.from_numpy(self.user_h)[u], torch.from_numpy(self.item_h))
        return out.clamp(*self.bounds.tolist()).numpy().astype(np.float32)

    def embeddings(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Encoder states ``(user [U,d], movie [I,d])`` (``None`` without an encoder)."""
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
        head = self._head(float(state["head.mu"]))
        head.load_state_dict({k[5:]: torch.from_numpy(np.asarray(v))
                              for k, v in state.items() if k.startswith("head.")})
        head.eval()
        self.head = head


class BiasedMF(HeteroSAGERatingModel):
    """Biased matrix factorisation ``μ + b_u + b_i + p_u·q_i`` (the decoder alone), MSE."""

    name: ClassVar[str] = "biased_mf_rating"

    def __init__(
        self,
        mf_dim: int = 32,
        reg: float = 0.1,
        weight_decay: float = 0.0,
        lr: float = 2e-3,
        epochs: int = 150,
        batch_size: int = 8192,
        seed: int = 0,
        patience: int = 5,
        time_budget_s: float | None = None,
    ) -> None:
        super().__init__(dim=0, num_layers=0, rating_levels=0, mf_dim=mf_dim, proj_dim=0,
                         dropout=0.0, edge_dropout=0.0, reg=reg, weight_decay=weight_decay,
                         lr=lr, epochs=epochs, batch_size=batch_size, seed=seed,
                         patience=patience, time_budget_s=time_budget_s)

    def _encoder(self, inputs: GraphInputs, num_users: int, num_items: int) -> (
            HeteroSAGEEncoder | None):
        return None

    def _has_encoder(self) -> bool:
        return False
