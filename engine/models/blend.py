"""A validated blend of rating models: seeds averaged, members weighted by ridge on validation.

Linear stacking as in the Netflix Prize blends (Töscher, Jahrer & Bell, "The BigChaos
Solution to the Netflix Grand Prize", 2009): each member rating model is trained
``seeds`` times (default 5; seeds ``seed … seed+seeds-1``) and averaged, and the members are combined
by weights fitted on the validation ratings::

    r̂(u, i) = clip(w₀ + Σ_m w_m · mean_s r̂_{m,s}(u, i))
    w = argmin Σ_valid (r - w₀ - Σ_m w_m r̂_m)² + blend_reg · |w_{1..M}|²

``fit(train, valid)`` early-stops every member on ``valid`` and fits ``w`` on the members'
``valid`` predictions; the chosen epochs and the weights become the parameters ``epochs``
and ``weights`` (:meth:`learned_params`), so the refit on every rating
(``fit(all, None)``) replays them with no validation data. A fitted blend's parameters
hold what it learned, so fitting the same object again replays them too: create a new one
to learn again. Without validation and without ``weights`` the members are averaged with
equal weights. The history's ``best_valid`` is in-sample (the weights were fitted on those
ratings); ``info["valid_rmse_cv"]`` is the 5-fold out-of-fold RMSE of the blend there.
Predictions are clipped to the training ratings' range unless ``rating_min``/``rating_max``
are given.

The default members are the GC-MC-style graph model, I-AutoRec and the kernel
autoencoder: the combination that cross-validated best on a 10% validation carve of
ML-100K ``u1.base`` (README, rating prediction). ``embeddings()`` are those of the first
member that had them after fitting (the GNN's encoder states); after :meth:`fold_in` they
are that member's or ``None``, never another member's vectors.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from engine.data.interactions import Interactions
from engine.errors import ParameterError
from engine.evaluate.metrics import rating_metrics
from engine.models.base import Recommender, Task
from engine.models.history import FitHistory
from engine.models.params import check_float, check_int

if TYPE_CHECKING:
    from engine.models.base import GraphInput

__all__ = ["RatingBlend", "ridge_blend"]

DEFAULT_MEMBERS = "hetero_sage_rating,i_autorec,kernel_autorec"


def ridge_blend(preds: np.ndarray, target: np.ndarray, reg: float) -> np.ndarray:
    """``[w₀, w₁…w_M]`` minimising ``|target - w₀ - preds @ w|² + reg·|w|²`` (``preds [n, M]``)."""
    x = np.c_[np.ones(len(preds)), np.asarray(preds, dtype=np.float64)]
    gram = x.T @ x + reg * np.diag(np.r_[0.0, np.ones(preds.shape[1])])
    return np.linalg.solve(gram, x.T @ np.asarray(target, dtype=np.float64))


def _member_class(name: str) -> type[Recommender]:
    from engine.models import model_class  # the registry imports this module

    cls = model_class(name)
    if cls.task != "rating" or name == RatingBlend.name:
        raise ParameterError(f"rating_blend member {name!r} must be another rating model")
    return cls


class RatingBlend(Recommender):
    """Seed-averaged rating models blended by validated ridge weights (see module docstring)."""

    name: ClassVar[str] = "rating_blend"
    task: ClassVar[Task] = "rating"
    needs_graph = True

    def __init__(self, members: str = DEFAULT_MEMBERS, seeds: int = 5, blend_reg: float = 10.0,
                 member_params: Mapping[str, Mapping[str, Any]] | None = None,
                 epochs: list[list[int]] | None = None, weights: list[float] | None = None,
                 seed: int = 0, rating_min: float | None = None,
                 rating_max: float | None = None) -> None:
        super().__init__()
        self.members = str(members)
        self.seeds = check_int("seeds", seeds, 1)
        self.blend_reg = check_float("blend_reg", blend_reg, 0.0)
        self.seed = check_int("seed", seed, 0)
        self.rating_min = None if rating_min is None else check_float("rating_min", rating_min)
        self.rating_max = None if rating_max is None else check_float(
            "rating_max", rating_max, self.rating_min, lo_open=True)
        self._bounds = np.array([-np.inf, np.inf], dtype=np.float32)
        self._emb_member = -1
        names = self.member_names
        if not names:
            raise ParameterError("rating_blend needs at least one member in members=")
        self.member_params = {str(k): dict(v) for k, v in (member_params or {}).items()}
        unknown = sorted(set(self.member_params) - set(names))
        if unknown:
            raise ParameterError(f"member_params names {', '.join(unknown)}, not in members={self.members}")
        for name in names:
            _member_class(name).create(self.member_params.get(name))  # a bad member param fails now
        self.epochs = self._checked_epochs(epochs, len(names))
        self.weights = None if weights is None else [float(w) for w in weights]
        if self.weights is not None and (len(self.weights) != len(names) + 1
                                         or not np.isfinite(self.weights).all()):
            raise ParameterError(f"weights must be {len(names) + 1} finite numbers (intercept first)")
        self._models: list[list[Recommender]] = []

    @property
    def member_names(self) -> list[str]:
        return [n.strip() for n in self.members.split(",") if n.strip()]

    def _checked_epochs(self, epochs: list[list[int]] | None, n: int) -> list[list[int]] | None:
        if epochs is None:
            return None
        rows = [[check_int("epochs", e, 1) for e in row] for row in epochs]
        if len(rows) != n or any(len(row) != self.seeds for row in rows):
            raise ParameterError(f"epochs must be {n} lists of {self.seeds} epoch counts")
        return rows

    def _member(self, j: int, name: str, s: int) -> Recommender:
        """Member ``name`` (``j``-th) of seed offset ``s``, unfitted, with its learned epochs if any."""
        cls = _member_class(name)
        params = dict(self.member_params.get(name, {}))
        if "seed" in cls.param_names():
            params["seed"] = self.seed + s
        if self.epochs is not None:
            params["epochs"] = self.epochs[j][s]
        return cls.create(params)

    def learned_params(self) -> dict[str, Any]:
        """The members' epochs and the blend weights chosen on validation (replayed by the refit)."""
        return {"epochs": self.epochs, "weights": self.weights}

    # ----------------------------------------------------------------- training
    def _fit(self, train: Interactions, valid: Interactions | None,
             graph: GraphInput | None) -> FitHistory:
        t0 = time.perf_counter()
        has_valid = valid is not None and len(valid) > 0
        early_stop = self.epochs is None and has_valid
        self._models, chosen, info = [], [], {}
        valid_preds = []
        for j, name in enumerate(self.member_names):
            row, row_epochs = [], []
            for s in range(self.seeds):
                model = self._member(j, name, s)
                history = model.fit(train, valid if early_stop else None,
                                    graph if model.needs_graph else None)
                row.append(model)
                row_epochs.append(max(1, int(history.best_epoch)) if history.iterative else 1)
            self._models.append(row)
            chosen.append(row_epochs)
            if has_valid:
                assert valid is not None
                pred = np.mean([m.predict(valid.user, valid.item) for m in row], axis=0)
                info[f"valid_rmse_{name}"] = rating_metrics(valid.rating, pred)["rmse"]
                valid_preds.append(pred)
        self.epochs = chosen
        if self.weights is None:
            if has_valid:
                assert valid is not None
                self.weights = ridge_blend(np.array(valid_preds).T, valid.rating,
                                           self.blend_reg).tolist()
            else:
                n = len(self.member_names)
                self.weights = [0.0] + [1.0 / n] * n
        lo, hi = float(train.rating.min()), float(train.rating.max())
        self._bounds = np.array([lo if self.rating_min is None else self.rating_min,
                                 hi if self.rating_max is None else self.rating_max], np.float32)
        self._emb_member = self._first_with_embeddings()
        history = FitHistory(metric="rmse", higher_is_better=False, info=info,
                             fit_seconds=time.perf_counter() - t0)
        if has_valid:
            assert valid is not None
            history.best_valid = rating_metrics(valid.rating, self.predict(valid.user, valid.item))["rmse"]
            history.info["valid_rmse_cv"] = self._cv_rmse(np.array(valid_preds).T, valid.rating)
        return history

    def _cv_rmse(self, preds: np.ndarray, target: np.ndarray, folds: int = 5) -> float:
        """RMSE of the blend on ``target`` with weights fitted on the other folds (seeded)."""
        fold = np.random.default_rng(self.seed).integers(0, folds, len(target))
        out = np.empty(len(target))
        for k in range(folds):
            w = ridge_blend(preds[fold != k], target[fold != k], self.blend_reg)
            out[fold == k] = w[0] + preds[fold == k] @ w[1:]
        return rating_metrics(target, np.clip(out, *self._bounds))["rmse"]

    def _first_with_embeddings(self) -> int:
        return next((j for j, row in enumerate(self._models) if row[0].embeddings() is not None), -1)

    # ----------------------------------------------------------------- inference
    def _combine(self, per_member: list[np.ndarray]) -> np.ndarray:
        assert self.weights is not None
        out = np.full(per_member[0].shape, self.weights[0], dtype=np.float64)
        for w, pred in zip(self.weights[1:], per_member, strict=True):
            out += w * pred
        return np.clip(out, *self._bounds).astype(np.float32)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Blended rating of each ``(users[j], items[j])`` pair."""
        self._check_fitted()
        return self._combine([np.mean([m.predict(users, items) for m in row], axis=0)
                              for row in self._models])

    def score(self, users: np.ndarray) -> np.ndarray:
        """Blended predicted ratings of every item: float32 ``[n, num_items]``."""
        self._check_fitted()
        return self._combine([np.mean([m.score(users) for m in row], axis=0)
                              for row in self._models])

    def embeddings(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Seed ``seed`` of the member that had embeddings after fitting (``None`` if none had)."""
        return self._models[self._emb_member][0].embeddings() if self._emb_member >= 0 else None

    def _fold_users(self, history: Interactions) -> None:
        self._models = [[m.fold_in(history) for m in row] for row in self._models]

    # ----------------------------------------------------------------- persistence
    def _state(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {"bounds": self._bounds,
                                      "emb_member": np.array(self._emb_member)}
        for j, row in enumerate(self._models):
            for s, model in enumerate(row):
                out.update({f"m{j}s{s}.{k}": v for k, v in model._state().items()})
        return out

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:
        assert self.epochs is not None
        self._models = []
        for j, name in enumerate(self.member_names):
            row = []
            for s in range(self.seeds):
                model = self._member(j, name, s)
                model.num_users, model.num_items, model._seen = self.num_users, self.num_items, self._seen
                prefix = f"m{j}s{s}."
                model._load_state({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
                row.append(model)
            self._models.append(row)
        self._bounds = np.asarray(state["bounds"], dtype=np.float32)
        self._emb_member = int(state["emb_member"])
