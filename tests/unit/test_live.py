"""Live updates without a database: new ratings are checked before anything is written, and a
refreshed user's list is the model's fold-in top-K (engine rate / engine refresh)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.data import IdMap, Interactions
from engine.data.new_ratings import (
    HALF_STARS,
    WHOLE_STARS,
    NewRating,
    check_ratings,
    read_ratings_csv,
    scale_for,
)
from engine.errors import InputError
from engine.graphdb.live import History
from engine.jobs.live import fold_lists, history_interactions
from engine.models import EASE, TemporalGraphFilter

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "live" / "new_ratings.csv"


def test_the_fixture_file_parses() -> None:
    rows = read_ratings_csv(FIXTURE)
    assert [(r.user_id, r.movie_id, r.rating, r.timestamp) for r in rows][:2] == [
        (1, 1, 4.5, 1700000000), (900001, 1, 5.0, 1700000000)]
    assert rows[0].where.endswith("new_ratings.csv line 2")


def test_timestamp_defaults_to_now(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text("userId,movieId,rating\n1,2,3.5\n\n")
    (row,) = read_ratings_csv(f, now=123)
    assert row == NewRating(1, 2, 3.5, 123, f"{f} line 2")


@pytest.mark.parametrize(("text", "message"), [
    ("user,movie,rating\n1,2,3\n", "line 1: header"),
    ("userId,movieId,rating\n1,2\n", "line 2: 2 fields, not 3"),
    ("userId,movieId,rating\nx,2,3\n", "line 2: userId 'x' is not an integer"),
    ("userId,movieId,rating\n1,2.5,3\n", "line 2: movieId '2.5' is not an integer"),
    ("userId,movieId,rating\n1,2,3\n1,2,good\n", "line 3: rating 'good' is not a number"),
    ("userId,movieId,rating,timestamp\n1,2,3,yesterday\n", "line 2: timestamp 'yesterday'"),
    ("userId,movieId,rating\n", "no ratings"),
])
def test_a_bad_file_names_the_line_and_the_expected_form(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        read_ratings_csv(f)
    assert str(f) in str(err.value) and "expected userId,movieId,rating" in str(err.value)


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_ratings_csv(tmp_path / "none.csv")


def test_scales_follow_the_release() -> None:
    assert scale_for("ml-100k") == WHOLE_STARS and scale_for("ml-1m") == WHOLE_STARS
    assert scale_for("ml-latest-small") == HALF_STARS and scale_for("synthetic") == HALF_STARS
    assert HALF_STARS.allows(0.5) and HALF_STARS.allows(5.0) and HALF_STARS.allows(3.5)
    assert not HALF_STARS.allows(0.0) and not HALF_STARS.allows(5.5) and not HALF_STARS.allows(3.25)
    assert WHOLE_STARS.allows(1.0) and not WHOLE_STARS.allows(4.5) and not WHOLE_STARS.allows(0.5)
    assert not HALF_STARS.allows(float("nan"))


@pytest.mark.parametrize(("rating", "movie", "message"), [
    (7.0, 1, "off the loaded release's scale"),
    (4.0, 99, "movieId 99 is not in the graph"),
])
def test_check_ratings_refuses_off_scale_and_unknown_movies(rating: float, movie: int, message: str) -> None:
    good = NewRating(1, 1, 4.0, 0, "f line 2")
    with pytest.raises(InputError, match=message):
        check_ratings([good, NewRating(1, movie, rating, 0, "f line 3")], HALF_STARS, {1})
    check_ratings([good], HALF_STARS, {1})


def _board() -> tuple[IdMap, Interactions]:
    """Two taste groups: users 0-9 rate movies 10..14, users 10-19 rate movies 20..24 (ids)."""
    users, items = [], []
    for u in range(20):
        group = range(0, 5) if u < 10 else range(5, 10)
        for i in group:
            if i != u % 5 + (0 if u < 10 else 5):
                users.append(u)
                items.append(i)
    n = len(users)
    idmap = IdMap(np.arange(100, 120), np.arange(10, 20) + np.r_[0, 0, 0, 0, 0, 5, 5, 5, 5, 5])
    return idmap, Interactions(np.array(users), np.array(items), np.full(n, 4.0, np.float32),
                               np.arange(n), 20, 10)


def _history(movies: list[list[int]]) -> History:
    return History(list(range(500, 500 + len(movies))), [np.array(m, np.int64) for m in movies],
                   [np.full(len(m), 4.0, np.float32) for m in movies],
                   [np.arange(len(m), dtype=np.int64) for m in movies], [None] * len(movies),
                   [len(m) for m in movies], [0] * len(movies))


def test_history_keeps_only_movies_the_model_knows() -> None:
    idmap, _ = _board()
    inter = history_interactions(_history([[10, 999, 21], [998]]), idmap)
    assert inter.num_users == 2 and inter.num_items == 10
    assert inter.user.tolist() == [0, 0] and idmap.movies[inter.item].tolist() == [10, 21]


def test_fold_lists_personalises_and_leaves_unknown_only_users_cold() -> None:
    idmap, train = _board()
    model = EASE(reg=1.0)
    model.fit(train)
    lists = fold_lists(model, idmap, _history([[10, 11], [21, 22, 23], [999]]), k=3, with_vectors=True)
    assert lists.user_ids == [500, 501, 502]
    assert lists.ratings is None and lists.reasons is None and lists.vectors is None  # EASE has none
    first, second, cold = lists.movies
    assert set(first) <= {12, 13, 14} and len(first) == 3  # the user's group, unrated ones
    assert set(second[:2]) <= {20, 24} and not set(second) & {21, 22, 23}
    assert cold == [] and lists.scores[2] == []  # only an unknown movie: cold start stays
    assert all(a >= b for a, b in zip(lists.scores[0], lists.scores[0][1:], strict=False))


def test_fold_lists_give_reasons_for_a_sequence_model() -> None:
    idmap, train = _board()
    model = TemporalGraphFilter(reg=1.0, rank=2, seq_weight=0.5, seq_reg=1.0, seq_horizon=2,
                                seq_min_ratings=1)
    model.fit(train)
    lists = fold_lists(model, idmap, _history([[10, 11, 12], [999]]), k=2, with_vectors=True)
    assert lists.reasons is not None and lists.vectors is not None
    assert all(r is None or r in (10, 11, 12) for r in lists.reasons[0])
    first = lists.vectors[0]
    assert first is not None and len(first) == 2  # the low-pass factors are the user vector
    assert lists.vectors[1] is None and lists.movies[1] == []  # no known movie: no vector, cold start


# -- issue 29 item 6: `engine rate --file` is as strict as the loader --------------------------------

def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbfuserId,movieId,rating,timestamp\r\n1,2,3.5,100\r\n")
    (row,) = read_ratings_csv(f)
    assert (row.user_id, row.movie_id, row.rating, row.timestamp) == (1, 2, 3.5, 100)
    assert row.where == f"{f} line 2"


def test_latin1_bytes_are_a_one_line_input_error_naming_the_line(tmp_path: Path) -> None:
    f = tmp_path / "latin1.csv"
    f.write_bytes(b"userId,movieId,rating\n1,2,3\n1,3,4 caf\xe9\n")
    with pytest.raises(InputError) as err:
        read_ratings_csv(f)
    message = str(err.value)
    assert message.startswith(f"{f} line 3: ") and "expected UTF-8" in message
    assert "\n" not in message


def test_a_pair_given_twice_is_refused_naming_both_lines(tmp_path: Path) -> None:
    f = tmp_path / "twice.csv"
    f.write_text("userId,movieId,rating\n1,2,3\n1,3,4\n\n1,2,5\n")
    with pytest.raises(InputError) as err:
        read_ratings_csv(f)
    assert str(err.value).startswith(f"{f} line 5: userId 1, movieId 2 already given on line 2; ")


@pytest.mark.parametrize("stamp", ["-1", str(2**35 + 1), "1700000000000", "1700000000000000",
                                   "1700000000000000000"])
def test_a_timestamp_that_is_not_epoch_seconds_is_refused(tmp_path: Path, stamp: str) -> None:
    f = tmp_path / "ms.csv"
    f.write_text(f"userId,movieId,rating,timestamp\n1,2,3,1700000000\n1,3,4,{stamp}\n")
    with pytest.raises(InputError) as err:
        read_ratings_csv(f)
    assert str(err.value).startswith(f"{f} line 3: timestamp {stamp} is not epoch seconds (0 to 2^35); ")


def test_the_timestamp_bound_is_one_constant() -> None:
    from engine import schema
    from engine.data import new_ratings

    assert schema.MAX_TIMESTAMP == 2**35
    assert new_ratings.MAX_TIMESTAMP is schema.MAX_TIMESTAMP
    with pytest.raises(InputError, match="is not epoch seconds"):
        check_ratings([NewRating(1, 1, 4.0, 2**35 + 1, "command line")], HALF_STARS, {1})
    check_ratings([NewRating(1, 1, 4.0, 2**35, "command line")], HALF_STARS, {1})


def test_the_scale_check_is_exact() -> None:
    assert not WHOLE_STARS.allows(4.0000000001) and not HALF_STARS.allows(4.0000000001)
    assert not HALF_STARS.allows(4.5000000001) and not WHOLE_STARS.allows(3.9999999999)
    assert HALF_STARS.allows(4.5) and WHOLE_STARS.allows(4.0) and WHOLE_STARS.allows(float("4"))
    with pytest.raises(InputError, match="off the loaded release's scale"):
        check_ratings([NewRating(1, 1, 4.0000000001, 0, "f line 2")], WHOLE_STARS, {1})


class _FakeRunner:
    def __init__(self, driver: object, database: str) -> None:
        pass

    def read(self, name: str, **_: object) -> list[dict[str, object]]:
        assert name == "load/dataset_get"
        return [{"name": "ml-latest-small"}]


def test_rate_checks_everything_then_writes_batch_by_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    import engine.jobs.rate as job
    from engine.settings import Neo4jSettings

    batches: list[list[int]] = []

    def write(db: object, users: list[int], movies: list[int], ratings: list[float],
              stamps: list[int]) -> int:
        batches.append(users)
        return len(users)

    monkeypatch.setattr(job, "open_driver", lambda _s: contextlib.nullcontext(None))
    monkeypatch.setattr(job, "Runner", _FakeRunner)
    monkeypatch.setattr(job, "known_movies", lambda _db, ids: {1})
    monkeypatch.setattr(job, "write_ratings", write)
    settings = Neo4jSettings("bolt://127.0.0.1:1", "neo4j", "x")
    good = [NewRating(u, 1, 4.0, 0, f"f line {u + 2}") for u in range(5)]
    assert job.rate(settings, good, batch_size=2) == 5
    assert batches == [[0, 1], [2, 3], [4]]
    batches.clear()
    with pytest.raises(InputError, match="f line 9: rating 4.25"):  # the last row is bad: nothing written
        job.rate(settings, [*good, NewRating(9, 1, 4.25, 0, "f line 9")], batch_size=2)
    assert batches == []
    with pytest.raises(InputError, match="movieId 7 is not in the graph"):
        job.rate(settings, [*good, NewRating(9, 7, 4.0, 0, "f line 9")], batch_size=2)
    assert batches == []


def test_rate_help_offers_batch_size_and_says_batches_commit_one_by_one() -> None:
    from click.testing import CliRunner

    from engine.cli import cli

    result = CliRunner().invoke(cli, ["rate", "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "--batch-size" in text and "50000" in text.replace(",", "")
    assert "one by one" in text
