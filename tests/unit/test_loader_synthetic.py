"""Synthetic MovieLens: exact sizes, no duplicate pairs, skew, realism, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loader import MovieLensData, generate_synthetic
from loader.dataset import SCHEMA
from loader.synthetic import GENRE_WEIGHTS, T_END, T_START


@pytest.fixture(scope="module")
def data() -> MovieLensData:
    return generate_synthetic(users=400, movies=2000, ratings=30_000, seed=7)


def test_exact_counts_and_metadata(data: MovieLensData) -> None:
    assert data.counts()["users"] == 400
    assert data.counts()["movies"] == 2000
    assert data.counts()["ratings"] == 30_000
    assert data.counts()["tags"] == 0
    assert (data.name, data.layout, data.synthetic, data.md5) == ("synthetic", "csv", True, None)
    assert data.source == "synthetic(users=400,movies=2000,ratings=30000,seed=7)"
    for table, columns in SCHEMA.items():
        assert list(getattr(data, table).columns) == list(columns)
    assert data.ratings.dtypes.astype(str).tolist() == ["int64", "int64", "float64", "int64"]


def test_ids_pairs_and_per_user_floor(data: MovieLensData) -> None:
    r = data.ratings
    assert not r.duplicated(["userId", "movieId"]).any()
    assert r.userId.between(1, 400).all() and r.movieId.between(1, 2000).all()
    per_user = r.groupby("userId").size()
    assert len(per_user) == 400 and per_user.min() >= 20
    keys = r.userId.to_numpy() * 10_000 + r.movieId.to_numpy()
    assert (np.diff(keys) > 0).all()  # sorted by user, then movie


def test_power_law_skew(data: MovieLensData) -> None:
    per_movie = data.ratings.groupby("movieId").size().sort_values(ascending=False)
    assert per_movie.iloc[:200].sum() > 0.4 * len(data.ratings)  # top 10% of movies
    per_user = data.ratings.groupby("userId").size().sort_values(ascending=False)
    assert per_user.iloc[:40].sum() > 0.25 * len(data.ratings)  # top 10% of users
    assert per_user.max() > 5 * per_user.median()


def test_rating_distribution_looks_like_movielens(data: MovieLensData) -> None:
    r = data.ratings.rating
    assert set(r.unique()) <= {x / 2 for x in range(1, 11)}
    assert abs(r.mean() - 3.5) < 0.1
    assert r.mode().iloc[0] == 4.0


def test_ratings_are_learnable(data: MovieLensData) -> None:
    """Movie means from two disjoint halves of the users agree (latent quality)."""
    r = data.ratings
    halves = [r[r.userId % 2 == k].groupby("movieId").rating.agg(["mean", "size"])
              for k in (0, 1)]
    both = halves[0].merge(halves[1], left_index=True, right_index=True, suffixes=("_a", "_b"))
    both = both[(both.size_a >= 10) & (both.size_b >= 10)]
    assert len(both) >= 30
    assert np.corrcoef(both.mean_a, both.mean_b)[0, 1] > 0.3
    user_mean = r.groupby("userId").rating.mean()
    assert user_mean.std() > 0.2  # user biases exist


def test_timestamps_and_sessions(data: MovieLensData) -> None:
    ts = data.ratings.timestamp
    assert ts.min() >= T_START and ts.max() <= T_END
    years = pd.to_datetime(ts, unit="s").dt.year
    assert years.nunique() >= 15
    one = data.ratings[data.ratings.userId == data.ratings.userId.mode().iloc[0]]
    days = pd.to_datetime(one.timestamp, unit="s").dt.floor("D").nunique()
    assert days < len(one) / 3  # ratings cluster into sessions


def test_movies_titles_and_genres(data: MovieLensData) -> None:
    m = data.movies
    assert m.movieId.tolist() == list(range(1, 2001))
    assert (m.title == [f"Synthetic Movie {i} ({y})" for i, y in zip(m.movieId, m.year,
                                                                    strict=True)]).all()
    assert m.year.between(1920, 2023).all()
    sizes = m.genres.map(len)
    assert sizes.between(1, 3).all() and set(sizes) == {1, 2, 3}
    assert all(len(set(g)) == len(g) and set(g) <= set(GENRE_WEIGHTS) for g in m.genres)
    assert len(GENRE_WEIGHTS) == 19


def test_deterministic_for_a_seed() -> None:
    a = generate_synthetic(50, 120, 2_000, seed=3)
    b = generate_synthetic(50, 120, 2_000, seed=3)
    c = generate_synthetic(50, 120, 2_000, seed=4)
    pd.testing.assert_frame_equal(a.ratings, b.ratings)
    pd.testing.assert_frame_equal(a.movies, b.movies)
    assert not a.ratings.equals(c.ratings)


@pytest.mark.parametrize(("users", "movies", "ratings"), [
    (10, 30, 300),      # every user rates every movie
    (40, 25, 100),      # fewer than 20 per user possible: floor = 2
    (5, 1000, 0),       # no ratings at all
    (3, 5000, 4000),    # heavy users need exact top-up
])
def test_edge_sizes(users: int, movies: int, ratings: int) -> None:
    d = generate_synthetic(users, movies, ratings, seed=1)
    assert len(d.ratings) == ratings and len(d.users) == users and len(d.movies) == movies
    assert not d.ratings.duplicated(["userId", "movieId"]).any()
    if ratings:
        assert d.ratings.groupby("userId").size().min() >= min(20, ratings // users)


@pytest.mark.parametrize("args", [(0, 10, 5), (10, 0, 5), (2, 3, 7), (5, 5, -1)])
def test_infeasible_sizes_raise(args: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="ratings"):
        generate_synthetic(*args)
