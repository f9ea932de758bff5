"""BPR-MF: matrix factorisation trained with Bayesian Personalised Ranking.

Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI 2009.

    s(u, i) = p_u · q_i                       P: [U, d], Q: [I, d]
    L = mean_b -log σ(s(u,i) - s(u,j)) + reg/2 (|p_u|² + |q_i|² + |q_j|²) / B

with ``(u, i)`` a train interaction and ``j`` a uniformly sampled unseen item.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from engine.data.interactions import Interactions
from engine.models.fit import TrainSettings
from engine.models.losses import bpr_loss
from engine.models.params import check_float, check_int
from engine.models.torch_base import TorchBPRRecommender

if TYPE_CHECKING:

    from engine.models.base import GraphInput

__all__ = ["BPRMF", "MFNet"]


class MFNet(nn.Module):
    """User and item embedding tables with the BPR loss."""

    def __init__(self, num_users: int, num_items: int, dim: int, reg: float) -> None:
        super().__init__()
        self.reg = reg
        self.user = nn.Embedding(num_users, dim)
        self.item = nn.Embedding(num_items, dim)
        nn.init.normal_(self.user.weight, std=0.1)
        nn.init.normal_(self.item.weight, std=0.1)

    def bpr_loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """Mean BPR loss of a batch plus L2 on the touched rows."""
        u, p, n = self.user(users), self.item(pos), self.item(neg)
        return bpr_loss((u * p).sum(-1), (u * n).sum(-1), (u, p, n), self.reg)


class BPRMF(TorchBPRRecommender):
    """BPR matrix factorisation (``dim`` factors, Adam, early stopping on valid NDCG@10)."""

    name: ClassVar[str] = "bpr_mf"
    train_defaults: ClassVar[TrainSettings] = TrainSettings(
        epochs=100, batch_size=4096, lr=5e-3, eval_every=5, patience=4)

    def __init__(self, dim: int = 64, reg: float = 1e-4, **train: Any) -> None:
        super().__init__(**train)
        self.dim = check_int("dim", dim, 1)
        self.reg = check_float("reg", reg, 0.0)

    def _build(self, train: Interactions, graph: GraphInput | None) -> nn.Module:
        return MFNet(train.num_users, train.num_items, self.dim, self.reg)

    def _final_embeddings(self, module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        assert isinstance(module, MFNet)
        return module.user.weight, module.item.weight
