"""BPR-MF: matrix factorisation trained with Bayesian Personalised Ranking.

Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI 2009.

    s(u, i) = p_u · q_i                       P: [U, d], Q: [I, d]
    L = mean_b -log σ(s(u,i) - s(u,j)) + reg/2 (|p_u|² + |q_i|² + |q_j|²) / B

with ``(u, i)`` a train interaction and ``j`` a uniformly sampled unseen item.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from engine.data import Interactions
from engine.models.torch_base import TorchBPRRecommender

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
        diff = (u * p).sum(-1) - (u * n).sum(-1)
        l2 = (u.pow(2).sum() + p.pow(2).sum() + n.pow(2).sum()) / (2 * len(users))
        return F.softplus(-diff).mean() + self.reg * l2


class BPRMF(TorchBPRRecommender):
    """BPR matrix factorisation (``dim`` factors, Adam, early stopping on valid NDCG@10)."""

    name: ClassVar[str] = "bpr_mf"

    def __init__(
        self,
        dim: int = 64,
        reg: float = 1e-4,
        lr: float = 5e-3,
        epochs: int = 100,
        batch_size: int = 4096,
        seed: int = 0,
        eval_every: int = 5,
        patience: int = 4,
        time_budget_s: float | None = None,
        device: str = "cpu",
    ) -> None:
        super().__init__()
        self.dim, self.reg, self.lr, self.epochs = dim, reg, lr, epochs
        self.batch_size, self.seed, self.eval_every, self.patience = (
            batch_size, seed, eval_every, patience)
        self.time_budget_s, self.device = time_budget_s, device

    def _build(self, train: Interactions) -> nn.Module:
        return MFNet(train.num_users, train.num_items, self.dim, self.reg)

    def _final_embeddings(self, module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        assert isinstance(module, MFNet)
        return module.user.weight, module.item.weight
