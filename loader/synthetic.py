"""MovieLens-shaped synthetic data of any size, for scale tests and benchmarks.

:func:`generate_synthetic` imitates the statistics that matter to a recommender:

* **Power-law activity.** User activity and movie popularity follow Zipf-like weights
  (``rank ** -a``, randomly permuted over ids); every user gets at least 20 ratings
  when ``ratings >= 20 * users`` (as in MovieLens), otherwise ``ratings // users``.
* **No duplicate (user, movie) pairs.** Pairs are drawn per user from the popularity
  distribution, deduplicated through int64 keys ``user * movies + movie`` and topped up
  until every user has exactly their count; users that still lack movies after a few
  rounds (heavy users) draw the rest exactly, without replacement.
* **Learnable ratings.** A latent score (global mean + user bias + movie quality, which
  grows with popularity, + a low-rank user x movie affinity + noise) is mapped by
  quantiles onto MovieLens's half-star distribution (mean ~3.5, mode 4.0), so ratings
  correlate with user, movie and affinity.
* **Timestamps** fall in 1996-2023: each user has an active span and a few sessions
  in it; ratings cluster within sessions.

Everything is vectorised numpy and deterministic for a seed: 25M ratings take well
under two minutes and a few GB. Rows are sorted by (userId, movieId).
"""

from __future__ import annotations

import logging
import time
from typing import Final

import numpy as np
import pandas as pd

from loader.dataset import MovieLensData, conform, empty

log = logging.getLogger(__name__)

#: The 19 ml-latest genres and rough shares of genre assignments in MovieLens.
GENRE_WEIGHTS: Final[dict[str, float]] = {
    "Drama": 0.24, "Comedy": 0.19, "Thriller": 0.09, "Action": 0.085, "Romance": 0.08,
    "Adventure": 0.065, "Crime": 0.06, "Sci-Fi": 0.045, "Horror": 0.05, "Fantasy": 0.04,
    "Children": 0.035, "Animation": 0.03, "Mystery": 0.03, "Documentary": 0.03, "War": 0.02,
    "Musical": 0.015, "Western": 0.01, "Film-Noir": 0.005, "IMAX": 0.01,
}
#: MovieLens (ml-latest-small) share of each half-star rating, 0.5 .. 5.0.
RATING_SHARES: Final = np.array([1.4, 2.8, 1.8, 7.5, 5.5, 19.9, 13.0, 26.6, 8.5, 13.2])
MIN_PER_USER: Final = 20
USER_EXPONENT: Final = 0.9
MOVIE_EXPONENT: Final = 1.0
T_START: Final = 820_454_400  # 1996-01-01
T_END: Final = 1_703_980_800  # 2023-12-31
_YEAR: Final = 365 * 86_400
_ROUNDS: Final = 8
_CHUNK: Final = 1 << 22


def generate_synthetic(users: int, movies: int, ratings: int, seed: int = 0) -> MovieLensData:
    """Generate a synthetic MovieLens-like release (layout ``"csv"``, half-star ratings).

    Args:
        users: number of users (ids ``1..users``).
        movies: number of movies (ids ``1..movies``).
        ratings: exact number of ratings; at most ``users * movies``.
        seed: random seed; the same arguments give the same data.
    """
    if users < 1 or movies < 1 or not 0 <= ratings <= users * movies:
        raise ValueError(f"need users, movies >= 1 and 0 <= ratings <= users*movies, got "
                         f"users={users}, movies={movies}, ratings={ratings}")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    activity = _zipf(rng, users, USER_EXPONENT)
    popularity = _zipf(rng, movies, MOVIE_EXPONENT)
    counts = user_counts(rng, activity, movies, ratings)
    user_idx, movie_idx = sample_pairs(rng, counts, popularity)
    columns = {
        "rating": pd.Series(_ratings(rng, user_idx, movie_idx, users, popularity), copy=False),
        "timestamp": pd.Series(_timestamps(rng, user_idx, counts), copy=False),
    }
    user_idx += 1
    movie_idx += 1
    columns["userId"] = pd.Series(user_idx, copy=False)
    columns["movieId"] = pd.Series(movie_idx, copy=False)
    frame = pd.DataFrame(columns, copy=False)
    data = MovieLensData(
        name="synthetic",
        layout="csv",
        source=f"synthetic(users={users},movies={movies},ratings={ratings},seed={seed})",
        md5=None,
        users=conform("users", pd.DataFrame({"userId": np.arange(1, users + 1)})),
        movies=conform("movies", _movies(rng, movies)),
        ratings=conform("ratings", frame),
        tags=empty("tags"),
        synthetic=True,
    )
    log.info("generated %r in %.1fs", data, time.perf_counter() - started)
    return data


def _zipf(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Zipf-like probabilities ``rank ** -exponent`` assigned to ids in random order."""
    w = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    return rng.permutation(w / w.sum())


def user_counts(
    rng: np.random.Generator, activity: np.ndarray, movies: int, ratings: int
) -> np.ndarray:
    """Ratings per user: a floor of 20 (if feasible) plus a multinomial share by activity.

    No user gets more than ``cap`` ratings: half the catalogue, or more where the total
    needs it. Excess over the cap is redistributed until it fits.
    """
    users = len(activity)
    floor = min(MIN_PER_USER, movies, ratings // users)
    cap = min(movies, max(floor, -(-ratings // users), movies // 2))
    counts = floor + rng.multinomial(ratings - floor * users, activity).astype(np.int64)
    for _ in range(100):
        excess = int(np.clip(counts - cap, 0, None).sum())
        if excess == 0:
            break
        counts = np.minimum(counts, cap)
        room = counts < cap
        w = activity * room
        counts += rng.multinomial(excess, w / w.sum())
    else:  # pathological inputs: fill the remaining room in id order
        counts = np.minimum(counts, cap)
        short = ratings - int(counts.sum())
        room = np.cumsum(cap - counts)
        take = np.clip(short - np.concatenate(([0], room[:-1])), 0, cap - counts)
        counts += take
    return counts


def sample_pairs(
    rng: np.random.Generator, counts: np.ndarray, popularity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (user, movie) index pairs, ``counts[u]`` per user, movies drawn by popularity.

    Round 1 draws each user's count with replacement and drops repeats. Later rounds
    draw only the shortfall, inflated by ``1 / (1 - popularity mass the user already
    has)``, and keep a random subset of the new movies. Users still short after that
    (very heavy users) are completed exactly. Returns ``(users, movies)`` int64 arrays
    sorted by user then movie.
    """
    n_users, n_movies = len(counts), len(popularity)
    prob, alias = _alias_table(popularity)
    have = np.empty(0, dtype=np.int64)  # sorted unique keys user * n_movies + movie
    need = counts.astype(np.int64)
    for round_ in range(_ROUNDS):
        if not need.any():
            break
        draw = need
        if round_:
            mass = np.bincount(have // n_movies, weights=popularity[have % n_movies],
                               minlength=n_users)
            free = np.clip(1.0 - mass, 0.02, 1.0)
            draw = np.where(need > 0, np.ceil(need / free * 1.2).astype(np.int64) + 1, 0)
        u = np.repeat(np.arange(n_users, dtype=np.int64), draw)
        new = _sorted_unique(u * n_movies + _draw(rng, prob, alias, len(u)))
        del u
        if len(have):
            pos = np.searchsorted(have, new).clip(max=len(have) - 1)
            new = new[have[pos] != new]
        new = _at_most(rng, new, need, n_movies)
        have = np.insert(have, np.searchsorted(have, new), new) if len(have) else new
        need = counts - np.bincount(have // n_movies, minlength=n_users)
    if need.any():
        have = _fill_exact(rng, have, need, popularity)
    return have // n_movies, have % n_movies


def _alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table: O(1) draws from the discrete distribution ``p``."""
    n = len(p)
    prob = p * (n / p.sum())
    alias = np.arange(n, dtype=np.int64)
    small = np.flatnonzero(prob < 1.0).tolist()
    large = np.flatnonzero(prob >= 1.0).tolist()
    while small and large:
        s, big = small.pop(), large[-1]
        alias[s] = big
        prob[big] -= 1.0 - prob[s]
        if prob[big] < 1.0:
            small.append(large.pop())
    prob[small + large] = 1.0
    return prob, alias


def _draw(rng: np.random.Generator, prob: np.ndarray, alias: np.ndarray, size: int
          ) -> np.ndarray:
    """``size`` independent draws from an alias table."""
    i = rng.integers(0, len(prob), size)
    return np.where(rng.random(size) < prob[i], i, alias[i])


def _at_most(rng: np.random.Generator, keys: np.ndarray, need: np.ndarray, n_movies: int
             ) -> np.ndarray:
    """A random subset of sorted ``keys`` with at most ``need[user]`` keys per user."""
    users = keys // n_movies
    if not (np.bincount(users, minlength=len(need)) > need).any():
        return keys
    order = np.lexsort((rng.random(len(keys)), users))
    grouped = users[order]
    starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
    rank = np.arange(len(keys)) - np.repeat(starts, np.diff(np.append(starts, len(keys))))
    return np.sort(keys[order[rank < need[grouped]]])


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based; numpy's hash-based ``unique`` is slower here)."""
    keys.sort()
    if len(keys) == 0:
        return keys
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))]


def _fill_exact(
    rng: np.random.Generator, have: np.ndarray, need: np.ndarray, popularity: np.ndarray
) -> np.ndarray:
    """Top up users still short after sampling, without replacement (Gumbel top-k)."""
    n_movies = len(popularity)
    logp = np.log(popularity)
    short = np.flatnonzero(need)
    log.debug("exact top-up for %d users", len(short))
    bounds = np.searchsorted(have, np.stack([short * n_movies, (short + 1) * n_movies]))
    extra = []
    for user, lo, hi in zip(short.tolist(), *bounds.tolist(), strict=True):
        score = logp - np.log(-np.log(rng.random(n_movies)))
        score[have[lo:hi] % n_movies] = -np.inf
        pick = np.argpartition(-score, need[user] - 1)[: need[user]]
        extra.append(user * n_movies + pick.astype(np.int64))
    new = np.sort(np.concatenate(extra))
    return np.insert(have, np.searchsorted(have, new), new)


def _ratings(
    rng: np.random.Generator,
    user_idx: np.ndarray,
    movie_idx: np.ndarray,
    users: int,
    popularity: np.ndarray,
    dims: int = 8,
) -> np.ndarray:
    """Half-star ratings from a latent score mapped onto the MovieLens distribution."""
    movies = len(popularity)
    logpop = np.log(popularity)
    quality = rng.normal(0, 0.45, movies) + 0.25 * (logpop - logpop.mean()) / logpop.std()
    bias = rng.normal(0, 0.4, users)
    p = rng.normal(0, 1, (users, dims)).astype(np.float32)
    q = rng.normal(0, 1 / np.sqrt(dims), (movies, dims)).astype(np.float32)
    score = np.empty(len(user_idx), dtype=np.float64)
    for lo in range(0, len(user_idx), _CHUNK):
        u, m = user_idx[lo : lo + _CHUNK], movie_idx[lo : lo + _CHUNK]
        affinity = np.einsum("ij,ij->i", p[u], q[m])
        score[lo : lo + _CHUNK] = bias[u] + quality[m] + 0.5 * affinity
    score += rng.normal(0, 0.6, len(score))
    if len(score) == 0:
        return score
    sample = score if len(score) <= 1_000_000 else rng.choice(score, 1_000_000, replace=False)
    cuts = np.quantile(sample, np.cumsum(RATING_SHARES)[:-1] / RATING_SHARES.sum())
    return (np.searchsorted(cuts, score) + 1) * 0.5


def _timestamps(rng: np.random.Generator, user_idx: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-user active spans in 1996-2023 with sessions; ratings cluster within sessions."""
    users = len(counts)
    span = np.minimum(rng.exponential(1.5 * _YEAR, users) + 86_400, T_END - T_START - 86_400)
    start = T_START + rng.random(users) * (T_END - T_START - span)
    sessions = 1 + rng.poisson(np.sqrt(counts))
    phase = rng.random(users)
    n = len(user_idx)
    session = np.floor(rng.random(n) * sessions[user_idx])
    offset = ((session + 1) * 0.6180339887498949 + phase[user_idx]) % 1.0
    ts = start[user_idx] + offset * span[user_idx] + rng.integers(0, 3 * 3600, n)
    return np.minimum(ts, T_END).astype(np.int64)


def _movies(rng: np.random.Generator, movies: int) -> pd.DataFrame:
    """Titles ``"Synthetic Movie 12 (1997)"``, years skewed recent, 1-3 weighted genres."""
    ids = np.arange(1, movies + 1)
    years = np.maximum(2023 - np.floor(rng.exponential(15, movies)), 1920).astype(np.int64)
    names = np.array(list(GENRE_WEIGHTS))
    weights = np.array(list(GENRE_WEIGHTS.values()))
    keys = np.log(weights / weights.sum()) - np.log(-np.log(rng.random((movies, len(names)))))
    top3 = np.argsort(-keys, axis=1)[:, :3]
    k = rng.choice([1, 2, 3], size=movies, p=[0.45, 0.35, 0.2])
    return pd.DataFrame({
        "movieId": ids,
        "title": [f"Synthetic Movie {i} ({y})" for i, y in zip(ids.tolist(), years.tolist(),
                                                                strict=True)],
        "year": years,
        "genres": [names[row[:n]].tolist() for row, n in zip(top3, k.tolist(), strict=True)],
    })
