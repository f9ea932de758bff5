"""I-AutoRec: item-based autoencoder for explicit rating prediction.

Sedhain et al., "AutoRec: Autoencoders Meet Collaborative Filtering", WWW 2015.

Each item ``i`` is a partially observed vector of ratings over users ``r_i ∈ R^U``
(0 where unobserved). The model reconstructs it through one hidden layer::

    h_i  = σ(V r_i + μ)                 V: [k, U], μ: [k]
    r̂_i  = W h_i + b                    W: [U, k], b: [U]
    J    = Σ_{(u,i) observed} (r_ui - r̂_ui)² + λ/2 (|W|² + |V|²)

Only observed entries enter the loss (masked MSE). Training: Adam on mini-batches of
items, objective scaled per observed rating; ``valid`` (held-out ratings) drives early
stopping on RMSE. Predictions are clipped to ``[rating_min, rating_max]``.

After fitting the model keeps the item codes ``H = σ(V R + μ)`` ([I, k]) and the decoder
rows ``W`` ([U, k]) and ``b`` ([U]), so ``r̂_ui = W_u · H_i + b_u``: ``score(users)``
returns predicted ratings ``[n, I]`` in user batches (never a dense ``[U, I]``), and
``embeddings()`` returns ``(W, H)``.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from engine.data import Interactions
from engine.models.base import Recommender, SideFeatures

__all__ = ["AutoRecNet", "ItemAutoRec"]

log = logging.getLogger(__name__)


class AutoRecNet(nn.Module):
    """``r̂ = W σ(V r + μ) + b`` on item columns: input ``[B, U]`` -> output ``[B, U]``."""

    def __init__(self, num_users: int, hidden: int) -> None:
        super().__init__()
        self.encoder = nn.Linear(num_users, hidden)
        self.decoder = nn.Linear(hidden, num_users)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """Reconstruct a batch of item rating vectors."""
        return self.decoder(torch.sigmoid(self.encoder(r)))

    def l2(self) -> torch.Tensor:
        """``|W|² + |V|²`` (biases unregularised)."""
        return self.encoder.weight.pow(2).sum() + self.decoder.weight.pow(2).sum()


class ItemAutoRec(Recommender):
    """I-AutoRec rating model (see module docstring); ``reg`` is λ, ``hidden`` is k."""

    name: ClassVar[str] = "i_autorec"

    def __init__(
        self,
        hidden: int = 500,
        reg: float = 1.0,
        lr: float = 1e-3,
        epochs: int = 300,
        batch_size: int = 256,
        rating_min: float = 1.0,
        rating_max: float = 5.0,
        seed: int = 0,
        patience: int = 20,
        device: str = "cpu",
    ) -> None:
        super().__init__()
        self.hidden, self.reg, self.lr, self.epochs = hidden, reg, lr, epochs
        self.batch_size, self.rating_min, self.rating_max = batch_size, rating_min, rating_max
        self.seed, self.patience, self.device = seed, patience, device
        self.user_weight = np.zeros((0, 0), dtype=np.float32)  # W [U, k]
        self.user_bias = np.zeros(0, dtype=np.float32)  # b [U]
        self.item_code = np.zeros((0, 0), dtype=np.float32)  # H [I, k]

    def _fit(
        self, train: Interactions, valid: Interactions | None, features: SideFeatures | None
    ) -> dict[str, Any]:
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        t0 = time.perf_counter()
        n_u, n_i = train.num_users, train.num_items
        r_np = train.to_csr(binary=False).T.toarray().astype(np.float32)  # [I, U]
        r = torch.from_numpy(r_np).to(self.device)
        mask = (r != 0).float()
        n_obs = float(mask.sum())
        net = AutoRecNet(n_u, self.hidden).to(self.device)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        history: dict[str, Any] = {"loss": [], "valid_rmse": [], "best_epoch": 0,
                                   "best_valid_rmse": None}
        best_state, bad = None, 0
        epoch = 0
        for epoch in range(1, self.epochs + 1):
            net.train(True)
            perm = torch.from_numpy(rng.permutation(n_i)).to(self.device)
            total = 0.0
            for s in range(0, n_i, self.batch_size):
                idx = perm[s : s + self.batch_size]
                out = net(r[idx])
                sse = ((out - r[idx]).pow(2) * mask[idx]).sum()
                frac = len(idx) / n_i
                loss = sse / (n_obs * frac) + 0.5 * self.reg * net.l2() / n_obs
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(sse.detach())
            history["loss"].append(total / n_obs)
            if valid is not None and len(valid) > 0:
                self._export(net, r)
                err = self.predict(valid.user, valid.item) - valid.rating
                rmse = float(np.sqrt(np.mean(err.astype(np.float64) ** 2)))
                history["valid_rmse"].append(rmse)
                if history["best_valid_rmse"] is None or rmse < history["best_valid_rmse"]:
                    history["best_valid_rmse"], history["best_epoch"] = rmse, epoch
                    best_state, bad = copy.deepcopy(net.state_dict()), 0
                else:
                    bad += 1
                    if bad >= self.patience:
                        break
        if best_state is not None:
            net.load_state_dict(best_state)
        else:
            history["best_epoch"] = epoch
        self._export(net, r)
        history["epochs_run"] = epoch
        history["fit_seconds"] = time.perf_counter() - t0
        return history

    def _export(self, net: AutoRecNet, r: torch.Tensor) -> None:
        net.train(False)
        with torch.no_grad():
            self.item_code = torch.sigmoid(net.encoder(r)).cpu().numpy().astype(np.float32)
            self.user_weight = net.decoder.weight.detach().cpu().numpy().astype(np.float32)
            self.user_bias = net.decoder.bias.detach().cpu().numpy().astype(np.float32)

    def score(self, users: np.ndarray) -> np.ndarray:
        """Predicted ratings ``W_u · H_i + b_u`` (clipped) -> float32 ``[n, I]``."""
        u = np.asarray(users, dtype=np.int64)
        out = self.user_weight[u] @ self.item_code.T + self.user_bias[u][:, None]
        return np.clip(out, self.rating_min, self.rating_max).astype(np.float32)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted rating of each ``(user, item)`` pair (float32)."""
        u = np.asarray(users, dtype=np.int64)
        i = np.asarray(items, dtype=np.int64)
        out = np.einsum("nk,nk->n", self.user_weight[u], self.item_code[i]) + self.user_bias[u]
        return np.clip(out, self.rating_min, self.rating_max).astype(np.float32)

    def embeddings(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(W [U,k], H [I,k])``: decoder rows and item codes."""
        return self.user_weight, self.item_code

    def _state(self) -> dict[str, np.ndarray]:
        return {"user_weight": self.user_weight, "user_bias": self.user_bias,
                "item_code": self.item_code}

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.user_weight = state["user_weight"].astype(np.float32)
        self.user_bias = state["user_bias"].astype(np.float32)
        self.item_code = state["item_code"].astype(np.float32)
