"""Kernel AutoRec: an item autoencoder whose weights are masked by a learned local kernel.

The local-kernel stage of GLocal-K (Han, Lim, Long, Burgstaller & Poon, "GLocal-K: Global
and Local Kernels for Recommender Systems", CIKM 2021). Every layer's weight matrix
``W [n_in, n_out]`` is multiplied elementwise by a finite-support kernel of learned
points ``a_j ∈ R^d`` (inputs) and ``c_k ∈ R^d`` (outputs)::

    K_jk   = max(0, 1 - |a_j - c_k|²)          W_eff = W ⊙ K
    h      = σ(W_eff₁ᵀ r_i + b₁) … σ(…)        r̂_i = W_effₒᵀ h + bₒ        (r_i ∈ R^U)
    J      = ½ Σ_(u,i) observed (r_ui - r̂_ui)² + Σ_layers (½λ |W|² + ½λ_s |K|²)

so each hidden unit reads only the users (and each output the hidden units) near it:
a learned sparse connectivity. Training is full-batch L-BFGS (``lbfgs_iters`` iterations
per epoch, as in the paper), the epoch chosen on ``valid`` by RMSE with the best state
restored. GLocal-K's second stage (a global convolution kernel before fine-tuning) is
left out: on a validation carve of ML-100K ``u1.base`` fine-tuning raised RMSE from the
first epoch (0.893 -> 0.902 at its best), and the paper chose its epochs on the test set.

After fitting, prediction has I-AutoRec's form ``r̂_ui = W_u · H_i + b_u`` (``H`` the last
hidden codes ``[I, k]``, ``W`` the output layer's kernel-masked rows ``[U, k]``), so
scoring, fold-in, embeddings and checkpoints are :class:`~engine.models.autorec.ItemAutoRec`'s.
Memory is the dense ``[I, U]`` rating matrix plus ``U × hidden`` kernels: this is a model
for catalogues of ML-100K/ml-latest-small size (``max_cells`` guards it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from engine.data.interactions import Interactions
from engine.errors import ParameterError
from engine.models.autorec import ItemAutoRec
from engine.models.fit import TrainSettings
from engine.models.history import FitHistory
from engine.models.params import check_float, check_int

if TYPE_CHECKING:
    from engine.models.base import GraphInput

__all__ = ["KernelAutoRec", "LocalKernelLayer"]


class LocalKernelLayer(nn.Module):
    """``act(x @ (W ⊙ K) + b)`` with ``K = max(0, 1 - |a_j - c_k|²)``: ``[B, n_in] -> [B, n_out]``."""

    def __init__(self, n_in: int, n_out: int, kernel_dim: int, activation: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_in, n_out)))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.a = nn.Parameter(nn.init.trunc_normal_(torch.empty(n_in, kernel_dim), std=1e-3))
        self.c = nn.Parameter(nn.init.trunc_normal_(torch.empty(n_out, kernel_dim), std=1e-3))
        self.activation = activation

    def kernel(self) -> torch.Tensor:
        """``K [n_in, n_out]``: 1 at distance 0, 0 beyond distance 1."""
        sq = (self.a.pow(2).sum(1, keepdim=True) + self.c.pow(2).sum(1)
              - 2.0 * self.a @ self.c.T)
        return torch.clamp(1.0 - sq, min=0.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(output, |W|², |K|²)``."""
        k = self.kernel()
        y = x @ (self.weight * k) + self.bias
        return (torch.sigmoid(y) if self.activation else y), self.weight.pow(2).sum(), k.pow(2).sum()


class KernelNet(nn.Module):
    """``layers`` sigmoid kernel layers of ``hidden`` units, then a linear kernel layer back to ``U``."""

    def __init__(self, num_users: int, hidden: int, layers: int, kernel_dim: int) -> None:
        super().__init__()
        sizes = [num_users] + [hidden] * layers
        self.hidden = nn.ModuleList(LocalKernelLayer(a, b, kernel_dim, True)
                                    for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.out = LocalKernelLayer(hidden, num_users, kernel_dim, False)

    def codes(self, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Last hidden codes ``[B, hidden]`` and the summed ``|W|²``, ``|K|²`` of those layers."""
        w2 = k2 = r.new_zeros(())
        for layer in self.hidden:
            r, w, k = layer(r)
            w2, k2 = w2 + w, k2 + k
        return r, w2, k2

    def forward(self, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h, w2, k2 = self.codes(r)
        y, w, k = self.out(h)
        return y, w2 + w, k2 + k


class KernelAutoRec(ItemAutoRec):
    """GLocal-K's local-kernel autoencoder (see module docstring); ``reg`` is λ, ``kernel_reg`` λ_s.

    Defaults are the paper's ML-100K settings (500 hidden units, two hidden layers,
    5-d kernel points, λ = 20, λ_s = 0.006, 5 L-BFGS iterations per epoch); the epoch
    count is chosen on validation (on a 10% carve of ML-100K ``u1.base``: 20-25 by seed).
    Of the training settings, ``epochs``, ``lr`` (L-BFGS step), ``seed``, ``eval_every``,
    ``patience``, ``time_budget_s`` and ``device`` apply; training is full-batch, so
    ``batch_size`` is unused, and a non-zero ``weight_decay`` is refused (``reg`` is the
    L2 term). The loss curve holds each epoch's objective before its L-BFGS step.
    """

    name: ClassVar[str] = "kernel_autorec"
    train_defaults: ClassVar[TrainSettings] = TrainSettings(
        epochs=60, batch_size=1, lr=1.0, eval_every=1, patience=6)

    def __init__(self, hidden: int = 500, layers: int = 2, kernel_dim: int = 5, reg: float = 20.0,
                 kernel_reg: float = 0.006, lbfgs_iters: int = 5, max_cells: int = 50_000_000,
                 rating_min: float = 1.0, rating_max: float = 5.0, **train: Any) -> None:
        super().__init__(hidden=hidden, reg=reg, rating_min=rating_min, rating_max=rating_max,
                         **train)
        self.layers = check_int("layers", layers, 1)
        self.kernel_dim = check_int("kernel_dim", kernel_dim, 1)
        self.kernel_reg = check_float("kernel_reg", kernel_reg, 0.0)
        self.lbfgs_iters = check_int("lbfgs_iters", lbfgs_iters, 1)
        self.max_cells = check_int("max_cells", max_cells, 1)
        if self.settings.weight_decay:
            raise ParameterError("kernel_autorec takes no weight_decay: its L2 term is reg")

    def _fit(self, train: Interactions, valid: Interactions | None,
             graph: GraphInput | None) -> FitHistory:
        s = self.settings
        n_u, n_i = train.num_users, train.num_items
        if n_u * n_i > self.max_cells:
            raise ParameterError(
                f"kernel_autorec holds the dense {n_i:,} x {n_u:,} rating matrix, over max_cells="
                f"{self.max_cells:,}; use i_autorec or hetero_sage_rating on a graph this size")
        torch.manual_seed(s.seed)
        r = self._item_matrix(train)
        mask = r != 0
        net = KernelNet(n_u, self.hidden, self.layers, self.kernel_dim).to(s.device)
        lbfgs = torch.optim.LBFGS(net.parameters(), lr=s.lr, max_iter=self.lbfgs_iters,
                                  history_size=10, line_search_fn="strong_wolfe")

        def objective() -> torch.Tensor:
            out, w2, k2 = net(r)
            sse = torch.where(mask, out - r, 0.0).pow(2).sum()
            return 0.5 * sse + 0.5 * self.reg * w2 + 0.5 * self.kernel_reg * k2

        def run_epoch(opt: torch.optim.Optimizer) -> float:
            def closure() -> torch.Tensor:
                opt.zero_grad(set_to_none=True)
                loss = objective()
                loss.backward()
                return loss

            loss = opt.step(closure)  # type: ignore[arg-type]
            return float(torch.as_tensor(loss).detach()) / max(int(mask.sum()), 1)

        return self._train(net, run_epoch, r, valid, optimiser=lbfgs)

    def _export(self, net: nn.Module, r: torch.Tensor) -> None:
        """Last hidden codes ``H`` and the output layer's kernel-masked rows ``W`` and biases."""
        assert isinstance(net, KernelNet)
        net.train(False)
        with torch.no_grad():
            codes, _, _ = net.codes(r)
            self.item_code = codes.cpu().numpy().astype(np.float32)
            w_eff = (net.out.weight * net.out.kernel()).T  # [U, hidden]
            self.user_weight = w_eff.cpu().numpy().astype(np.float32)
            self.user_bias = net.out.bias.detach().cpu().numpy().astype(np.float32)

    @property
    def fold_reg(self) -> float:
        """The fold-in ridge λ (the objective is ½·SSE + ½·λ|W|²).

        An approximation: fold-in fits a new user's output row of ``W ⊙ K`` freely, while
        training penalised ``W`` and zeroed it where the kernel ``K`` is 0.
        """
        return self.reg
