"""``engine rate``: check every new rating against the graph, then write them batch by batch.

Light on purpose (no model code is imported), so a rating is written in about a second.
"""

from __future__ import annotations

from engine.data.new_ratings import NewRating, check_ratings, scale_for
from engine.errors import InputError, ReelGraphError
from engine.graphdb import Runner, open_driver, spans
from engine.graphdb.live import known_movies, write_ratings
from engine.settings import Neo4jSettings

__all__ = ["BATCH_SIZE", "PartlyWritten", "rate"]

#: Ratings per transaction: a 1M-line file in one transaction outgrows Neo4j's transaction memory.
BATCH_SIZE = 50_000


class PartlyWritten(ReelGraphError):
    """A batch failed after earlier batches had committed (they stay written)."""


def rate(settings: Neo4jSettings, ratings: list[NewRating], *, batch_size: int = BATCH_SIZE) -> int:
    """Check all ``ratings``, then write them ``batch_size`` at a time; returns how many were written.

    Every rating is checked before the first write: off the release's scale, an unknown
    movie, a bad timestamp: :class:`InputError` (exit 2), nothing written. Each batch is one
    transaction and commits on its own; if one fails, the batches before it stay written
    (:class:`PartlyWritten` says how far it got; writing the same ratings again is harmless).
    """
    if batch_size < 1:
        raise InputError(f"batch size {batch_size} must be >= 1")
    with open_driver(settings) as driver:
        db = Runner(driver, settings.database)
        datasets = [r["name"] for r in db.read("load/dataset_get")]
        if not datasets:
            raise InputError("the graph has no loaded dataset (engine load first); nothing was written")
        known = known_movies(db, sorted({r.movie_id for r in ratings}))
        check_ratings(ratings, scale_for(datasets[0]), known)
        written = 0
        bounds = list(spans(len(ratings), batch_size))
        for i, (lo, hi) in enumerate(bounds, 1):
            batch = ratings[lo:hi]
            try:
                written += write_ratings(db, [r.user_id for r in batch], [r.movie_id for r in batch],
                                         [float(r.rating) for r in batch], [int(r.timestamp) for r in batch])
            except ReelGraphError as exc:
                if lo == 0:
                    raise
                err = PartlyWritten(
                    f"batch {i} of {len(bounds)} ({batch[0].where} to {batch[-1].where}) failed, after "
                    f"the {lo} ratings before it were written (batches commit one by one; writing them "
                    f"again is harmless): {exc}")
                err.exit_code = exc.exit_code
                raise err from exc
        return written
