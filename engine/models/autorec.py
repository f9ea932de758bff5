"""I-AutoRec: item-based autoencoder for explicit rating prediction.

Sedhain et al., "AutoRec: Autoencoders Meet Collaborative Filtering", WWW 2015.

Each item ``i`` is a partially observed vector of ratings over users ``r_i ∈ R^U``
(0 where unobserved). The model reconstructs it through one hidden layer::

    h_i  = σ(V r_i + μ)                 V: [k, U], μ: [k]
    r̂_i  = W h_i + b                    W: [U, k], b: [U]
    J    = Σ_{(u,i) observed} (r_ui - r̂_ui)² + λ/2 (|W|² + |V|²)

Only observed entries enter the loss (masked MSE). Training: Adam on mini-batches of
items (:func:`engine.models.fit.fit_loop`), objective scaled per observed rating;
``valid`` (held-out ratings) drives early stopping on RMSE. Predictions are clipped to
``[rating_min, rating_max]``.

After fitting the model keeps the item codes ``H = σ(V R + μ)`` ([I, k]) and the decoder
rows ``W`` ([U, k]) and ``b`` ([U]), so ``r̂_ui = W_u · H_i + b_u``: ``score(users)``
returns predicted ratings ``[n, I]`` in user batches (never a dense ``[U, I]``), and
``embeddings()`` returns ``(W, H)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from engine.data.interactions import Interactions
from engine.evaluate.metrics import rating_metrics
from engine.models.base import Task
from engine.models.fit import TrainSettings, fit_loop
from engine.models.foldin import ridge_users
from engine.models.history import FitHistory
from engine.models.params import check_float, check_int
from engine.models.torch_base import TorchRecommender

if TYPE_CHECKING:

    from engine.models.base import GraphInput

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


class ItemAutoRec(TorchRecommender):
    """I-AutoRec rating model (see module docstring); ``reg`` is λ, ``hidden`` is k."""

    name: ClassVar[str] = "i_autorec"
    task: ClassVar[Task] = "rating"
    train_defaults: ClassVar[TrainSettings] = TrainSettings(
        epochs=300, batch_size=256, lr=1e-3, eval_every=1, patience=20)

    def __init__(self, hidden: int = 500, reg: float = 1.0, rating_min: float = 1.0,
                 rating_max: float = 5.0, **train: Any) -> None:
        super().__init__(**train)
        self.hidden = check_int("hidden", hidden, 1)
        self.reg = check_float("reg", reg, 0.0)
        self.rating_min = check_float("rating_min", rating_min)
        self.rating_max = check_float("rating_max", rating_max, self.rating_min, lo_open=True)
        self.user_weight = np.zeros((0, 0), dtype=np.float32)  # W [U, k]
        self.user_bias = np.zeros(0, dtype=np.float32)  # b [U]
        self.item_code = np.zeros((0, 0), dtype=np.float32)  # H [I, k]

    def _fit(self, train: Interactions, valid: Interactions | None,
             graph: GraphInput | None) -> FitHistory:
        s = self.settings
        torch.manual_seed(s.seed)
        rng = np.random.default_rng(s.seed)
        n_u, n_i = train.num_users, train.num_items
        r = self._item_matrix(train)
        mask = (r != 0).float()
        n_obs = float(mask.sum())
        net = AutoRecNet(n_u, self.hidden).to(s.device)

        def run_epoch(opt: torch.optim.Optimizer) -> float:
            perm = torch.from_numpy(rng.permutation(n_i)).to(s.device)
            total = 0.0
            for lo in range(0, n_i, s.batch_size):
                idx = perm[lo : lo + s.batch_size]
                out = net(r[idx])
                sse = ((out - r[idx]).pow(2) * mask[idx]).sum()
                frac = len(idx) / n_i
                loss = sse / (n_obs * frac) + 0.5 * self.reg * net.l2() / n_obs
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(sse.detach())
            return total / n_obs

        return self._train(net, run_epoch, r, valid)

    def _item_matrix(self, train: Interactions) -> torch.Tensor:
        """The dense item x user rating matrix ``[I, U]`` (0 = unobserved) on the device."""
        dense = train.to_csr(binary=False).T.toarray().astype(np.float32)
        return torch.from_numpy(dense).to(self.settings.device)

    def _train(self, net: nn.Module, run_epoch: Callable[[torch.optim.Optimizer], float],
               r: torch.Tensor, valid: Interactions | None,
               optimiser: torch.optim.Optimizer | None = None) -> FitHistory:
        """:func:`fit_loop` early-stopping on ``valid`` RMSE; the kept state is exported."""
        evaluate = None
        if valid is not None and len(valid) > 0:

            def evaluate() -> float:
                self._export(net, r)
                return rating_metrics(valid.rating, self.predict(valid.user, valid.item))["rmse"]

        history = fit_loop(net, run_epoch, self.settings, evaluate=evaluate, metric="rmse",
                           higher_is_better=False, optimiser=optimiser)
        self._export(net, r)
        return history

    def _export(self, net: nn.Module, r: torch.Tensor) -> None:
        """Item codes ``H``, decoder rows ``W`` and biases ``b`` of the trained ``net``."""
        assert isinstance(net, AutoRecNet)
        net.train(False)
        with torch.no_grad():
            self.item_code = torch.sigmoid(net.encoder(r)).cpu().numpy().astype(np.float32)
            self.user_weight = net.decoder.weight.detach().cpu().numpy().astype(np.float32)
            self.user_bias = net.decoder.bias.detach().cpu().numpy().astype(np.float32)

    def _fold_users(self, history: Interactions) -> None:
        """New users' decoder rows ``(W_u, b_u)``: ridge regression of their ratings on ``[H_i, 1]``."""
        k = self.item_code.shape[1]
        phi = np.hstack([self.item_code, np.ones((self.num_items, 1), np.float32)])
        theta = ridge_users(history.to_csr(binary=False), phi,
                            reg=np.r_[np.full(k, max(self.fold_reg, 1e-3)), 0.0])
        self.user_weight, self.user_bias = theta[:, :k].copy(), theta[:, k].copy()

    @property
    def fold_reg(self) -> float:
        """The fold-in ridge λ: training minimises SSE + 0.5·reg·|W|², so 0.5·reg."""
        return 0.5 * self.reg

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
