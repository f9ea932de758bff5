"""What-if refreshes: right after a rating in the page, the user's lists are replaced by fold-in.

The app refreshes in its own process with the machinery of ``engine refresh``
(:class:`engine.jobs.live.Refresher`: the current run's saved model kept in memory, the
user's whole history folded in, the new list written under a new version and switched in
one transaction, so a reader sees the old list or the new one, never a mix). For each
what-if it takes the database's refresh lease (the ``live`` lease of
:func:`engine.jobs.live.open_refresher`), refreshes the users whose ratings changed since
just before the rating, and gives the lease back, so an ``engine refresh --watch`` started
later is not locked out. When such a watcher already holds the lease, the app does not
compete: it polls ``live/changed_users`` until the watcher has switched the user's list
(its list version covers the new rating), up to :data:`WATCH_WAIT_S`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from engine.errors import ReelGraphError
from engine.graphdb import Runner
from engine.graphdb.lease import Lease, LeaseHeldError
from engine.graphdb.live import changed_users, current_run, ensure_indexes, now, read_histories
from engine.jobs.live import LIVE_LEASE, Refresher, RefreshError, fold_lists

__all__ = ["WATCH_WAIT_S", "Refreshed", "WhatIfError", "WhatIfRefresh"]

log = logging.getLogger(__name__)

#: Seconds the app waits for a running ``engine refresh --watch`` to switch a user's list.
WATCH_WAIT_S: Final = 15.0


class WhatIfError(ReelGraphError):
    """The rating was written but the user's list could not be refreshed (the message says why)."""


@dataclass(frozen=True)
class Refreshed:
    """How a user's list was refreshed after a what-if rating."""

    mode: Literal["fold-in", "watcher"]
    seconds: float
    users: int  # users refreshed in the pass (fold-in), or 1 (watcher)


class WhatIfRefresh:
    """Refreshes one user's list right after their rating; one refresh at a time (a lock)."""

    def __init__(self, db: Runner, runs_dir: Path, *, wait_s: float = WATCH_WAIT_S,
                 poll_s: float = 0.1) -> None:
        self.db, self.runs_dir, self.wait_s, self.poll_s = db, Path(runs_dir), wait_s, poll_s
        self._lock = threading.Lock()
        self._refresher = Refresher(db, self._lease(), self.runs_dir, report=log.info)
        self.problem: str | None = None  # why what-if ratings cannot be refreshed here (shown in the page)

    def _lease(self) -> Lease:
        return Lease(self.db, name=LIVE_LEASE, what="engine refresh")

    def warm(self, user_id: int | None = None) -> None:
        """Load the current run's model and fold ``user_id`` in (no write), so the first what-if is fast.

        A missing run directory is not fatal: :attr:`problem` says what-if ratings are written
        but not refreshed here.
        """
        ensure_indexes(self.db)
        try:
            loaded = self._refresher.load()
        except RefreshError as exc:
            self.problem = str(exc)
            log.warning("what-if refresh unavailable: %s", exc)
            return
        self.problem = None
        history = read_histories(self.db, [] if user_id is None else [user_id])
        if history.user_ids:
            fold_lists(loaded.model, loaded.idmap, history, int(loaded.run["k"]),
                       with_vectors=loaded.run.get("embeddingProperty") is not None)

    def mark(self) -> str:
        """The database's clock now: pass it to :meth:`refresh` after writing the rating."""
        return now(self.db)

    def refresh(self, user_id: int, since: str) -> Refreshed:
        """Switch ``user_id``'s list to one that folds in their ratings written after ``since``."""
        with self._lock:
            t0 = time.perf_counter()
            lease = self._lease()
            try:
                lease.acquire(wait_s=None)
            except LeaseHeldError:
                return self._wait_for_watcher(user_id, since, t0)
            try:
                self._refresher.lease = lease
                summary = self._refresher.refresh(since)
            except RefreshError as exc:
                self.problem = str(exc)
                raise WhatIfError(f"the rating was written, but the list cannot be refreshed here: {exc}"
                                  ) from exc
            finally:
                lease.release()
            if user_id in summary.skipped:
                raise WhatIfError(f"the rating was written, but the fold-in of user {user_id} failed; "
                                  "their list is kept (see the server log)")
            return Refreshed("fold-in", time.perf_counter() - t0, summary.users)

    def _wait_for_watcher(self, user_id: int, since: str, t0: float) -> Refreshed:
        """Another refresher (``engine refresh --watch``) holds the lease: wait until it switched the user."""
        run = current_run(self.db)
        if run is None:
            raise WhatIfError("the rating was written, but the graph has no model run to refresh against")
        deadline = t0 + self.wait_s
        while True:
            users, _ = changed_users(self.db, str(run["runId"]), since)
            if user_id not in users:
                return Refreshed("watcher", time.perf_counter() - t0, 1)
            if time.perf_counter() >= deadline:
                raise WhatIfError(
                    f"the rating was written; another refresher (engine refresh --watch) holds the refresh "
                    f"lease but has not switched user {user_id}'s list within {self.wait_s:.0f}s: the list "
                    "shown is the one readers see now")
            time.sleep(self.poll_s)
