"""Model selection on a validation split carved from train (pure: no Neo4j, no files).

Iterative models early-stop on the validation split (the epoch they keep is refitted
later); closed-form models are fitted once per point of a small grid (:data:`GRIDS`),
and the point with the best validation NDCG@10 (lowest RMSE for rating models) wins.
Test data is never seen here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from engine.data.interactions import Interactions
from engine.data.selection import Export
from engine.data.splits import Split, per_user_random, temporal_per_user_fraction, temporal_per_user_last_n
from engine.evaluate.metrics import evaluate_ranking, interaction_csr, rating_metrics
from engine.models import FitHistory, Recommender, make_model, model_class

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData

log = logging.getLogger(__name__)

#: Small validation grids for closed-form models (cheap enough to tune on every train).
GRIDS: dict[str, dict[str, list[Any]]] = {
    "ease": {"reg": [100.0, 250.0, 500.0, 1000.0]},
    "graph_filter": {"reg": [400.0, 800.0, 1600.0]},
    "temporal_filter": {"reg": [400.0, 800.0, 1600.0], "recency": [2.0, 3.0, 5.0, float("inf")],
                        "seq_reg": [1000.0], "seq_horizon": [1, 10],
                        "seq_weight": [0.0, 0.25, 0.5, 0.75, 1.0]},
}
GRIDS["scalable_filter"] = dict(GRIDS["temporal_filter"])
#: One GDS FastRP run (about a second on ml-latest-small) per point.
GRIDS["gds_fastrp"] = {"iteration_weights": ["0,1", "0,1,1", "1,1,1"],
                       "normalization_strength": [0.0, -0.5]}

Carve = Literal["random", "temporal-last-n", "temporal-fraction"]

#: Validation users the grid is measured on; larger graphs tune on a seeded sample of them.
MAX_TUNE_USERS = 2000


def sample_validation(split: Split, max_users: int = MAX_TUNE_USERS, seed: int = 0) -> tuple[Split, int]:
    """``split`` with its validation part cut to a seeded sample of ``max_users`` users.

    Training rows are untouched; returns the split and how many validation users it had.
    On a large graph the grid is measured on the sample (scored users x catalogue is the
    cost), and the run says so.
    """
    users = np.unique(split.test.user)
    if len(users) <= max_users:
        return split, len(users)
    keep = np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))
    log.info("tuning on a seeded sample of %d of %d validation users", max_users, len(users))
    return Split(train=split.train, test=split.test.subset(np.isin(split.test.user, keep))), len(users)


def carve_validation(train: Interactions, how: Carve, *, ratio: float, seed: int,
                     last_n: int = 1) -> Split:
    """The validation carve of ``train`` by the same rule as the test split.

    ``random``: per-user random ``ratio`` (seed ``seed + 1``); ``temporal-last-n``: each
    user's ``last_n`` latest ratings; ``temporal-fraction``: each user's latest ``ratio``.
    """
    if how == "random":
        return per_user_random(train, test_ratio=ratio, seed=seed + 1)
    if how == "temporal-last-n":
        return temporal_per_user_last_n(train, n=last_n)
    if how == "temporal-fraction":
        return temporal_per_user_fraction(train, fraction=ratio)
    raise ValueError(f"unknown validation carve {how!r}")


def training_graph(export: Export, train: Interactions) -> HeteroData:
    """The PyG ``HeteroData`` training graph of ``train`` (features fitted on train only)."""
    from engine.data.features import node_features
    from engine.data.hetero import to_hetero_data

    return to_hetero_data(export.idmap, train, export.movies,
                          node_features(train, export.movies, export.users))


#: Builds the training graph of a train split: ``HeteroData`` by default, or a remote
#: ``(FeatureStore, GraphStore)`` pair (``engine train --store neo4j``).
GraphFor = Callable[[Interactions], Any]


def fit_model(model: Recommender, export: Export, train: Interactions,
              valid: Interactions | None = None, graph_for: GraphFor | None = None) -> FitHistory:
    """``model.fit`` with the training graph when the model reads one."""
    graph = None
    if model.needs_graph:
        graph = graph_for(train) if graph_for is not None else training_graph(export, train)
    return model.fit(train, valid, graph)


def validation_score(model: Recommender, train: Interactions, valid: Interactions,
                     k: int = 10) -> dict[str, float]:
    """Ranking metrics on ``valid`` (and rating metrics for rating models)."""
    report = evaluate_ranking(model.score, train, valid, ks=(k,), with_auc=False)
    summary = dict(report.summary)
    if model.task == "rating" and len(valid):
        pred = model.predict(valid.user, valid.item)
        summary.update({f"rating_{m}": v for m, v in rating_metrics(valid.rating, pred).items()})
    return summary


@dataclass
class Selected:
    """A model configuration chosen on validation."""

    name: str
    params: dict[str, Any]
    history: FitHistory
    valid: dict[str, float]
    trials: list[dict[str, Any]] = field(default_factory=list)
    sample: dict[str, int] = field(default_factory=dict)  # validation users, and those tuned on
    split: Split | None = field(default=None, repr=False)  # the (sampled) validation split used

    learned: dict[str, Any] = field(default_factory=dict)  # the model's learned_params()

    def refit_params(self) -> dict[str, Any]:
        """Params for the refit on train+valid: the epoch count early stopping chose.

        What the model learned on validation (:meth:`Recommender.learned_params`, already in
        ``params``) is never overwritten.
        """
        params = dict(self.params)
        if self.history.iterative and self.history.best_epoch and "epochs" not in self.learned:
            params["epochs"] = int(self.history.best_epoch)
        return params

    @property
    def metric(self) -> str:
        return "rating_rmse" if model_class(self.name).task == "rating" else _ndcg(self.valid)


def _ndcg(summary: dict[str, float]) -> str:
    return next((k for k in summary if k.startswith("ndcg@")), "ndcg@10")


def _better(task: str, value: float, best: float) -> bool:
    """Whether ``value`` beats ``best`` (a NaN or infinite value never does; it loses to any)."""
    if not np.isfinite(value):
        return False
    if not np.isfinite(best):
        return True
    return value < best if task == "rating" else value > best


def select_on_validation(export: Export, train: Interactions, name: str,
                         params: dict[str, Any] | None, *, valid_ratio: float, seed: int,
                         tune: bool, k: int = 10, carve: Carve = "random",
                         last_n: int = 1, graph_for: GraphFor | None = None) -> Selected:
    """Fit on a validation carve of ``train``; grid-search closed-form models if ``tune``."""
    split = carve_validation(train, carve, ratio=valid_ratio, seed=seed, last_n=last_n)
    split, n_valid = sample_validation(split, seed=seed)
    sample = {"validUsers": n_valid, "tunedOnUsers": int(len(np.unique(split.test.user)))}
    task = model_class(name).task
    base = dict(params or {})
    grid = GRIDS.get(name, {}) if tune else {}
    keys = [k_ for k_ in grid if k_ not in base]
    combos = [dict(zip(keys, vals, strict=True)) for vals in product(*(grid[k_] for k_ in keys))] or [{}]
    key = "rating_rmse" if task == "rating" else f"ndcg@{k}"
    cls = model_class(name)
    if tune and grid and hasattr(cls, "tune"):  # a model that fits its grid faster itself
        chosen = _select_tuned(cls, base, grid, split, key, k)
        chosen.sample, chosen.split = sample, split
        return chosen
    trials: list[dict[str, Any]] = []
    best: Selected | None = None
    best_value = np.inf if task == "rating" else -np.inf
    graph = None
    for combo in combos:
        trial_params = {**base, **combo}
        model = make_model(name, trial_params)
        if model.needs_graph and graph is None:
            graph = (graph_for(split.train) if graph_for is not None
                     else training_graph(export, split.train))
        history = model.fit(split.train, split.test, graph)
        summary = validation_score(model, split.train, split.test, k)
        value = summary.get(key, float("nan"))
        trials.append({"params": trial_params, key: value})
        log.info("validation %s %s: %s=%.4f", name, trial_params, key, value)
        if best is None or _better(task, value, best_value):
            learned = model.learned_params()
            best = Selected(name, {**trial_params, **learned}, history, summary, learned=learned)
            best_value = value if np.isfinite(value) else best_value
    assert best is not None
    best.trials = trials
    best.sample, best.split = sample, split
    return best


def _select_tuned(cls: type[Recommender], base: dict[str, Any], grid: dict[str, list[Any]],
                  split: Split, key: str, k: int) -> Selected:
    """Selection through the model's own ``tune`` (every grid point measured on ``split.test``)."""
    seen, relevant = interaction_csr(split.train), interaction_csr(split.test)  # once for the grid

    def measure(score_fn: Any) -> dict[str, float]:
        return dict(evaluate_ranking(score_fn, split.train, split.test, ks=(k,), with_auc=False,
                                     seen=seen, relevant=relevant).summary)

    results = cls.tune(base, grid, split.train, split.test, measure)  # type: ignore[attr-defined]
    trials = [{"params": r["params"], key: r["summary"].get(key, float("nan"))} for r in results]
    best = results[0]
    for r in results[1:]:
        if _better(cls.task, r["summary"].get(key, float("nan")), best["summary"].get(key, float("nan"))):
            best = r
    for t in trials:
        log.info("validation %s %s: %s=%.4f", cls.name, t["params"], key, t[key])
    return Selected(cls.name, dict(best["params"]), FitHistory(), dict(best["summary"]), trials)
