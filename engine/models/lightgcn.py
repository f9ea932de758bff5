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
(:class:`engine.models.ops.GraphCache`), held as ``torch.sparse_csr`` and each layer is one
``torch.sparse.mm``; the backward pass reuses ``Â`` because it is symmetric. Memory per
step: ``(L+1)`` dense ``[(U+I), d]`` activations plus the CSR (``nnz`` floats + indices).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from engine.data.interactions import Interactions
from engine.models.fit import TrainSettings
from engine.models.losses import bpr_loss
from engine.models.ops import DEFAULT_CACHE, sym_spmm, to_torch_csr
from engine.models.params import check_float, check_int
from engine.models.torch_base import TorchBPRRecommender

if TYPE_CHECKING:

    from engine.models.base import GraphInput

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

    def _apply(self, fn, recurse=True):
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
        e0 = self.embedding.weight
        ego = (e0[users], e0[self.num_users + pos], e0[self.num_users + neg])
        return bpr_loss((u * p).sum(-1), (u * n).sum(-1), ego, self.reg)


class LightGCNCSR(TorchBPRRecommender):
    """LightGCN recommender (CSR propagation); hyper-parameters as in the paper."""

    name: ClassVar[str] = "lightgcn_csr"
    train_defaults: ClassVar[TrainSettings] = TrainSettings(
        epochs=200, batch_size=8192, lr=5e-3, eval_every=5, patience=4)

    def __init__(self, dim: int = 64, num_layers: int = 3, reg: float = 1e-4, **train: Any) -> None:
        super().__init__(**train)
        self.dim = check_int("dim", dim, 1)
        self.num_layers = check_int("num_layers", num_layers, 0)
        self.reg = check_float("reg", reg, 0.0)

    def _build(self, train: Interactions, graph: GraphInput | None) -> nn.Module:
        assert self._seen is not None
        adj = to_torch_csr(DEFAULT_CACHE.norm_adjacency(self._seen))
        return LightGCNNet(train.num_users, train.num_items, self.dim, self.num_layers,
                           self.reg, adj)

    def _final_embeddings(self, module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        assert isinstance(module, LightGCNNet)
        return module.split()
