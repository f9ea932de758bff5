"""Training and evaluation protocols over an exported subgraph (pure: no Neo4j, no files).

``fit_production`` is what ``engine train`` runs: carve a validation split from ALL the
loaded ratings, use it for early stopping (iterative models) and for a small
hyper-parameter grid (closed-form models), then refit the chosen configuration on every
rating so the written-back model reflects users' newest ratings.

``evaluate_holdout`` is what ``engine evaluate`` (and the benchmarks) run: a held-out
test split, a validation split carved from train for model selection, the model refitted
on train, and full-catalogue metrics on test beside a popularity baseline, overall and
per activity segment. Test data is used for nothing else.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Literal

import numpy as np

from engine.data import Interactions
from engine.export import Export
from engine.features import node_features
from engine.hetero import genre_edges
from engine.metrics import evaluate_ranking, rating_metrics, summarise_by_segment
from engine.models import MODELS, PopularityRecommender, Recommender
from engine.splits import Split, per_user_random, temporal_global_cutoff, temporal_per_user_last_n

log = logging.getLogger(__name__)

SplitName = Literal["random", "temporal-last-n", "temporal-cutoff", "pairs"]

#: Small validation grids for closed-form models (cheap enough to tune on every train).
GRIDS: dict[str, dict[str, list[Any]]] = {
    "ease": {"reg": [100.0, 250.0, 500.0, 1000.0]},
    "graph_filter": {"reg": [400.0, 800.0, 1600.0]},
}


def make_model(name: str, params: dict[str, Any] | None = None) -> Recommender:
    """An unfitted model from the registry, with a clear error for a wrong name/param."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}")
    try:
        return MODELS[name](**(params or {}))
    except TypeError as exc:
        raise ValueError(f"bad parameters for {name}: {exc}") from exc


def side_features(export: Export, train: Interactions) -> dict[str, np.ndarray]:
    """Features for models that use them, fitted on ``train`` only."""
    nf = node_features(train, export.movies, export.users)
    return {
        "user_x": nf.user,
        "movie_x": nf.movie,
        "movie_genre_edges": genre_edges(export.movies, nf.genres),
    }


def make_split(inter: Interactions, how: SplitName, *, ratio: float = 0.25, seed: int = 0,
               last_n: int = 1, cutoff: int | None = None,
               test_pairs: np.ndarray | None = None) -> Split:
    """Dispatch to :mod:`engine.splits` (``pairs``: explicit test (user, item) indices)."""
    if how == "random":
        return per_user_random(inter, test_ratio=ratio, seed=seed)
    if how == "temporal-last-n":
        return temporal_per_user_last_n(inter, n=last_n)
    if how == "temporal-cutoff":
        if cutoff is None:
            raise ValueError("temporal-cutoff needs a cutoff timestamp")
        return temporal_global_cutoff(inter, cutoff)
    if how == "pairs":
        if test_pairs is None:
            raise ValueError("the pairs split needs test pairs")
        key = inter.user.astype(np.int64) * inter.num_items + inter.item
        test_key = test_pairs[:, 0].astype(np.int64) * inter.num_items + test_pairs[:, 1]
        is_test = np.isin(key, test_key)
        return Split(train=inter.subset(~is_test), test=inter.subset(is_test))
    raise ValueError(f"unknown split {how!r}")


@dataclass
class Selected:
    """A model configuration chosen on validation."""

    name: str
    params: dict[str, Any]
    history: dict[str, Any]
    valid: dict[str, float]
    trials: list[dict[str, Any]] = field(default_factory=list)

    def refit_params(self) -> dict[str, Any]:
        """Params for the refit on train+valid: the epoch count early stopping chose."""
        params = dict(self.params)
        best = self.history.get("best_epoch")
        if "epochs" in MODELS[self.name]().get_params() and best:
            params["epochs"] = int(best)
        return params


def select_on_validation(export: Export, train: Interactions, name: str,
                         params: dict[str, Any] | None, *, valid_ratio: float, seed: int,
                         tune: bool, k: int = 10) -> Selected:
    """Fit on a validation carve of ``train``; grid-search closed-form models if ``tune``."""
    carve = per_user_random(train, test_ratio=valid_ratio, seed=seed + 1)
    feats = side_features(export, carve.train)
    base = dict(params or {})
    grid = GRIDS.get(name, {}) if tune else {}
    keys = [k_ for k_ in grid if k_ not in base]
    combos = [dict(zip(keys, vals, strict=True)) for vals in product(*(grid[k_] for k_ in keys))] or [{}]
    trials: list[dict[str, Any]] = []
    best: Selected | None = None
    metric = f"ndcg@{k}"
    for combo in combos:
        trial_params = {**base, **combo}
        model = make_model(name, trial_params)
        history = model.fit(carve.train, carve.test, feats)
        report = evaluate_ranking(model.score, carve.train, carve.test, ks=(k,), with_auc=False)
        trials.append({"params": trial_params, metric: report.summary[metric]})
        log.info("validation %s %s: %s=%.4f", name, trial_params, metric, report.summary[metric])
        if best is None or report.summary[metric] > best.valid[metric]:
            best = Selected(name, trial_params, history, dict(report.summary))
    assert best is not None
    best.trials = trials
    return best


@dataclass
class Production:
    """The model ``engine train`` writes back, and how it was chosen."""

    model: Recommender
    selected: Selected
    fit_seconds: float


def fit_production(export: Export, name: str, params: dict[str, Any] | None = None, *,
                   valid_ratio: float = 0.1, seed: int = 0, tune: bool = True) -> Production:
    """Select on a validation carve of all ratings, then refit on every rating."""
    everything = export.interactions
    selected = select_on_validation(export, everything, name, params, valid_ratio=valid_ratio,
                                    seed=seed, tune=tune)
    t0 = time.perf_counter()
    model = make_model(name, selected.refit_params())
    model.fit(everything, None, side_features(export, everything))
    return Production(model, selected, time.perf_counter() - t0)


@dataclass
class Evaluation:
    """``engine evaluate``'s result: rows per system, segments, protocol."""

    protocol: dict[str, Any]
    rows: dict[str, dict[str, float]]
    segments: dict[str, dict[str, dict[str, float]]]
    selected: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "rows": self.rows, "segments": self.segments,
                "selected": self.selected}


def evaluate_holdout(export: Export, name: str, params: dict[str, Any] | None, split: Split, *,
                     protocol: dict[str, Any], ks: tuple[int, ...] = (10, 20),
                     valid_ratio: float = 0.25, seed: int = 0, tune: bool = True,
                     segments: tuple[int, int] = (20, 200)) -> Evaluation:
    """Select on validation (carved from train), refit on train, measure on test."""
    selected = select_on_validation(export, split.train, name, params, valid_ratio=valid_ratio,
                                    seed=seed, tune=tune, k=min(ks))
    systems: dict[str, Recommender] = {}
    t0 = time.perf_counter()
    model = make_model(name, selected.refit_params())
    model.fit(split.train, None, side_features(export, split.train))
    fit_s = time.perf_counter() - t0
    systems[name] = model
    if name != PopularityRecommender.name:
        popularity = PopularityRecommender()
        popularity.fit(split.train)
        systems[popularity.name] = popularity
    rows: dict[str, dict[str, float]] = {}
    segs: dict[str, dict[str, dict[str, float]]] = {}
    for sys_name, sys_model in systems.items():
        report = evaluate_ranking(sys_model.score, split.train, split.test, ks=ks)
        row = dict(report.summary)
        if getattr(sys_model, "task", "ranking") == "rating":
            pred = sys_model.predict(split.test.user, split.test.item)
            row.update({f"rating_{k}": v for k, v in rating_metrics(split.test.rating, pred).items()})
        if sys_name == name:
            row["fit_seconds"] = fit_s
        rows[sys_name] = row
        segs[sys_name] = summarise_by_segment(report, split.train, segments)
    return Evaluation(protocol, rows, segs, {
        "model": name, "params": selected.refit_params(), "valid": selected.valid,
        "trials": selected.trials,
    })
