"""Generic BPR training loop with uniform negative sampling and early stopping.

Any ``torch.nn.Module`` exposing ``bpr_loss(users, pos, neg) -> scalar`` can be trained
here (BPR-MF, LightGCN-CSR, the PyG LightGCN adapter). One epoch visits every train
interaction once, in a seeded random order, each paired with one negative item drawn
uniformly from the items the user has *not* interacted with in train::

    L = mean_b softplus(-(s(u_b, p_b) - s(u_b, n_b))) + reg(u_b, p_b, n_b)

Early stopping: every ``eval_every`` epochs ``evaluate()`` (e.g. validation NDCG@10, higher
is better) is called; the best state dict is kept in memory and restored at the end; the
run stops after ``patience`` evaluations without improvement, after ``epochs`` epochs,
or when ``time_budget_s`` is spent. The chosen epoch is returned as ``best_epoch`` so the
caller can refit on train+valid for exactly that many epochs.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch

from engine.data import Interactions

__all__ = ["BPRModule", "NegativeSampler", "train_bpr"]

log = logging.getLogger(__name__)


class BPRModule(Protocol):
    """What :func:`train_bpr` needs from a model."""

    def bpr_loss(  # noqa: D102
        self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
    ) -> torch.Tensor: ...

    def parameters(self) -> Any: ...  # noqa: D102

    def state_dict(self) -> dict[str, Any]: ...  # noqa: D102

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...  # noqa: D102

    def train(self, mode: bool = True) -> Any: ...  # noqa: D102


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


def train_bpr(
    module: BPRModule,
    train: Interactions,
    *,
    epochs: int,
    batch_size: int = 8192,
    lr: float = 1e-3,
    seed: int = 0,
    evaluate: Callable[[], float] | None = None,
    eval_every: int = 5,
    patience: int = 4,
    time_budget_s: float | None = None,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Train ``module`` with Adam on the BPR objective; returns the history.

    Returns:
        ``{"loss": [per-epoch mean], "valid": [(epoch, value)], "best_epoch": int,
        "best_valid": float | None, "epochs_run": int, "fit_seconds": float,
        "seconds_per_epoch": float, "stopped": "epochs" | "patience" | "budget"}``.
        Without ``evaluate`` the final state is kept and ``best_epoch == epochs_run``.
    """
    torch.manual_seed(seed)
    sampler = NegativeSampler(train, seed=seed + 1)
    rng = np.random.default_rng(seed + 2)
    users_np = train.user.astype(np.int64)
    items_np = train.item.astype(np.int64)
    optimiser = torch.optim.Adam(module.parameters(), lr=lr)
    n = len(users_np)
    steps = max(1, math.ceil(n / batch_size))
    history: dict[str, Any] = {"loss": [], "valid": [], "best_epoch": 0, "best_valid": None}
    best_state: dict[str, Any] | None = None
    bad_evals = 0
    stopped = "epochs"
    t0 = time.perf_counter()
    train_seconds = 0.0
    epoch = 0
    for epoch in range(1, epochs + 1):
        te = time.perf_counter()
        module.train(True)
        perm = rng.permutation(n)
        neg_all = sampler.sample(users_np[perm])
        total = 0.0
        for s in range(steps):
            sl = perm[s * batch_size : (s + 1) * batch_size]
            u = torch.from_numpy(users_np[sl]).to(device)
            p = torch.from_numpy(items_np[sl]).to(device)
            ng = torch.from_numpy(neg_all[s * batch_size : (s + 1) * batch_size]).to(device)
            optimiser.zero_grad(set_to_none=True)
            loss = module.bpr_loss(u, p, ng)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(sl)
        train_seconds += time.perf_counter() - te
        history["loss"].append(total / n)
        over_budget = time_budget_s is not None and time.perf_counter() - t0 > time_budget_s
        if evaluate is not None and (epoch % eval_every == 0 or epoch == epochs or over_budget):
            module.train(False)
            with torch.no_grad():
                value = float(evaluate())
            history["valid"].append((epoch, value))
            log.info("epoch %d loss %.4f valid %.4f", epoch, total / n, value)
            if history["best_valid"] is None or value > history["best_valid"]:
                history["best_valid"], history["best_epoch"] = value, epoch
                best_state = copy.deepcopy(module.state_dict())
                bad_evals = 0
            else:
                bad_evals += 1
                if bad_evals >= patience:
                    stopped = "patience"
                    break
        if over_budget:
            stopped = "budget"
            break
    if evaluate is not None and best_state is not None:
        module.load_state_dict(best_state)
    else:
        history["best_epoch"] = epoch
    module.train(False)
    history["epochs_run"] = epoch
    history["stopped"] = stopped
    history["fit_seconds"] = time.perf_counter() - t0
    history["seconds_per_epoch"] = train_seconds / max(epoch, 1)
    return history
