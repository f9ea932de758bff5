"""The one BPR loss, and the negative sampler and epoch that feed it.

Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI 2009::

    L = mean_b softplus(-(s(u_b, p_b) - s(u_b, n_b))) + reg · Σ_e |e|² / (2B)

with ``(u, p)`` a train interaction, ``n`` an item the user has not interacted with,
drawn uniformly, and ``e`` the batch's ego (layer-0) embedding rows (LightGCN-style L2).
Every BPR model (BPR-MF, LightGCN-CSR, the heterogeneous GNNs) calls :func:`bpr_loss`;
:func:`bpr_epoch` is their epoch for :func:`engine.models.fit.fit_loop`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from engine.data.interactions import Interactions

__all__ = ["BPRModule", "NegativeSampler", "bpr_epoch", "bpr_loss"]


def bpr_loss(pos: torch.Tensor, neg: torch.Tensor, ego: Sequence[torch.Tensor],
             reg: float) -> torch.Tensor:
    """Mean BPR loss of scores ``pos``/``neg`` ``[B]`` plus L2 on the ``ego`` rows."""
    diff = pos - neg
    l2 = sum(e.pow(2).sum() for e in ego) / (2 * len(pos))
    return F.softplus(-diff).mean() + reg * l2


class BPRModule(Protocol):
    """What :func:`bpr_epoch` needs from a model's module."""

    def bpr_loss(self, users: torch.Tensor, pos: torch.Tensor,  # noqa: D102
                 neg: torch.Tensor) -> torch.Tensor: ...


class NegativeSampler:
    """Uniform negatives avoiding each user's train items (vectorised rejection sampling).

    Seen pairs are kept as sorted int64 keys ``user * num_items + item``; a candidate is
    redrawn while it hits a seen key (at most ``max_tries`` rounds; leftovers are kept,
    which only matters for users who have seen almost the whole catalogue).
    """

    def __init__(self, train: Interactions, seed: int = 0, max_tries: int = 20) -> None:
        self.num_items = int(train.num_items)
        self.keys = np.unique(train.user.astype(np.int64) * self.num_items + train.item)
        self.rng = np.random.default_rng(seed)
        self.max_tries = max_tries

    def _is_seen(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        k = users * self.num_items + items
        pos = np.minimum(np.searchsorted(self.keys, k), len(self.keys) - 1)
        return self.keys[pos] == k

    def sample(self, users: np.ndarray) -> np.ndarray:
        """One negative item (int64) per entry of ``users``."""
        users = users.astype(np.int64)
        neg = self.rng.integers(0, self.num_items, size=len(users), dtype=np.int64)
        bad = self._is_seen(users, neg)
        for _ in range(self.max_tries):
            if not bad.any():
                break
            idx = np.flatnonzero(bad)
            neg[idx] = self.rng.integers(0, self.num_items, size=len(idx), dtype=np.int64)
            bad[idx] = self._is_seen(users[idx], neg[idx])
        return neg


def bpr_epoch(module: BPRModule, train: Interactions, *, batch_size: int, seed: int,
              device: str | torch.device = "cpu") -> Callable[[torch.optim.Optimizer], float]:
    """One epoch = every train interaction once, in a seeded order, with one negative each."""
    sampler = NegativeSampler(train, seed=seed + 1)
    rng = np.random.default_rng(seed + 2)
    users_np = train.user.astype(np.int64)
    items_np = train.item.astype(np.int64)
    n = len(users_np)
    steps = max(1, math.ceil(n / batch_size))
    non_blocking = torch.device(device).type == "cuda"

    def run(optimiser: torch.optim.Optimizer) -> float:
        perm = rng.permutation(n)
        neg_all = sampler.sample(users_np[perm])
        total = 0.0
        for s in range(steps):
            sl = perm[s * batch_size : (s + 1) * batch_size]
            u = torch.from_numpy(users_np[sl]).to(device, non_blocking=non_blocking)
            p = torch.from_numpy(items_np[sl]).to(device, non_blocking=non_blocking)
            ng = torch.from_numpy(neg_all[s * batch_size : (s + 1) * batch_size]).to(
                device, non_blocking=non_blocking)
            optimiser.zero_grad(set_to_none=True)
            loss = module.bpr_loss(u, p, ng)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(sl)
        return total / n

    return run
