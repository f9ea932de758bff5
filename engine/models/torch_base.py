"""Shared plumbing of the torch models: training settings, and BPR embedding recommenders.

:class:`TorchRecommender` gives every iterative model the same :class:`TrainSettings`
(``epochs``, ``batch_size``, ``lr``, ``weight_decay``, ``lr_decay``, ``seed``,
``eval_every``, ``patience``, ``time_budget_s``, ``device``), accepted as keyword
arguments beside the model's own hyper-parameters; each class only states its defaults
(:attr:`TorchRecommender.train_defaults`).

:class:`TorchBPRRecommender` is the base of the BPR-trained embedding models (BPR-MF,
LightGCN-CSR, PyG LightGCN, the heterogeneous GNNs): a subclass builds an ``nn.Module``
with a ``bpr_loss(users, pos, neg)`` method and says how to read final ``(user [U,d],
item [I,d])`` embeddings from it; this class runs :func:`~engine.models.fit.fit_loop`
over :func:`~engine.models.losses.bpr_epoch`, early-stops on validation NDCG@10, caches
the final embeddings as float32 numpy arrays and scores with ``user_emb[users] @
item_emb.T`` ([n, I]).

Checkpoints hold the module's ``state_dict`` tensors (as numpy, ``module.*`` keys) and the
final embeddings, so a loaded model scores identically without rebuilding the graph; a
loaded model has ``module = None`` (refit to continue training).
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from engine.data.interactions import Interactions
from engine.evaluate.metrics import evaluate_ranking
from engine.models.base import Recommender
from engine.models.fit import TrainSettings, fit_loop
from engine.models.foldin import ridge_users
from engine.models.history import FitHistory
from engine.models.losses import bpr_epoch

if TYPE_CHECKING:
    from engine.models.base import GraphInput

__all__ = ["TorchBPRRecommender", "TorchRecommender", "embedding_ndcg"]

log = logging.getLogger(__name__)

#: α and λ of the BPR models' fold-in (:meth:`TorchBPRRecommender._fold_users`).
FOLD_ALPHA = 0.01


def embedding_ndcg(embed: Callable[[], tuple[torch.Tensor, torch.Tensor]], train: Interactions,
                   valid: Interactions | None) -> Callable[[], float] | None:
    """Early stopping's measure: valid NDCG@10 of ``u · i`` from ``embed()`` (None: no valid)."""
    if valid is None or len(valid) == 0:
        return None

    def evaluate() -> float:
        u, i = embed()
        ue, ie = u.detach().cpu().numpy(), i.detach().cpu().numpy()
        rep = evaluate_ranking(lambda us: ue[us] @ ie.T, train, valid, ks=(10,), with_auc=False)
        return rep.summary["ndcg@10"]

    return evaluate


class TorchRecommender(Recommender):
    """A recommender trained in epochs; ``**train`` are :class:`TrainSettings` fields."""

    train_defaults: ClassVar[TrainSettings] = TrainSettings()

    def __init__(self, **train: Any) -> None:
        super().__init__()
        self.settings = self.train_defaults.updated(**train)

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return (*super().param_names(), *TrainSettings.names())

    def get_params(self) -> dict[str, Any]:
        own = {name: getattr(self, name) for name in super().param_names()}
        return {**own, **self.settings.as_dict()}

    @property
    def device(self) -> str:
        return self.settings.device


class TorchBPRRecommender(TorchRecommender):
    """Base of BPR-trained embedding recommenders (see module docstring)."""

    reg: float

    def __init__(self, **train: Any) -> None:
        super().__init__(**train)
        self.module: nn.Module | None = None
        self.user_emb = np.zeros((0, 0), dtype=np.float32)
        self.item_emb = np.zeros((0, 0), dtype=np.float32)

    @abc.abstractmethod
    def _build(self, train: Interactions, graph: GraphInput | None) -> nn.Module:
        """A fresh module for ``train`` (sizes, graph); seeded by the caller."""

    @abc.abstractmethod
    def _final_embeddings(self, module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        """``(user [U,d], item [I,d])`` embeddings used for scoring."""

    def _fit(self, train: Interactions, valid: Interactions | None,
             graph: GraphInput | None) -> FitHistory:
        s = self.settings
        torch.manual_seed(s.seed)
        np.random.seed(s.seed)
        module = self._build(train, graph).to(s.device)
        evaluate = embedding_ndcg(lambda: self._final_embeddings(module), train, valid)

        run_epoch = bpr_epoch(module, train, batch_size=s.batch_size, seed=s.seed,  # type: ignore[arg-type]
                              device=s.device)
        history = fit_loop(module, run_epoch, s, evaluate=evaluate, metric="ndcg@10")
        self.module = module
        self._cache_embeddings()
        return history

    def _cache_embeddings(self) -> None:
        assert self.module is not None
        with torch.no_grad():
            u, i = self._final_embeddings(self.module)
        self.user_emb = u.detach().cpu().numpy().astype(np.float32)
        self.item_emb = i.detach().cpu().numpy().astype(np.float32)

    def _fold_users(self, history: Interactions) -> None:
        """A user vector per new user by implicit-ALS least squares on the frozen item vectors.

        ``θ = argmin Σ_{i rated} (1 − θ·v_i)² + α Σ_i (θ·v_i)² + λ|θ|²`` with α = λ =
        :data:`FOLD_ALPHA` (relative to the mean item Gram), so scores and vectors
        (the vector index) are the model's own dot products.
        """
        v = self.item_emb.astype(np.float64)
        gram = v.T @ v
        scale = float(np.trace(gram)) / max(v.shape[1], 1) or 1.0
        self.user_emb = ridge_users(history.to_csr(binary=True), v, reg=FOLD_ALPHA * scale,
                                    gram=FOLD_ALPHA * gram)

    def score(self, users: np.ndarray) -> np.ndarray:
        """``user_emb[users] @ item_emb.T`` -> float32 ``[n, I]``."""
        return self.user_emb[np.asarray(users, dtype=np.int64)] @ self.item_emb.T

    def embeddings(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Final (propagated) user and item embeddings."""
        return self.user_emb, self.item_emb

    def _state(self) -> dict[str, np.ndarray]:
        out = {"user_emb": self.user_emb, "item_emb": self.item_emb}
        if self.module is not None:
            for k, v in self.module.state_dict().items():
                out[f"module.{k}"] = v.detach().cpu().numpy()
        return out

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.user_emb = state["user_emb"].astype(np.float32)
        self.item_emb = state["item_emb"].astype(np.float32)
