"""Node features for the heterogeneous models, fitted on the TRAIN interactions only.

Pure: arrays in, arrays out. Statistics of held-out ratings never reach a feature
(conventions §4): callers pass the train split, and movies or users without train
ratings get the neutral value (global train mean, zero counts).

User features (float32 ``[num_users, 3 + 6 + 7 + D]``): mean rating, log(1 + count),
rating variance; share of ratings in six 4-hour bins of the day (UTC) and in the seven
days of the week; demographics when the release has them (gender one-hot, age / 100,
occupation one-hot), else nothing.

Movie features (float32 ``[num_movies, G + 3]``): genres multi-hot, (year - 1900) / 100
(0 when unknown), log(1 + train count), train mean rating (centred on the global mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.interactions import Interactions


@dataclass(frozen=True)
class NodeFeatures:
    """Feature matrices plus the column names (for plots and debugging)."""

    user: np.ndarray
    movie: np.ndarray
    user_columns: list[str]
    movie_columns: list[str]
    genres: list[str]


def _bincount(idx: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(idx, weights=weights, minlength=n).astype(np.float64)


def user_features(train: Interactions, users: pd.DataFrame | None = None) -> tuple[np.ndarray, list[str]]:
    """Rating statistics, time-of-day / day-of-week profile and demographics."""
    n = train.num_users
    count = _bincount(train.user, n)
    total = _bincount(train.user, n, train.rating.astype(np.float64))
    global_mean = float(train.rating.mean()) if len(train) else 0.0
    mean = np.where(count > 0, total / np.maximum(count, 1), global_mean)
    sq = _bincount(train.user, n, train.rating.astype(np.float64) ** 2)
    var = np.where(count > 0, sq / np.maximum(count, 1) - mean**2, 0.0).clip(min=0)
    cols = [mean - global_mean, np.log1p(count), var]
    names = ["mean_rating_centred", "log_count", "rating_variance"]

    ts = pd.to_datetime(train.timestamp, unit="s", utc=True)
    hour_bin = (ts.hour.to_numpy() // 4).astype(np.int64)
    dow = ts.day_of_week.to_numpy().astype(np.int64)
    denom = np.maximum(count, 1)[:, None]
    hours = np.zeros((n, 6))
    np.add.at(hours, (train.user, hour_bin), 1.0)
    days = np.zeros((n, 7))
    np.add.at(days, (train.user, dow), 1.0)
    blocks = [np.column_stack(cols), hours / denom, days / denom]
    names += [f"hours_{4 * i:02d}_{4 * i + 4:02d}" for i in range(6)]
    names += [f"dow_{d}" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]

    if users is not None and len(users) == n and users["gender"].notna().any():
        gender = users["gender"].fillna("")
        blocks.append(np.column_stack([(gender == "M").to_numpy(), (gender == "F").to_numpy()]))
        names += ["gender_m", "gender_f"]
        age = pd.to_numeric(users["age"], errors="coerce").fillna(0).to_numpy(dtype=np.float64)
        blocks.append((age / 100.0)[:, None])
        names.append("age_div_100")
        occ = users["occupation"].fillna("unknown").astype(str)
        cats = sorted(occ.unique())
        blocks.append((occ.to_numpy()[:, None] == np.array(cats)[None, :]).astype(np.float64))
        names += [f"occupation_{c}" for c in cats]
    return np.hstack(blocks).astype(np.float32), names


def movie_features(train: Interactions, movies: pd.DataFrame) -> tuple[np.ndarray, list[str], list[str]]:
    """Genres multi-hot, year, popularity and mean rating (train only)."""
    n = train.num_items
    if len(movies) != n:
        raise ValueError(f"movies frame has {len(movies)} rows, expected {n} (one per IdMap movie)")
    genres = sorted({g for gs in movies["genres"] for g in gs})
    col = {g: j for j, g in enumerate(genres)}
    multi = np.zeros((n, len(genres)), dtype=np.float64)
    for i, gs in enumerate(movies["genres"]):
        for g in gs:
            multi[i, col[g]] = 1.0
    year = pd.to_numeric(movies["year"], errors="coerce").to_numpy(dtype=np.float64)
    year = np.where(np.isnan(year), 0.0, (year - 1900.0) / 100.0)
    count = _bincount(train.item, n)
    total = _bincount(train.item, n, train.rating.astype(np.float64))
    global_mean = float(train.rating.mean()) if len(train) else 0.0
    mean = np.where(count > 0, total / np.maximum(count, 1) - global_mean, 0.0)
    x = np.column_stack([multi, year, np.log1p(count), mean]).astype(np.float32)
    names = [f"genre_{g}" for g in genres] + ["year_norm", "log_count", "mean_rating_centred"]
    return x, names, genres


def node_features(
    train: Interactions, movies: pd.DataFrame, users: pd.DataFrame | None = None
) -> NodeFeatures:
    """Both feature matrices, fitted on ``train``."""
    ux, unames = user_features(train, users)
    mx, mnames, genres = movie_features(train, movies)
    return NodeFeatures(ux, mx, unames, mnames, genres)
