from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data import IdMap, Interactions
from engine.data.features import movie_features, node_features, user_features
from engine.data.hetero import to_hetero_data
from engine.data.splits import per_user_random
from engine.schema import HAS_MOVIE, IN_GENRE, RATED_BY, RATES


def _toy() -> tuple[IdMap, Interactions, pd.DataFrame]:
    rng = np.random.default_rng(0)
    idmap = IdMap(users=np.array([10, 20, 30, 40]), movies=np.array([1, 2, 3, 5, 8]))
    user = np.repeat(np.arange(4), 4)
    item = np.concatenate([rng.permutation(5)[:4] for _ in range(4)])
    inter = Interactions(user=user, item=item, rating=rng.integers(1, 6, 16).astype(np.float32),
                         timestamp=rng.integers(9e8, 1e9, 16), num_users=4, num_items=5)
    movies = pd.DataFrame({"movieId": idmap.movies, "title": list("abcde"),
                           "year": [1995, None, 2001, 1980, 1999],
                           "genres": [["Comedy"], ["Drama", "Comedy"], [], ["Horror"], ["Drama"]]})
    return idmap, inter, movies


def test_user_features_hand_checked() -> None:
    inter = Interactions(user=np.array([0, 0, 1]), item=np.array([0, 1, 0]),
                         rating=np.array([4.0, 2.0, 5.0], np.float32),
                         timestamp=np.array([0, 3600 * 5, 86400 * 3]), num_users=3, num_items=2)
    x, names = user_features(inter)
    g = 11 / 3
    assert names[:3] == ["mean_rating_centred", "log_count", "rating_variance"]
    np.testing.assert_allclose(x[0, :3], [3 - g, np.log(3), 1.0], rtol=1e-6)
    np.testing.assert_allclose(x[2, :3], [0, 0, 0])  # user without train ratings: neutral
    # 1970-01-01 00:00 and 05:00 UTC (Thursday): bins 00-04 and 04-08
    hours = x[0, 3:9]
    np.testing.assert_allclose(hours, [0.5, 0.5, 0, 0, 0, 0])
    assert x[0, 9 + 3] == 1.0  # both on a Thursday
    assert x[1, 9 + 6] == 1.0  # 1970-01-04 was a Sunday


def test_movie_features_use_train_only() -> None:
    idmap, inter, movies = _toy()
    split = per_user_random(inter, 0.25, seed=0)
    x_train, names, genres = movie_features(split.train, movies)
    counts = np.bincount(split.train.item, minlength=5)
    assert genres == ["Comedy", "Drama", "Horror"]
    np.testing.assert_allclose(x_train[:, names.index("log_count")], np.log1p(counts), rtol=1e-6)
    assert x_train[1, :3].tolist() == [1.0, 1.0, 0.0]
    assert x_train[1, names.index("year_norm")] == 0.0  # unknown year
    with pytest.raises(ValueError, match="one per IdMap movie"):
        movie_features(split.train, movies.iloc[:3])


def test_hetero_data_has_train_edges_only_with_reverses() -> None:
    idmap, inter, movies = _toy()
    split = per_user_random(inter, 0.25, seed=0)
    data = to_hetero_data(idmap, split.train, movies, node_features(split.train, movies))
    ei = data[RATES].edge_index
    assert ei.shape[1] == len(split.train)
    assert (data[RATED_BY].edge_index == ei.flip(0)).all()
    train_pairs = set(zip(split.train.user.tolist(), split.train.item.tolist(), strict=True))
    test_pairs = set(zip(split.test.user.tolist(), split.test.item.tolist(), strict=True))
    graph_pairs = set(zip(ei[0].tolist(), ei[1].tolist(), strict=True))
    assert graph_pairs == train_pairs and not graph_pairs & test_pairs
    assert data[IN_GENRE].edge_index.shape[1] == 5
    assert (data[HAS_MOVIE].edge_index == data[IN_GENRE].edge_index.flip(0)).all()
    assert data["user"].x.shape[0] == 4 and data["movie"].x.shape[0] == 5
    assert data["user"].node_id.tolist() == [10, 20, 30, 40]
