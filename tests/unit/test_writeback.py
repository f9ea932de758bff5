"""RunOutput: validation, fingerprint, and the run-directory format (no database)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.data import IdMap
from engine.recommend import parse_years, render
from engine.writeback import RunOutput, load_run_output, save_run_output
from engine.writeback.files import ARRAYS_NPZ, RUN_JSON, RunDirectoryError
from engine.writeback.output import scores_are_dot_products


def make(**over) -> RunOutput:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    idmap = IdMap(users=np.array([1, 5, 9], dtype=np.int64),
                  movies=np.array([10, 20, 30, 40, 50], dtype=np.int64))
    ue = rng.normal(size=(3, 4)).astype(np.float32)
    ie = rng.normal(size=(5, 4)).astype(np.float32)
    scores = ue @ ie.T
    items = np.argsort(-scores, axis=1)[:, :2]
    fields = dict(
        run_id="run-1", model="toy", params={"dim": 4, "reg": np.float32(0.5)},
        metrics={"ndcg@10": np.float64(0.25)}, dataset="toy", git_sha="abc123", idmap=idmap,
        user_emb=ue, item_emb=ie, rec_items=items,
        rec_scores=np.take_along_axis(scores, items, 1),
        rec_ratings=np.full((3, 2), 4.5, dtype=np.float32),
        similar_items=np.array([[1, 2], [0, 2], [0, 1], [0, 1], [0, 1]]),
        similar_scores=np.ones((5, 2), dtype=np.float32),
    )
    fields.update(over)
    return RunOutput(**fields)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = make()
    save_run_output(out, tmp_path / "run")
    back = load_run_output(tmp_path / "run")
    for name in ("run_id", "model", "dataset", "git_sha"):
        assert getattr(back, name) == getattr(out, name)
    assert back.params == {"dim": 4, "reg": 0.5}
    assert back.metrics == {"ndcg@10": 0.25}
    assert back.trained_at is not None  # stamped at save time, then stable
    np.testing.assert_array_equal(back.idmap.users, out.idmap.users)
    np.testing.assert_array_equal(back.idmap.movies, out.idmap.movies)
    for name, arr in out.arrays().items():
        np.testing.assert_array_equal(back.arrays()[name], arr)
        assert back.arrays()[name].dtype == arr.dtype
    assert back.fingerprint() == out.fingerprint()
    meta = json.loads((tmp_path / "run" / RUN_JSON).read_text())
    assert meta["format"] == 1 and meta["k"] == 2 and meta["dim"] == 4


def test_round_trip_without_optional_arrays(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = make(user_emb=None, item_emb=None, rec_ratings=None, similar_items=None,
               similar_scores=None, git_sha=None)
    save_run_output(out, tmp_path)
    back = load_run_output(tmp_path)
    assert back.user_emb is None and back.similar_items is None and back.rec_ratings is None
    assert back.git_sha is None and back.dim is None


def test_arrays_are_read_without_pickle(tmp_path) -> None:  # type: ignore[no-untyped-def]
    save_run_output(make(), tmp_path)
    with np.load(tmp_path / ARRAYS_NPZ, allow_pickle=False) as z:
        assert set(z.files) >= {"rec_items", "rec_scores", "user_emb", "item_emb"}


def test_missing_files_are_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RunDirectoryError, match="missing run.json, arrays.npz, idmap.npz"):
        load_run_output(tmp_path)


@pytest.mark.parametrize(("over", "message"), [
    ({"rec_items": np.zeros((2, 2), np.int64)}, r"rec_items has shape \[2, 2\], expected \[3, \*\]"),
    ({"rec_scores": np.zeros((3, 3), np.float32)}, r"rec_scores has shape \[3, 3\], expected \[3, 2\]"),
    ({"rec_ratings": np.zeros(3, np.float32)}, r"rec_ratings has shape \[3\], expected \[3, 2\]"),
    ({"rec_items": np.full((3, 2), 7)}, r"rec_items holds indices outside 0..4"),
    ({"rec_items": np.array([[0, 0], [1, 2], [3, 4]])}, r"rec_items row 0 lists the same movie twice"),
    ({"rec_items": np.zeros((3, 2), np.float32)}, r"rec_items must hold integers"),
    ({"item_emb": None}, r"user_emb and item_emb must both be given"),
    ({"item_emb": np.zeros((5, 3), np.float32)}, r"item_emb has shape \[5, 3\], expected \[5, 4\]"),
    ({"user_emb": np.full((3, 4), np.nan, np.float32)}, r"user_emb holds NaN"),
    ({"similar_scores": None}, r"similar_items and similar_scores must both be given"),
    ({"similar_items": np.zeros((4, 2), np.int64)}, r"similar_items has shape \[4, 2\], expected \[5, \*\]"),
    ({"run_id": " "}, r"run_id must be a non-empty string"),
    # issue 29 item 5: NaN or +inf scores never become a run (-inf is padding and allowed)
    ({"rec_scores": np.array([[1, np.nan], [1, 0], [1, 0]], np.float32)},
     r"rec_scores holds NaN or \+inf \(1 values, first in row 0\)"),
    ({"rec_scores": np.array([[1, 0], [1, 0], [np.inf, 0]], np.float32)}, r"first in row 2"),
    ({"similar_scores": np.full((5, 2), np.nan, np.float32)}, r"similar_scores holds NaN or \+inf"),
    ({"rec_items": np.zeros((3, 0), np.int64), "rec_scores": np.zeros((3, 0), np.float32),
      "rec_ratings": None}, r"at least one recommendation"),
])
def test_bad_shapes_are_clear_value_errors(over, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        make(**over)


def test_minus_inf_padding_is_allowed() -> None:
    out = make(rec_scores=np.array([[1, -np.inf], [1, 0], [1, 0]], np.float32))
    assert np.isneginf(out.rec_scores[0, 1])


def test_dtypes_are_coerced() -> None:
    out = make(rec_items=make().rec_items.astype(np.int32), rec_scores=make().rec_scores.astype(np.float64))
    assert out.rec_items.dtype == np.int64 and out.rec_scores.dtype == np.float32


def test_fingerprint_changes_with_any_array() -> None:
    a, b = make(), make()
    assert a.fingerprint() == b.fingerprint()
    b.rec_scores = b.rec_scores.copy()
    b.rec_scores[0, 0] += 1e-3
    assert a.fingerprint() != b.fingerprint()


def test_dot_product_scores_are_detected() -> None:
    assert scores_are_dot_products(make())
    assert not scores_are_dot_products(make(rec_scores=make().rec_scores + 1.0))
    assert not scores_are_dot_products(make(user_emb=None, item_emb=None))


def test_year_ranges() -> None:
    assert parse_years("1990:1999") == (1990, 1999)
    assert parse_years("1990:") == (1990, None)
    assert parse_years(":1999") == (None, 1999)
    assert parse_years("1995") == (1995, 1995)
    assert parse_years(None) == (None, None)
    with pytest.raises(Exception, match="expected YEAR"):
        parse_years("19x0")
    with pytest.raises(Exception, match="empty"):
        parse_years("2000:1990")


def test_render_formats() -> None:
    rows = [{"rank": 1, "title": "A, B", "genres": ["X", "Y"], "score": 0.123456}]
    assert render(rows, ["rank", "title", "genres"], "csv") == 'rank,title,genres\n1,"A, B",X|Y'
    assert json.loads(render(rows, ["rank"], "json")) == rows
    table = render(rows, ["rank", "title", "score"], "table").splitlines()
    assert table[0].split() == ["rank", "title", "score"] and "0.1235" in table[1]


def test_similar_items_matches_brute_force() -> None:
    from engine.models.base import Recommender

    emb = np.random.default_rng(1).normal(size=(50, 8)).astype(np.float32)

    class Fixed(Recommender):
        name = "fixed"

        def _fit(self, train, valid, graph):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        def score(self, users):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        def embeddings(self):  # type: ignore[no-untyped-def]
            return np.zeros((1, 8), np.float32), emb

    items, scores = Fixed().similar_items(4, batch_size=7)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    np.testing.assert_array_equal(items, np.argsort(-sim, axis=1)[:, :4])
    np.testing.assert_allclose(scores, np.sort(sim, axis=1)[:, ::-1][:, :4], rtol=1e-5)


def test_build_run_output_from_a_fitted_model() -> None:
    from engine.data import Interactions
    from engine.models.popularity import PopularityRecommender
    from engine.writeback import build_run_output

    idmap = IdMap(users=np.array([3, 4, 8]), movies=np.array([1, 2, 5, 7]))
    inter = Interactions(user=np.array([0, 0, 1, 2]), item=np.array([0, 1, 1, 1]),
                         rating=np.ones(4, np.float32), timestamp=np.zeros(4, np.int64),
                         num_users=3, num_items=4)
    model = PopularityRecommender()
    model.fit(inter)
    out = build_run_output(model, idmap, {"runId": "p1", "model": "popularity", "params": {},
                                          "dataset": "toy", "gitSha": "abc"}, {"x": 1.0}, k=2)
    assert out.rec_items.shape == (3, 2) and out.user_emb is None and out.similar_items is None
    assert out.rec_ratings is None and out.git_sha == "abc" and out.k == 2
    assert 0 not in out.rec_items[0] and 1 not in out.rec_items[0]  # seen excluded
