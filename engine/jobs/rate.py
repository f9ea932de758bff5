"""``engine rate``: check new ratings against the graph, then write them in one transaction.

Light on purpose (no model code is imported), so a rating is written in about a second.
"""

from __future__ import annotations

from engine.data.new_ratings import NewRating, check_ratings, scale_for
from engine.errors import InputError
from engine.graphdb import Runner, open_driver
from engine.graphdb.live import known_movies, write_ratings
from engine.settings import Neo4jSettings

__all__ = ["rate"]


def rate(settings: Neo4jSettings, ratings: list[NewRating]) -> int:
    """Check and write ``ratings`` (one transaction); returns how many were written.

    Off the release's scale, an unknown movie: :class:`InputError` (exit 2), nothing written.
    """
    with open_driver(settings) as driver:
        db = Runner(driver, settings.database)
        datasets = [r["name"] for r in db.read("load/dataset_get")]
        if not datasets:
            raise InputError("the graph has no loaded dataset (engine load first); nothing was written")
        known = known_movies(db, sorted({r.movie_id for r in ratings}))
        check_ratings(ratings, scale_for(datasets[0]), known)
        return write_ratings(db, [r.user_id for r in ratings], [r.movie_id for r in ratings],
                             [float(r.rating) for r in ratings], [int(r.timestamp) for r in ratings])
