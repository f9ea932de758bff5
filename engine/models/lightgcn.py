"""LightGCN on a cached, symmetric-normalised CSR adjacency (``torch.sparse.mm``).

He et al., "LightGCN: Simplifying and Powering Graph Convolution Network for
Recommendation", SIGIR 2020.

With ``E⁰ ∈ R^{(U+I) x d}`` the only parameters (users first, then items) and
``Â = D^{-1/2} A D^{-1/2}`` the normalised bipartite adjacency of the *train* graph::

    E^{l+1} = Â E^l                     (l = 0..L-1, no weights, no non-linearity)
    E = Σ_l α_l E^l,   α_l = 1/(L+1)
    s(u, i) = E_u · E_{U+i}
    L = mean_b -log σ(s(u,i) - s(u,j)) + reg/2 (|E⁰_u|² + |E⁰_i|² + |E⁰_j|²) / B

Unlike a message-passing layer that gathers and scatters per edge (``[nnz, d]``
intermediates every layer and step), ``Â`` is built once per train set
(:class:`engine.graph.GraphCache`), held as ``torch.sparse_csr`` and each layer is one
``torch.sparse.mm``; the backward pass reuses ``Â`` because it is symmetric. Memory per
step: ``(L+1)`` dense ``[(U+I), d]`` activations plus the CSR (``nnz`` floats + indices).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from engine.data import Interactions
from engine.graph import DEFAULT_CACHE, sym_spmm, to_torch_csr
from engine.models.torch_base import TorchBPRRecommender

__all__ = ["LightGCNCSR", "LightGCNNet"]


class LightGCNNet(nn.Module):
    """LightGCN propagation over a fixed sparse ``Â`` ([(U+I),(U+I)] CSR) plus BPR loss."""

    def __init__(
        self, num_users: int, num_items: int, dim: int, num_layers: int, reg: float,
        adj: torch.Tensor,
    ) -> None:
        super().__init__()
        self.num_users, self.num_items = num_users, num_items
        self.num_layers, self.reg = num_layers, reg
        self.embedding = nn.Embedding(num_users + num_items, dim)
        nn.init.xavier_uniform_(self.embedding.weight)
        self.adj = adj  # constant operator, deliberately not a buffer / parameter

    def _apply(self, fn, recurse=True):  # type: ignore[no-untyped-def]
        # keep the cached operator on the same device as the parameters
        out = super()._apply(fn, recurse)
        self.adj = fn(self.adj)
        return out

    def propagate(self) -> torch.Tensor:
        """``Σ_l α_l Â^l E⁰`` -> ``[(U+I), d]``."""
        x = self.embedding.weight
        out = x
        for _ in range(self.num_layers):
            x = sym_spmm(self.adj, x)
            out = out + x
        return out / (self.num_layers + 1)

    def split(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Propagated ``(user [U,d], item [I,d])`` embeddings."""
        e = self.propagate()
        return e[: self.num_users], e[self.num_users :]

    def bpr_loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """Mean BPR loss of a batch (one full propagation) plus L2 on the batch's ``E⁰`` rows."""
        e = self.propagate()
        u, p, n = e[users], e[self.num_users + pos], e[self.num_users + neg]
        diff = (u * p).sum(-1) - (u * n).sum(-1)
        e0 = self.embedding.weight
        l2 = (
            e0[users].pow(2).sum()
            + e0[self.num_users + pos].pow(2).sum()
            + e0[self.num_users + neg].pow(2).sum()
        ) / (2 * len(users))
        return F.softplus(-diff).mean() + self.reg * l2


class LightGCNCSR(TorchBPRRecommender):
    """LightGCN recommender (CSR propagation); hyper-parameters as in the paper."""

    name: ClassVar[str] = "lightgcn_csr"

    def __init__(
        self,
        dim: int = 64,
        num_layers: int = 3,
        reg: float = 1e-4,
        lr: float = 5e-3,
        epochs: int = 200,
        batch_size: int = 8192,
        seed: int = 0,
        eval_every: int = 5,
        patience: int = 4,
        time_budget_s: float | None = None,
        device: str = "cpu",
    ) -> None:
        super().__init__()
        self.dim, self.num_layers, self.reg, self.lr = dim, num_layers, reg, lr
        self.epochs, self.batch_size, self.seed = epochs, batch_size, seed
        self.eval_every, self.patience = eval_every, patience
        self.time_budget_s, self.device = time_budget_s, device

    def _build(self, train: Interactions) -> nn.Module:
        assert self._seen is not None
        adj = to_torch_csr(DEFAULT_CACHE.norm_adjacency(self._seen))
        return LightGCNNet(train.num_users, train.num_items, self.dim, self.num_layers,
                           self.reg, adj)

    def _final_embeddings(self, module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        assert isinstance(module, LightGCNNet)
        return module.split()
