"""``read_movielens``: a MovieLens zip or directory in, validated typed tables out.

Files are read in dependency order -- movies (+ ``u.genre``, ``links.csv``), users,
ratings, tags -- so every rating and tag can be checked against the movies (and, for
ml-100k/ml-1m, the users) read before it. In ``on_error="fail"`` mode the first file
with a bad line raises :class:`~loader.dataset.LoadError` for its first bad line; in
``"skip"`` mode bad lines are dropped and listed in ``MovieLensData.rejects``. A
missing or empty required file always raises.

Conventions of the returned tables (see :mod:`loader.dataset` for dtypes):

* ``title`` is kept exactly as in the file; ``year`` comes from a trailing ``(YYYY)``
  (or ``(YYYY-YYYY)``) and is null when there is none -- never an error.
* ``genres`` is a list in file order with unified spellings (see :mod:`loader.formats`).
* ml-100k's IMDb URL and release dates are not kept (``imdbId``/``tmdbId`` come only
  from ``links.csv``).
* For releases without a users file (ml-10m, csv family) ``users`` holds the distinct
  users seen in ratings and tags, with null demographics.
* ``links.csv`` rows for movies not in ``movies.csv`` are ignored (logged).
"""

from __future__ import annotations

import logging
import time
import zipfile
import zlib
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd

from engine.schema import MAX_TIMESTAMP
from loader import formats as fmt
from loader.dataset import LoadError, MovieLensData, Reject, conform, empty
from loader.reader import Check, Checker, read_table
from loader.source import Source

log = logging.getLogger(__name__)

OnError = Literal["fail", "skip"]
_YEAR_RE: Final = r"\((\d{4})(?:\s*[-\u2013]\s*\d{0,4})?\)\s*$"


def read_movielens(
    path: str | Path, *, on_error: OnError = "fail", name: str | None = None
) -> MovieLensData:
    """Load a MovieLens release from a zip, a release directory, or a folder holding one.

    Args:
        path: ``ml-latest-small.zip``, ``.../ml-100k/`` or a directory containing exactly
            one release directory. The layout (100k, dat, csv) is detected from file names.
        on_error: ``"fail"`` raises :class:`LoadError` for the first bad line (by file,
            in reading order, then line); ``"skip"`` drops bad lines and reports them
            in ``rejects`` (of duplicate ratings the first is kept).
        name: overrides the detected release name (e.g. ``"ml-25m"``).

    Raises:
        LoadError: bad line (fail mode), missing/empty required file, unknown layout.
    """
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    started = time.perf_counter()
    with Source(path) as src:
        try:
            release = fmt.detect_release(frozenset(src.files), src.hint)
        except ValueError as exc:
            raise LoadError(Reject(src.label, 0, "", "no MovieLens layout recognised",
                                   "ml-100k, ml-1m/10m (.dat) or csv files")) from exc
        run = _Run(src, release, on_error)
        run.require()
        movies = run.movies()
        users = run.users()
        ratings = run.ratings(movies, users)
        tags = run.tags(movies)
        if users is None:
            seen = pd.unique(np.concatenate([ratings["userId"].to_numpy(),
                                             tags["userId"].to_numpy()]))
            users = pd.DataFrame({"userId": np.sort(seen).astype(np.int64)})
    data = MovieLensData(
        name=name or release.name,
        layout=release.layout,
        source=src.label,
        md5=src.md5,
        users=conform("users", users),
        movies=conform("movies", movies),
        ratings=conform("ratings", ratings),
        tags=conform("tags", tags),
        rejects=run.rejects,
    )
    log.info("read %r in %.2fs", data, time.perf_counter() - started)
    return data


class _Run:
    """One load: the source, the release, the error mode and the rejects so far."""

    def __init__(self, src: Source, release: fmt.Release, on_error: OnError) -> None:
        self.src = src
        self.release = release
        self.layout = release.layout
        self.on_error = on_error
        self.rejects: list[Reject] = []

    def require(self) -> None:
        """Raise for the first required file that is missing."""
        for member in self.release.required:
            if member not in self.src.files:
                raise LoadError(Reject(
                    member, 0, f"{member} missing from {self.src.label}", "missing required file",
                    f"the {self.release.name} files {', '.join(self.release.required)}",
                ))

    def read(
        self,
        spec: fmt.TableSpec,
        checks: Checker | None = None,
        unique: tuple[str, ...] = (),
        dup_problem: str = "",
    ) -> pd.DataFrame | None:
        """Parse one member (``None`` if absent); apply the error mode to its rejects."""
        if spec.member not in self.src.files:
            return None
        try:
            table = read_table(partial(self.src.open, spec.member), spec, checks=checks,
                               unique=unique, dup_problem=dup_problem)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a damaged archive member
            raise LoadError(Reject(
                spec.member, 0, "", f"corrupt zip member ({exc})",
                f"an intact copy of {self.src.label}: download or copy it again",
            )) from exc
        if table.seen == 0 and spec.member in self.release.required:
            raise LoadError(Reject(spec.member, 0, "", "empty required file",
                                   f"at least one line of {spec.expected_fields}"))
        if table.rejects:
            if self.on_error == "fail":
                raise LoadError(table.rejects[0])
            log.warning("%s: skipped %d bad line(s), first: %s",
                        spec.member, len(table.rejects), table.rejects[0].message())
            self.rejects.extend(table.rejects)
        return table.frame

    def movies(self) -> pd.DataFrame:
        """Movies with year, genre lists and (csv) links."""
        spec = fmt.movies_spec(self.layout)
        checks = partial(_positive, cols=("movieId",))
        if self.layout == "100k":
            names = self._genre_names_100k()
            frame = self.read(spec, _flag_checks, ("movieId",), "duplicate movieId")
            assert frame is not None
            flags = frame[[f"g{i}" for i in range(19)]].to_numpy()
            genres = [[names[j] for j in np.flatnonzero(row)] for row in flags]
        else:
            frame = self.read(spec, checks, ("movieId",), "duplicate movieId")
            assert frame is not None
            genres = [g.split("|") for g in frame["genres"].tolist()]
        out = pd.DataFrame({
            "movieId": frame["movieId"].to_numpy(),
            "title": frame["title"],
            "year": pd.array(frame["title"].str.extract(_YEAR_RE)[0].astype("Float64"),
                             dtype="Int64"),
            "genres": pd.Series([_unify(g) for g in genres], dtype=object),
        })
        if self.layout == "csv":
            out = self._add_links(out)
        return out

    def users(self) -> pd.DataFrame | None:
        """Users with demographics (ml-100k, ml-1m); ``None`` for releases without."""
        if not self.release.has_users:
            return None
        spec = fmt.users_spec(self.layout)
        checker = _users_100k_checks if self.layout == "100k" else _users_1m_checks
        frame = self.read(spec, checker, ("userId",), "duplicate userId")
        assert frame is not None
        if self.layout == "dat":
            frame["occupation"] = [fmt.OCCUPATIONS_1M[i] for i in frame["occupation"].tolist()]
        return frame[["userId", "gender", "age", "occupation", "zip"]]

    def ratings(self, movies: pd.DataFrame, users: pd.DataFrame | None) -> pd.DataFrame:
        """Ratings checked against the scale, the movies and (if known) the users."""
        spec = fmt.ratings_spec(self.layout, self.release.half_stars)
        movie_src = fmt.movies_spec(self.layout).member
        movie_ids = movies["movieId"].to_numpy()
        user_ids = None if users is None else users["userId"].to_numpy()
        half = self.release.half_stars
        scale = self.release.scale

        def checks(f: pd.DataFrame) -> list[Check]:
            r = f["rating"].to_numpy()
            steps = r * 2 if half else r
            in_scale = (r >= (0.5 if half else 1.0)) & (r <= 5.0) & (steps == np.floor(steps))
            out = _positive(f, ("userId", "movieId"))
            out.append((~in_scale, "rating outside the scale", scale))
            ts = f["timestamp"].to_numpy()
            out.append(((ts < 0) | (ts > MAX_TIMESTAMP), "timestamp not epoch seconds",
                        fmt.TIMESTAMP_RANGE))
            out.append(_unknown(f, "movieId", movie_ids, "rating for an unknown movie", movie_src))
            if user_ids is not None:
                users_src = fmt.users_spec(self.layout).member
                out.append(_unknown(f, "userId", user_ids, "rating by an unknown user", users_src))
            return out

        frame = self.read(spec, checks, ("userId", "movieId"), "duplicate (userId, movieId) pair")
        assert frame is not None
        return frame

    def tags(self, movies: pd.DataFrame) -> pd.DataFrame:
        """Tag applications (empty frame for releases without tags)."""
        if self.layout == "100k":
            return empty("tags")
        spec = fmt.tags_spec(self.layout)
        movie_ids = movies["movieId"].to_numpy()
        movie_src = fmt.movies_spec(self.layout).member

        def checks(f: pd.DataFrame) -> list[Check]:
            out = _positive(f, ("userId", "movieId"))
            out.append(_unknown(f, "movieId", movie_ids, "tag for an unknown movie", movie_src))
            return out

        frame = self.read(spec, checks)
        return empty("tags") if frame is None else frame

    def _genre_names_100k(self) -> list[str]:
        frame = self.read(fmt.GENRE_SPEC)
        if frame is None or sorted(frame["index"].tolist()) != list(range(19)):
            log.warning("u.genre missing or not 19 genres; using the standard ml-100k names")
            return list(fmt.GENRES_100K)
        return [str(n) for n in frame.sort_values("index")["name"]]

    def _add_links(self, movies: pd.DataFrame) -> pd.DataFrame:
        links = self.read(fmt.LINKS_SPEC, partial(_positive, cols=("movieId",)), ("movieId",),
                          "duplicate movieId")
        if links is None:
            return movies
        known = links["movieId"].isin(movies["movieId"]).to_numpy()
        if not known.all():
            log.warning("links.csv: ignored %d link(s) for movies not in movies.csv",
                        int((~known).sum()))
        by_movie = links[known].set_index("movieId")
        for col in ("imdbId", "tmdbId"):
            movies[col] = pd.array(movies["movieId"].map(by_movie[col]), dtype="Int64")
        return movies


def _unify(genres: Sequence[str]) -> list[str]:
    out: list[str] = []
    for g in genres:
        name = fmt.normalise_genre(g)
        if name is not None and name not in out:
            out.append(name)
    return out


def _positive(frame: pd.DataFrame, cols: tuple[str, ...]) -> list[Check]:
    return [(frame[c].to_numpy() <= 0, f"non-positive {c}", "a positive integer") for c in cols]


def _unknown(frame: pd.DataFrame, col: str, ids: np.ndarray, problem: str, member: str) -> Check:
    known = pd.Index(ids).get_indexer(frame[col].to_numpy()) >= 0
    return ~known, problem, f"a {col} listed in {member}"


def _flag_checks(frame: pd.DataFrame) -> list[Check]:
    flags = frame[[f"g{i}" for i in range(19)]].to_numpy()
    bad = ((flags != 0) & (flags != 1)).any(axis=1)
    return [*_positive(frame, ("movieId",)), (bad, "bad genre flag", "19 genre flags, each 0 or 1")]


def _gender(frame: pd.DataFrame) -> Check:
    return ~frame["gender"].isin(["M", "F"]).to_numpy(), "bad gender", "M or F"


def _users_100k_checks(frame: pd.DataFrame) -> list[Check]:
    age = frame["age"].to_numpy()
    return [*_positive(frame, ("userId",)), ((age < 1) | (age > 120), "age out of range",
                                            "an age in years, 1 to 120"), _gender(frame)]


def _users_1m_checks(frame: pd.DataFrame) -> list[Check]:
    age, occ = frame["age"].to_numpy(), frame["occupation"].to_numpy()
    return [
        *_positive(frame, ("userId",)),
        _gender(frame),
        (~np.isin(age, fmt.AGES_1M), "unknown age code",
         f"one of {', '.join(map(str, fmt.AGES_1M))}"),
        ((occ < 0) | (occ >= len(fmt.OCCUPATIONS_1M)), "unknown occupation code",
         "an occupation code 0..20"),
    ]

