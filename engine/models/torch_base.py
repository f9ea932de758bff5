"""Shared plumbing for embedding models trained with BPR (BPR-MF, LightGCN, PyG LightGCN).

A subclass builds an ``nn.Module`` with a ``bpr_loss(users, pos, neg)`` method and says
how to read final ``(user [U,d], item [I,d])`` embeddings from it; this class runs
:func:`engine.training.train_bpr`, uses ``valid`` (if given) for early stopping on
NDCG@10, caches the final embeddings as float32 numpy arrays and scores with
``user_emb[users] @ item_emb.T`` ([n, I]).

Checkpoints hold the module's ``state_dict`` tensors (as numpy, ``module.*`` keys) and the
final embeddings, so a loaded model scores identically without rebuilding the graph; a
loaded model has ``module = None`` (refit to continue training).
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from engine.data import Interactions
from engine.metrics import evaluate_ranking
from engine.models.base import Recommender, SideFeatures
from engine.training import train_bpr

__all__ = ["TorchBPRRecommender"]

log = logging.getLogger(__name__)


class TorchBPRRecommender(Recommender):
    """Base of BPR-trained embedding recommenders (see module docstring).

    Subclasses must set ``epochs, batch_size, lr, seed, eval_every, patience,
    time_budget_s, device`` attributes in ``__init__`` (as constructor args).
    """

    epochs: int
    batch_size: int
    lr: float
    seed: int
    eval_every: int
    patience: int
    time_budget_s: float | None
    device: str

    def __init__(self) -> None:
        super().__init__()
        self.module: nn.Module | None = None
        self.user_emb = np.zeros((0, 0), dtype=np.float32)
        self.item_emb = np.zeros((0, 0), dtype=np.float32)

    @abc.abstractmethod
    def _build(self, train: Interactions) -> nn.Module:
        """A fresh module for ``train`` (sizes, graph); seeded by the caller."""

    @abc.abstractmethod
    def _final_embeddings(self, module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        """``(user [U,d], item [I,d])`` embeddings used for scoring."""

    def _fit(
        self, train: Interactions, valid: Interactions | None, features: SideFeatures | None
    ) -> dict[str, Any]:
        torch.manual_seed(self.seed)
        np.random.seed(self.seed)
        module = self._build(train).to(self.device)
        evaluate = None
        if valid is not None and len(valid) > 0:

            def evaluate() -> float:
                u, i = self._final_embeddings(module)
                ue, ie = u.detach().cpu().numpy(), i.detach().cpu().numpy()
                rep = evaluate_ranking(lambda us: ue[us] @ ie.T, train, valid, ks=(10,),
                                       with_auc=False)
                return rep.summary["ndcg@10"]

        history = train_bpr(
            module,  # type: ignore[arg-type]
            train,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            seed=self.seed,
            evaluate=evaluate,
            eval_every=self.eval_every,
            patience=self.patience,
            time_budget_s=self.time_budget_s,
            device=self.device,
        )
        self.module = module
        self._cache_embeddings()
        return history

    def _cache_embeddings(self) -> None:
        assert self.module is not None
        with torch.no_grad():
            u, i = self._final_embeddings(self.module)
        self.user_emb = u.detach().cpu().numpy().astype(np.float32)
        self.item_emb = i.detach().cpu().numpy().astype(np.float32)

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
