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


def _tiny_export(users: list[int], items: list[int]) -> Export:
    n_users, n_items = max(users) + 1, max(items) + 1
    inter = Interactions(np.array(users, np.int64), np.array(items, np.int64),
                         np.full(len(users), 4.0, np.float32), np.arange(len(users), dtype=np.int64),
                         n_users, n_items)
    idmap = IdMap(np.arange(1, n_users + 1), np.arange(1, n_items + 1))
    movies = pd.DataFrame({"movieId": idmap.movies, "title": [f"M{m}" for m in idmap.movies],
                           "year": 2000, "genres": [["Drama"]] * n_items})
    users_frame = pd.DataFrame({"userId": idmap.users, "gender": None, "age": None, "occupation": None})
    return Export(idmap, inter, movies, users_frame, Selection())


@pytest.mark.parametrize(("users", "items", "how"), [
    ([0], [0], "random"),  # one rating: train or test is empty
    ([0], [0], "temporal-last-n"),
    ([0, 1], [0, 1], "random"),  # one rating per user: no user has both
    ([0, 0, 1], [0, 1, 1], "temporal-cutoff"),  # train and test users disjoint
])
def test_a_split_with_nothing_to_evaluate_is_an_input_error_before_any_fit(
        users: list[int], items: list[int], how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 29 item 11: not all-NaN metrics and exit 0, but one line, exit 2, nothing fitted."""
    from engine.errors import InputError
    from engine.training import protocols

    def no_fit(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was fitted")

    monkeypatch.setattr(protocols, "select_on_validation", no_fit)
    monkeypatch.setattr(protocols, "fit_model", no_fit)
    exp = _tiny_export(users, items)
    if how == "temporal-cutoff":  # user 0's ratings before the cutoff, user 1's after
        exp.interactions.timestamp[:] = [0, 1, 10]
    split = make_split(exp.interactions, how, cutoff=5)  # type: ignore[arg-type]
    with pytest.raises(InputError) as err:
        evaluate_holdout(exp, "ease", None, split, protocol={}, ks=(10,))
    message = str(err.value)
    assert "nothing to evaluate" in message and "\n" not in message
    assert err.value.exit_code == 2


def test_engine_evaluate_on_one_rating_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from engine.cli import cli
    from engine.jobs import evaluate as job

    def export(*args: object, **kwargs: object) -> tuple[Export, str, None, None]:
        exp = _tiny_export([0], [0])
        exp.stats.update(edges=1, users=1, movies=1, seconds=0.1, edges_per_second=10.0)
        return exp, "ml-latest-small", None, None

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("nothing may be fitted or projected")

    monkeypatch.setattr(job, "export", export)
    monkeypatch.setattr(job, "evaluate_holdout", never)
    monkeypatch.setattr("engine.jobs.gds.open_graph_for", never)
    result = CliRunner(env={"NEO4J_URI": "bolt://127.0.0.1:1", "NEO4J_PASSWORD": "x"}).invoke(
        cli, ["evaluate", "--model", "ease", "--no-progress"])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "nothing to evaluate" in errors[0], result.output
