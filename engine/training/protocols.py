"""Training and evaluation protocols over an exported subgraph (pure: no Neo4j, no files).

``fit_production`` is what ``engine train`` runs: carve a validation split from ALL the
loaded ratings, use it for early stopping (iterative models) and for a small
hyper-parameter grid (closed-form models), then refit the chosen configuration on every
rating so the written-back model reflects users' newest ratings.

``evaluate_holdout`` is what ``engine evaluate`` (and the benchmarks) run: a held-out
test split, a validation split carved from train by the same rule for model selection,
the model refitted on train, and full-catalogue metrics on test beside a popularity
baseline, overall and per activity segment. Test data is used for nothing else.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from engine.data.interactions import Interactions
from engine.data.selection import Export
from engine.data.splits import (
    Split,
    per_user_random,
    temporal_global_cutoff,
    temporal_per_user_fraction,
    temporal_per_user_last_n,
)
from engine.errors import InputError
from engine.evaluate.metrics import evaluate_ranking, rating_metrics, summarise_by_segment
from engine.evaluate.segments import THRESHOLDS, Thresholds
from engine.models import PopularityRecommender, Recommender, make_model
from engine.models.ops import DEFAULT_CACHE
from engine.training.selection import Carve, GraphFor, Selected, fit_model, select_on_validation

log = logging.getLogger(__name__)

SplitName = Literal["random", "temporal-last-n", "temporal-fraction", "temporal-cutoff", "pairs"]


def make_split(inter: Interactions, how: SplitName, *, ratio: float = 0.25, seed: int = 0,
               last_n: int = 1, fraction: float = 0.2, cutoff: int | None = None,
               test_pairs: np.ndarray | None = None) -> Split:
    """Dispatch to :mod:`engine.data.splits` (``pairs``: explicit test (user, item) indices)."""
    if how == "random":
        return per_user_random(inter, test_ratio=ratio, seed=seed)
    if how == "temporal-last-n":
        return temporal_per_user_last_n(inter, n=last_n)
    if how == "temporal-fraction":
        return temporal_per_user_fraction(inter, fraction=fraction)
    if how == "temporal-cutoff":
        if cutoff is None:
            raise InputError("the temporal-cutoff split needs a cutoff date (--cutoff)")
        return temporal_global_cutoff(inter, cutoff)
    if how == "pairs":
        if test_pairs is None:
            raise InputError("the pairs split needs test pairs")
        key = inter.user.astype(np.int64) * inter.num_items + inter.item
        test_key = test_pairs[:, 0].astype(np.int64) * inter.num_items + test_pairs[:, 1]
        is_test = np.isin(key, test_key)
        return Split(train=inter.subset(~is_test), test=inter.subset(is_test))
    raise InputError(f"unknown split {how!r}")


def check_split(split: Split) -> None:
    """Raise :class:`InputError` unless some user has both training and test ratings.

    Metrics average over users with test ratings, ranked with their training ratings: with
    no such user every metric is NaN, so ``engine evaluate`` stops before fitting anything.
    """
    if not len(np.intersect1d(split.train.user, split.test.user)):
        raise InputError(
            f"the split leaves no user with both training and test ratings ({len(split.train)} "
            f"training, {len(split.test)} test); nothing to evaluate: load more ratings or "
            "choose another --split")


def validation_carve_for(how: SplitName) -> Carve:
    """The validation carve that follows the same rule as the test split ``how``."""
    if how in ("temporal-last-n", "temporal-fraction"):
        return how
    return "random"


@dataclass
class Production:
    """The model ``engine train`` writes back, and how it was chosen."""

    model: Recommender
    selected: Selected
    fit_seconds: float


def fit_production(export: Export, name: str, params: dict[str, Any] | None = None, *,
                   valid_ratio: float = 0.1, seed: int = 0, tune: bool = True,
                   carve: Carve = "random", last_n: int = 1,
                   graph_for: GraphFor | None = None) -> Production:
    """Select on a validation carve of all ratings, then refit on every rating.

    ``graph_for`` builds each fit's training graph (default: in-memory ``HeteroData``).
    """
    everything = export.interactions
    selected = select_on_validation(export, everything, name, params, valid_ratio=valid_ratio,
                                    seed=seed, tune=tune, carve=carve, last_n=last_n,
                                    graph_for=graph_for)
    DEFAULT_CACHE.clear()  # the carve's operators are not the refit's (GBs at 25M ratings)
    t0 = time.perf_counter()
    model = make_model(name, selected.refit_params())
    fit_model(model, export, everything, graph_for=graph_for)
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
                     segments: Thresholds = THRESHOLDS, carve: Carve = "random",
                     last_n: int = 1, graph_for: GraphFor | None = None) -> Evaluation:
    """Select on validation (carved from train), refit on train, measure on test.

    ``graph_for`` builds each fit's training graph (default: in-memory ``HeteroData``).
    A split with no user in both train and test: :class:`InputError` (:func:`check_split`).
    """
    check_split(split)
    selected = select_on_validation(export, split.train, name, params, valid_ratio=valid_ratio,
                                    seed=seed, tune=tune, k=min(ks), carve=carve, last_n=last_n,
                                    graph_for=graph_for)
    systems: dict[str, Recommender] = {}
    DEFAULT_CACHE.clear()
    t0 = time.perf_counter()
    model = make_model(name, selected.refit_params())
    fit_model(model, export, split.train, graph_for=graph_for)
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
        if sys_model.task == "rating":
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
