"""The explore page's reads (``cypher/recommend`` files) and its one write (``engine rate``'s checked path).

Every read is a Cypher file Neo4j Browser users run too (``recommend/for_user``,
``least_relevant``, ``explain``, ``similar_movies``, ``similar_users``, ``lookup``; the graph's
reasons come from ``viz/explain_paths``, as in ``engine viz``, and the user's recent ratings from
``live/histories``), run by :class:`engine.graphdb.reader.Reader`, so the page and Browser
always agree. ``least_relevant`` has no genre/year parameters: its rows are over-fetched
(:data:`~engine.explore.rows.LEAST_FETCH`) and filtered here. A rating goes through
:func:`engine.jobs.rate.rate` (every value checked against the loaded release's scale and the
graph's movies before anything is written), then the user's list is refreshed by fold-in
(:mod:`engine.explore.live`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.data.new_ratings import NewRating, RatingScale, scale_for
from engine.errors import InputError
from engine.explore.graph import elements
from engine.explore.live import Refreshed
from engine.explore.rows import LEAST_FETCH, Filters, filter_rows

__all__ = ["Catalogue", "Explorer", "Lists", "Movie", "ReaderLike", "RefreshLike", "load_catalogue"]

log = logging.getLogger(__name__)

#: Similar users, favourites per recommendation and neighbours of a clicked movie in the graph.
SIMILAR_USERS, PER_MOVIE, NEIGHBOURS = 5, 2, 6


class ReaderLike(Protocol):
    """What the app needs of :class:`engine.graphdb.reader.Reader` (tests pass a fake)."""

    def run(self, name: str, /, **params: Any) -> list[dict[str, Any]]: ...
    def lookup(self, user_id: int | None = None, movie_id: int | None = None) -> dict[str, Any]: ...
    def recommend(self, user_id: int, k: int = 10, *, genres: Sequence[str] | None = None,
                  years: tuple[int | None, int | None] = (None, None),
                  min_score: float | None = None) -> list[dict[str, Any]]: ...
    def least_relevant(self, user_id: int, k: int = 10) -> list[dict[str, Any]]: ...
    def similar_movies(self, movie_id: int, k: int = 10) -> list[dict[str, Any]]: ...
    def similar_users(self, user_id: int, k: int = 10) -> list[dict[str, Any]]: ...
    def explain(self, user_id: int, movie_id: int) -> dict[str, Any]: ...
    def current_run(self) -> dict[str, Any]: ...


class RefreshLike(Protocol):
    """What the app needs of :class:`engine.explore.live.WhatIfRefresh`."""

    problem: str | None

    def mark(self) -> str: ...
    def refresh(self, user_id: int, since: str) -> Refreshed: ...


RateFn = Callable[[list[NewRating]], int]


@dataclass(frozen=True)
class Movie:
    """A movie of the catalogue (``export/movies``)."""

    movie_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]


@dataclass
class Catalogue:
    """What the controls offer: movies (for the what-if search), genres, users, the year range, the run."""

    movies: dict[int, Movie]
    genres: list[str]
    users: list[int]
    years: tuple[int, int]
    run: dict[str, Any]
    dataset: str | None
    scale: RatingScale = field(default_factory=lambda: scale_for(None))

    def search_users(self, text: str, limit: int = 20) -> list[int]:
        """The userIds starting with ``text`` (digits), smallest first."""
        text = (text or "").strip()
        return [u for u in self.users if str(u).startswith(text)][:limit]

    def search_movies(self, text: str, limit: int = 30) -> list[Movie]:
        """Movies whose title contains ``text`` (titles starting with it first), or with movieId ``text``."""
        needle = (text or "").strip().casefold()
        if not needle:
            return []
        exact = [self.movies[int(needle)]] if needle.isdigit() and int(needle) in self.movies else []
        hits = [m for m in self.movies.values() if needle in m.title.casefold()]
        hits.sort(key=lambda m: (not m.title.casefold().startswith(needle), m.title))
        return (exact + [m for m in hits if m not in exact])[:limit]


def load_catalogue(reader: ReaderLike) -> Catalogue:
    """The catalogue, read once when the app starts (``export/``, ``admin/``, ``load/`` files)."""
    ids = reader.run("export/movie_nodes")[0]["movieIds"]
    rows = reader.run("export/movies", movieIds=sorted(int(i) for i in ids))[0]["rows"] if ids else []
    movies = {int(r[0]): Movie(int(r[0]), str(r[1]), r[2], tuple(r[3] or ())) for r in rows}
    years = [m.year for m in movies.values() if isinstance(m.year, int)]
    users = reader.run("export/user_ids", minRatings=0, maxRatings=None)[0]["userIds"]
    datasets = [r["name"] for r in reader.run("load/dataset_get")]
    dataset = datasets[0] if datasets else None
    return Catalogue(movies, [r["name"] for r in reader.run("admin/genre_names")],
                     sorted(int(u) for u in users), (min(years), max(years)) if years else (1900, 2030),
                     reader.current_run(), dataset, scale_for(dataset))


@dataclass
class Lists:
    """A user's two lists under one set of filters (rows as their Cypher files give them), and the graph."""

    user_id: int
    filters: Filters
    top: list[dict[str, Any]]
    least: list[dict[str, Any]]
    elements: list[dict[str, Any]]
    seconds: float = 0.0


class Explorer:
    """The app's door to the graph: reads with ``reader``, writes with ``rate``, refreshes with ``live``."""

    def __init__(self, reader: ReaderLike, *, rate: RateFn | None = None, live: RefreshLike | None = None,
                 catalogue: Catalogue | None = None, workers: int = 6, clock: Callable[[], float] = time.time
                 ) -> None:
        self.reader, self._rate, self.live, self.clock = reader, rate, live, clock
        self._catalogue = catalogue
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="explore-read")
        self._lock = threading.Lock()
        self._created: set[int] = set()

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self._catalogue = load_catalogue(self.reader)
        return self._catalogue

    # ------------------------------------------------------------------ reads
    def read(self, user_id: int, filters: Filters) -> Lists:
        """Both lists and the graph of ``user_id`` under ``filters``; the reads overlap (a thread pool).

        Top-k: ``for_user`` with the filters as its parameters. Least relevant:
        ``least_relevant`` (over-fetched and filtered here when a genre or year filter is set),
        each row explained by ``explain``. The graph: ``similar_users``, ``live/histories``
        and ``viz/explain_paths`` of the top rows.
        """
        t0 = time.perf_counter()
        top_f = self._pool.submit(self.reader.recommend, user_id, filters.k,
                                  genres=list(filters.genres) or None,
                                  years=(filters.year_min, filters.year_max), min_score=filters.min_score)
        similar_f = self._pool.submit(self.reader.similar_users, user_id, SIMILAR_USERS)
        history_f = self._pool.submit(self.history, user_id)
        least = self._least(user_id, filters)
        top, similar = top_f.result(), similar_f.result()
        paths = self.reader.run(
            "viz/explain_paths", userId=user_id, movieIds=[r["movieId"] for r in top],
            similarUserIds=[s["userId"] for s in similar], minRating=4.0,
            perMovie=PER_MOVIE if len(top) <= 10 else 1,  # 20 recommendations stay readable
        ) if top else []
        items = elements(user_id, top, paths, similar, history_f.result())
        return Lists(user_id, filters, top, least, items, time.perf_counter() - t0)

    def _least(self, user_id: int, filters: Filters) -> list[dict[str, Any]]:
        filtered = bool(filters.genres) or filters.year_min is not None or filters.year_max is not None
        fetch = max(LEAST_FETCH, 10 * filters.k) if filtered else filters.k
        fetched = self.reader.least_relevant(user_id, fetch)
        least = filter_rows(fetched, filters.without_score())
        whys = self._pool.map(lambda r: self.reader.run("recommend/explain", userId=user_id,
                                                        movieId=r["movieId"]), least)
        for row, why in zip(least, whys, strict=True):
            row["score"] = row.get("affinity")
            row["explanation"] = why[0].get("explanation") if why else None
        return least

    def history(self, user_id: int) -> list[dict[str, Any]]:
        """The user's ratings, newest first, with titles (``live/histories``)."""
        rows = self.reader.run("live/histories", userIds=[user_id])
        if not rows:
            return []
        r = rows[0]
        out = [{"movieId": int(m), "title": self._title(int(m)), "rating": rating, "timestamp": stamp}
               for m, rating, stamp in zip(r["movies"], r["ratings"], r["timestamps"], strict=True)]
        return sorted(out, key=lambda h: (h["timestamp"] or 0, h["movieId"]), reverse=True)

    def detail(self, user_id: int | None, movie_id: int
               ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Why ``movie_id`` is (or is not) recommended to the user (``explain``); its SIMILAR neighbours."""
        similar = self._pool.submit(self.reader.similar_movies, movie_id, NEIGHBOURS)
        why = self.reader.explain(user_id, movie_id) if user_id is not None else None
        return why, similar.result()

    def user_exists(self, user_id: int) -> bool:
        return bool(self.reader.run("recommend/lookup", userId=user_id, movieId=None)[0]["userExists"])

    def new_user_id(self) -> int:
        """The next userId nobody has (checked in the graph), reserved for this app."""
        with self._lock:
            candidate = max([0, *self.catalogue.users[-1:], *self._created]) + 1
            while self.user_exists(candidate):
                candidate += 1
            self._created.add(candidate)
            return candidate

    def _title(self, movie_id: int) -> str:
        movie = self.catalogue.movies.get(movie_id)
        return movie.title if movie else f"movie {movie_id}"

    # ------------------------------------------------------------------ the one write
    def rate(self, user_id: int, movie_id: int, rating: float) -> Refreshed | None:
        """Write one rating through ``engine rate``'s checked path, then refresh the user's list.

        Returns how the list was refreshed, or ``None`` when this app cannot refresh
        (no run directory: the rating counts at the next ``engine refresh``).
        """
        if self._rate is None:
            raise InputError("this page is read-only (started without a way to write ratings); "
                             "nothing was written")
        since = self.live.mark() if self.live is not None else ""
        self._rate([NewRating(user_id, movie_id, rating, int(self.clock()), where="your rating")])
        with self._lock:
            if user_id not in self.catalogue.users:
                self.catalogue.users.append(user_id)
                self.catalogue.users.sort()
        if self.live is None or self.live.problem:
            return None
        return self.live.refresh(user_id, since)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
