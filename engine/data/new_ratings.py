"""New ratings from a person or a file, checked before anything is written (pure, no IO but reading the file).

``engine rate --user U --movie M --rating R`` gives one :class:`NewRating`; ``engine rate
--file ratings.csv`` a batch, from a UTF-8 CSV (a byte order mark is dropped) with the header
``userId,movieId,rating`` and an optional ``timestamp`` column (epoch seconds, 0 to 2^35;
default: now), each (userId, movieId) pair once. Every problem is reported as
``FILE line N: what is wrong; expected ...`` and nothing is written.
"""

from __future__ import annotations

import csv
import io
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InputError
from engine.schema import MAX_TIMESTAMP

__all__ = ["MAX_TIMESTAMP", "NewRating", "RatingScale", "check_ratings", "read_ratings_csv", "scale_for"]

COLUMNS = ("userId", "movieId", "rating")
EXPECTED = "expected userId,movieId,rating[,timestamp] with integer ids, a number and epoch seconds"


@dataclass(frozen=True)
class RatingScale:
    """The ratings a release allows: ``low..high`` in steps of ``step``."""

    low: float
    high: float
    step: float

    def allows(self, value: float) -> bool:
        """``value`` is ``low + k * step`` for a whole ``k`` (to 1e-12 relative: 4.0000000001 is not 4)."""
        if not math.isfinite(value) or value < self.low or value > self.high:
            return False
        nearest = self.low + round((value - self.low) / self.step) * self.step
        return math.isclose(value, nearest, rel_tol=1e-12, abs_tol=1e-12)

    def describe(self) -> str:
        return f"{self.low:g} to {self.high:g} in steps of {self.step:g}"


#: MovieLens scales: ml-100k and ml-1m use whole stars; every other release (and the
#: SYNTHETIC generator) half stars.
WHOLE_STARS = RatingScale(1.0, 5.0, 1.0)
HALF_STARS = RatingScale(0.5, 5.0, 0.5)


def scale_for(dataset: str | None) -> RatingScale:
    """The rating scale of the release loaded as ``dataset`` (its :Dataset name, e.g. ``ml-100k``)."""
    return WHOLE_STARS if re.match(r"ml-(100k|1m)(\b|$)", (dataset or "").lower()) else HALF_STARS


@dataclass(frozen=True)
class NewRating:
    """One rating to write; ``where`` says where it came from (for error messages)."""

    user_id: int
    movie_id: int
    rating: float
    timestamp: int
    where: str = "command line"


def _int(text: str, what: str, where: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InputError(f"{where}: {what} {text!r} is not an integer; {EXPECTED}") from None


def _timestamp_problem(stamp: int) -> str | None:
    if 0 <= stamp <= MAX_TIMESTAMP:
        return None
    return f"timestamp {stamp} is not epoch seconds (0 to 2^35)"


def _text(path: Path) -> str:
    """The file decoded as UTF-8 (a byte order mark dropped); a bad byte names its line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path} line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 text; "
                         "expected UTF-8 (save the file as UTF-8)") from None


def read_ratings_csv(path: Path, *, now: int | None = None) -> list[NewRating]:
    """The ratings of a CSV file (header ``userId,movieId,rating[,timestamp]``), all checked.

    Refused with :class:`InputError` (``FILE line N: ...``): text that is not UTF-8, a bad
    header or field, a timestamp outside 0..2^35 seconds, a (userId, movieId) pair given twice.
    """
    now = int(time.time()) if now is None else now
    out: list[NewRating] = []
    first: dict[tuple[int, int], int] = {}  # (userId, movieId) -> the line that gave it
    reader = csv.reader(io.StringIO(_text(path), newline=""))
    header = [h.strip() for h in next(reader, [])]
    if header[:3] != list(COLUMNS) or header[3:] not in ([], ["timestamp"]):
        raise InputError(f"{path} line 1: header {','.join(header) or '(empty)'!r}; {EXPECTED}")
    for row in reader:
        where = f"{path} line {reader.line_num}"
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{where}: {len(row)} fields, not {len(header)}; {EXPECTED}")
        try:
            rating = float(row[2])
        except ValueError:
            raise InputError(f"{where}: rating {row[2]!r} is not a number; {EXPECTED}") from None
        stamp = _int(row[3], "timestamp", where) if len(row) > 3 and row[3].strip() else now
        if (problem := _timestamp_problem(stamp)) is not None:
            raise InputError(f"{where}: {problem}; {EXPECTED}")
        user, movie = _int(row[0], "userId", where), _int(row[1], "movieId", where)
        earlier = first.setdefault((user, movie), reader.line_num)
        if earlier != reader.line_num:
            raise InputError(f"{where}: userId {user}, movieId {movie} already given on line {earlier}; "
                             "expected each (userId, movieId) pair once; nothing was written")
        out.append(NewRating(user, movie, rating, stamp, where))
    if not out:
        raise InputError(f"{path}: no ratings; {EXPECTED}")
    return out


def check_ratings(ratings: list[NewRating], scale: RatingScale, known_movies: set[int]) -> None:
    """Raise :class:`InputError` on the first rating off ``scale`` or of an unknown movie."""
    for r in ratings:
        if not scale.allows(r.rating):
            raise InputError(f"{r.where}: rating {r.rating:g} is off the loaded release's scale "
                             f"({scale.describe()}); nothing was written")
        if r.movie_id not in known_movies:
            raise InputError(f"{r.where}: movieId {r.movie_id} is not in the graph; nothing was written "
                             "(engine recommend/similar list movieIds)")
        if (problem := _timestamp_problem(r.timestamp)) is not None:
            raise InputError(f"{r.where}: {problem}; nothing was written")
