"""The ``:ModelRun`` nodes a write-back leaves behind: orphans cleaned first, old runs pruned.

Both run under the write-back lease (:mod:`engine.graphdb.lease`), so no other writer is
working meanwhile:

* :func:`clean_orphans` -- a run still ``writing`` (or ``deleting``) when a writer holds
  the lease was left by a writer that crashed or was killed: its edges and node are
  deleted before anything else, and it never counts toward ``--keep-runs``. (The run
  being written now is not an orphan: writing it again resumes it.)
* :func:`prune` -- keeps the new run and the ``keep_runs - 1`` most recently switched
  *complete* runs; every other run is first hidden from readers (``run_retire``), then its
  edges are deleted in batches, then its node.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from engine.graphdb.runner import Runner, spans

log = logging.getLogger(__name__)

#: Seconds to wait before deleting the run that was current until this write-back's
#: switch, so that readers that picked it just before the switch finish their query.
SWITCH_GRACE_S: Final = 2.0
#: Statuses of a run whose write-back (or deletion) did not finish.
UNFINISHED: Final = ("writing", "deleting")


#: Concurrent write-back transactions for RECOMMENDED / SIMILAR edges, written and deleted
#: (each batch holds disjoint users, or movies, as start nodes): 1.67x the edges/s of one
#: writer at 1M SYNTHETIC ratings on 2 cores; 4 writers are no faster than 2.
WRITERS = 2


def delete_run_edges(db: Runner, run_ids: list[str], batch_size: int, progress: bool) -> int:
    """Delete the edges of ``run_ids``: batches of users / movies, :data:`WRITERS` at a time."""
    deleted = 0
    for name, ids_query, per in (("writeback/recommended_delete", "writeback/user_ids", 20),
                                 ("writeback/similar_delete", "writeback/movie_ids", 20)):
        ids = db.column(ids_query)
        step = max(1, batch_size // per)
        deleted += db.batches(
            name, ({"ids": ids[lo:hi].tolist(), "runIds": run_ids} for lo, hi in spans(len(ids), step)),
            total=len(ids), desc=f"delete {name.rsplit('/', 1)[1].split('_')[0]} edges",
            progress=progress, count="deleted", size_key="ids", workers=WRITERS,
        )
    return deleted


def _delete_runs(db: Runner, victims: list[str], batch_size: int, progress: bool) -> None:
    db.write("writeback/run_retire", runIds=victims)
    delete_run_edges(db, victims, batch_size, progress)
    db.write("writeback/run_delete", runIds=victims)


def clean_orphans(db: Runner, run_id: str, batch_size: int, progress: bool) -> list[str]:
    """Delete runs left ``writing``/``deleting`` by a dead writer (never ``run_id``)."""
    orphans = [r["runId"] for r in db.write("writeback/runs")
               if r["status"] in UNFINISHED and not r["current"] and r["runId"] != run_id]
    if orphans:
        log.warning("deleting %d run(s) left unfinished by an earlier write-back: %s",
                    len(orphans), ", ".join(orphans))
        _delete_runs(db, orphans, batch_size, progress)
    return orphans


def prune(db: Runner, run_id: str, keep_runs: int, previous: str | None, batch_size: int,
          progress: bool) -> list[str]:
    """Delete every run but ``run_id`` and the ``keep_runs - 1`` latest complete ones."""
    runs = db.write("writeback/runs")  # most recently switched/started first
    complete = [r["runId"] for r in runs if r["status"] == "complete" and r["runId"] != run_id]
    keep = {run_id, *complete[: keep_runs - 1]}
    victims = [r["runId"] for r in runs if r["runId"] not in keep and not r["current"]]
    if not victims:
        return []
    if previous in victims:
        db.write("writeback/run_retire", runIds=victims)
        time.sleep(SWITCH_GRACE_S)  # readers that picked it just before the switch
    _delete_runs(db, victims, batch_size, progress)
    log.info("deleted %d old run(s): %s", len(victims), ", ".join(victims))
    return victims
