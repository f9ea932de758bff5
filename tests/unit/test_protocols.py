"""The training protocols on a small synthetic export (no database): selection, refit, evaluation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.data import IdMap, Interactions
from engine.data.selection import Export, Selection
from engine.models import MODELS
from engine.training.protocols import evaluate_holdout, fit_production, make_split
from engine.training.selection import select_on_validation

FAST: dict[str, dict[str, Any]] = {
    "i_autorec": {"hidden": 8, "epochs": 3, "batch_size": 16},
    "biased_mf_rating": {"mf_dim": 4, "epochs": 3},
    "hetero_sage_rating": {"dim": 8, "proj_dim": 4, "epochs": 3},
    "kernel_autorec": {"hidden": 8, "layers": 1, "epochs": 3},
    "rating_blend": {"seeds": 2, "member_params": {
        "hetero_sage_rating": {"dim": 8, "proj_dim": 4, "epochs": 3},
        "i_autorec": {"hidden": 8, "epochs": 3, "batch_size": 16},
        "kernel_autorec": {"hidden": 8, "layers": 1, "epochs": 3}}},
}


def toy_export(seed: int = 0, n_users: int = 40, n_items: int = 30) -> Export:
    rng = np.random.default_rng(seed)
    u, i = np.meshgrid(np.arange(n_users), np.arange(n_items), indexing="ij")
    keep = rng.random(u.size) < 0.4
    u, i = u.ravel()[keep], i.ravel()[keep]
    rating = np.clip(np.rint(3 + rng.normal(size=len(u))), 1, 5).astype(np.float32)
    inter = Interactions(u.astype(np.int64), i.astype(np.int64), rating,
                         rng.integers(0, 10**6, len(u)).astype(np.int64), n_users, n_items)
    idmap = IdMap(np.arange(1, n_users + 1), np.arange(1, n_items + 1))
    movies = pd.DataFrame({"movieId": idmap.movies, "title": [f"M{m}" for m in idmap.movies],
                           "year": 1990 + idmap.movies % 20,
                           "genres": [["Drama"] if m % 2 else ["Comedy", "Drama"] for m in idmap.movies]})
    users = pd.DataFrame({"userId": idmap.users, "gender": None, "age": None, "occupation": None})
    return Export(idmap, inter, movies, users, Selection())


@pytest.mark.parametrize("name", [n for n, c in MODELS.items() if c.task == "rating"])
def test_every_rating_model_reports_rating_metrics(name: str) -> None:
    exp = toy_export()
    split = make_split(exp.interactions, "random", ratio=0.25, seed=0)
    result = evaluate_holdout(exp, name, FAST[name], split, protocol={}, ks=(10,))
    row = result.rows[name]
    for metric in ("rating_rmse", "rating_mae", "ndcg@10"):
        assert np.isfinite(row[metric]), metric
    assert "rating_rmse" not in result.rows["popularity"]
    assert np.isfinite(result.selected["valid"]["rating_rmse"])


def test_every_model_in_the_registry_is_rating_or_ranking_and_fast_list_is_complete() -> None:
    assert set(FAST) == {n for n, c in MODELS.items() if c.task == "rating"}


@pytest.mark.parametrize("carve", ["random", "temporal-fraction", "temporal-last-n"])
def test_selection_uses_the_carve_and_refit_sees_every_rating(carve: str) -> None:
    exp = toy_export(1)
    sel = select_on_validation(exp, exp.interactions, "ease", None, valid_ratio=0.2, seed=0,
                               tune=True, carve=carve, last_n=2)  # type: ignore[arg-type]
    assert len(sel.trials) == 4 and sel.params["reg"] in (100.0, 250.0, 500.0, 1000.0)
    best = max(t["ndcg@10"] for t in sel.trials)
    assert sel.valid["ndcg@10"] == best
    prod = fit_production(exp, "ease", None, valid_ratio=0.2, carve=carve)  # type: ignore[arg-type]
    assert prod.model._seen is not None and prod.model._seen.nnz == len(exp.interactions)
