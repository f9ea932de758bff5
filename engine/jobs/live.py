"""``engine refresh``: a user's new ratings count within seconds, without retraining.

(``engine rate``, which writes them, is :mod:`engine.jobs.rate`.) ``refresh`` loads the current
run's saved model from its run directory, finds the users whose ratings changed after the
run's export, folds their whole history into the model (:meth:`Recommender.fold_in`: no
retraining) and replaces their top-K inside the current run, one set of users at a time
(:mod:`engine.graphdb.live` says how readers never see a partial list). ``--watch`` keeps
the model in memory and polls every second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.interactions import IdMap, Interactions
from engine.errors import ReelGraphError
from engine.graphdb import (
    STATEMENT_ERRORS,
    GraphConnectionError,
    GraphQueryError,
    Runner,
    is_transient,
    open_driver,
    spans,
    translate,
)
from engine.graphdb.lease import Lease, LeaseLostError, hold
from engine.graphdb.live import (
    GRACE_S,
    History,
    LiveLists,
    NotCurrentError,
    changed_users,
    current_run,
    delete_superseded,
    ensure_indexes,
    next_version,
    read_histories,
    switch_users,
    write_lists,
)
from engine.models.base import Recommender
from engine.settings import Neo4jSettings
from engine.training.checkpoint import load_run

__all__ = ["RefreshSummary", "Refresher", "fold_lists", "history_interactions", "open_refresher", "refresh"]

log = logging.getLogger(__name__)

Report = Callable[[str], None]

LIVE_LEASE = "live"


class RefreshError(ReelGraphError):
    """There is nothing to refresh against (no current run, or its run directory is missing)."""


class NonFiniteScoresError(ReelGraphError):
    """A fold-in scored a user NaN or +inf; that user's list is left as it was."""


#: Failures caused by one user's data or scores (isolated user by user); anything else is raised.
_DATA_ERRORS: tuple[type[Exception], ...] = (NonFiniteScoresError, GraphQueryError, ValueError,
                                             TypeError, ArithmeticError, *STATEMENT_ERRORS)


def history_interactions(history: History, idmap: IdMap) -> Interactions:
    """``history`` as :class:`Interactions` over users ``0..n-1`` and the model's movies.

    Movies the model was not trained on (added since) are left out.
    """
    users, items, ratings, stamps = [], [], [], []
    for j, movies in enumerate(history.movies):
        pos, ok = idmap.find_movies(movies)
        users.append(np.full(int(ok.sum()), j, dtype=np.int64))
        items.append(pos[ok])
        ratings.append(history.ratings[j][ok])
        stamps.append(history.timestamps[j][ok])

    def cat(parts: list[np.ndarray], dt: type) -> np.ndarray:
        return np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)

    return Interactions(cat(users, np.int64), cat(items, np.int64), cat(ratings, np.float32),
                        cat(stamps, np.int64), len(history.user_ids), idmap.num_movies)


def fold_lists(model: Recommender, idmap: IdMap, history: History, k: int, *,
               with_vectors: bool) -> LiveLists:
    """Top-``k`` of each user in ``history`` by fold-in (pure: no database)."""
    inter = history_interactions(history, idmap)
    n = len(history.user_ids)
    folded = model.fold_in(inter)
    users = np.arange(n, dtype=np.int64)
    items, scores = folded.recommend(users, k=k) if n else (np.zeros((0, 0), np.int64),
                                                            np.zeros((0, 0), np.float32))
    reasons = folded.reasons(users, items) if n else None
    emb = folded.embeddings() if with_vectors and n else None
    has_rows = np.bincount(inter.user, minlength=n) > 0
    vectors = None
    if emb is not None:  # a user with no movie the model knows has no vector (it is removed)
        vectors = [row.tolist() if has_rows[j] else None
                   for j, row in enumerate(emb[0].astype(np.float64))]
    broken = [history.user_ids[j] for j in range(n)
              if has_rows[j] and (np.isnan(scores[j]).any() or np.isposinf(scores[j]).any())]
    if broken:  # never replace a good list with an empty one
        raise NonFiniteScoresError(f"fold-in gave NaN or infinite scores for user(s) "
                                   f"{', '.join(map(str, broken[:5]))}; their lists are kept")
    lists = LiveLists(list(history.user_ids), [], [], [] if model.task == "rating" else None,
                      [] if reasons is not None else None, vectors)
    for j in range(n):
        ok = np.isfinite(scores[j]) & has_rows[j]  # no known rating: cold start stays
        lists.movies.append(idmap.movies[items[j][ok]].tolist())
        lists.scores.append(scores[j][ok].astype(np.float64).tolist())
        if lists.ratings is not None:
            lists.ratings.append(scores[j][ok].astype(np.float64).tolist())
        if lists.reasons is not None and reasons is not None:
            why = reasons[j][ok]
            lists.reasons.append([int(idmap.movies[r]) if r >= 0 else None for r in why.tolist()])
    return lists


@dataclass
class RefreshSummary:
    """What one refresh did."""

    run_id: str
    users: int = 0  # users switched to a new live list
    personalised: int = 0  # of them, with a non-empty list (they rated a movie the model knows)
    edges: int = 0
    deleted: int = 0  # superseded edges removed
    seconds: float = 0.0
    visible_seconds: float = 0.0  # until the last user's new list was visible
    now: str = ""  # database time of the poll
    skipped: list[int] = field(default_factory=list)  # users whose refresh failed; lists kept


@dataclass
class _Loaded:
    run: dict[str, Any]
    model: Recommender
    idmap: IdMap
    since: str


class Refresher:
    """Refreshes the current run's users whose ratings changed, with the run's model kept in memory.

    It writes only while it holds the database's refresh lease (``lease``, from
    :func:`open_refresher` or :func:`engine.graphdb.lease.hold` with ``name="live"``).
    """

    def __init__(self, db: Runner, lease: Lease, runs_dir: Path, *, batch_users: int = 200,
                 grace_s: float = GRACE_S, report: Report = log.info) -> None:
        self.db, self.lease, self.runs_dir, self.batch_users = db, lease, Path(runs_dir), batch_users
        self.grace_s, self.report = grace_s, report
        self._loaded: _Loaded | None = None
        self._skipped: dict[int, str] = {}  # user -> why they were last skipped (logged once)

    def load(self) -> _Loaded:
        """The current run and its model (loaded again only when the current run changes)."""
        run = current_run(self.db)
        if run is None:
            raise RefreshError("no model run in the graph yet: run engine train first")
        if self._loaded is not None and self._loaded.run["runId"] == run["runId"]:
            self._loaded.run = run
            return self._loaded
        run_dir = self.runs_dir / str(run["runId"])
        if not (run_dir / "config.json").is_file():
            raise RefreshError(f"the current run {run['runId']} has no run directory {run_dir} "
                               "(engine refresh folds new ratings into the model engine train saved "
                               "there); pass --runs with the folder engine train wrote")
        config, model, idmap = load_run(run_dir)
        since = config.get("exportedAt") or config.get("trainedAt") or datetime.now(UTC).isoformat()
        self._loaded = _Loaded(run, model, idmap, str(since))
        self.report(f"refreshing run {run['runId']} ({model.name}, top-{run['k']})")
        return self._loaded

    def refresh(self, since: str | None = None) -> RefreshSummary:
        """One pass: every changed user gets a new list; superseded lists past the grace go."""
        t0 = time.perf_counter()
        live = self.load()
        run_id = str(live.run["runId"])
        users, now = changed_users(self.db, run_id, since or live.since)
        out = RefreshSummary(run_id=run_id, now=now)
        for lo, hi in spans(len(users), self.batch_users):
            self._refresh_isolated(live, users[lo:hi], out)
        out.visible_seconds = time.perf_counter() - t0
        out.deleted = delete_superseded(self.db, self.grace_s)
        out.seconds = time.perf_counter() - t0
        return out

    def _refresh_users(self, live: _Loaded, users: list[int], out: RefreshSummary) -> None:
        run_id, prop = str(live.run["runId"]), live.run.get("embeddingProperty")
        history = read_histories(self.db, users)
        lists = fold_lists(live.model, live.idmap, history, int(live.run["k"]),
                           with_vectors=prop is not None)
        self.lease.check()
        version = next_version(self.db, self.lease, run_id)
        out.edges += write_lists(self.db, self.lease, run_id, version, lists)
        out.users += switch_users(self.db, self.lease, run_id, version, lists, history, prop)
        out.personalised += sum(1 for m in lists.movies if m)

    def _refresh_isolated(self, live: _Loaded, users: list[int], out: RefreshSummary) -> None:
        """Refresh ``users``; one user whose data or scores fail cannot stop the others.

        A batch that fails for a reason other than the server (a statement refused on one
        user's data, a fold-in that scores NaN) is retried user by user; a user that still
        fails keeps the list they have and is reported once. Server and lease failures
        propagate: the whole pass is retried.
        """
        try:
            self._refresh_users(live, users, out)
        except (NotCurrentError, LeaseLostError, GraphConnectionError):
            raise
        except _DATA_ERRORS as exc:  # a user's data or scores; anything else is a bug: raised
            cause = translate(exc)
            if isinstance(cause, GraphConnectionError) or is_transient(exc):
                raise
            if len(users) > 1:
                before = len(out.skipped)
                for user in users:
                    self._refresh_isolated(live, [user], out)
                if len(out.skipped) - before == len(users):
                    raise  # every user fails alone too: not one bad row, a fault to report
                return
            out.skipped.append(users[0])
            message = str(cause or exc).splitlines()[0] if str(cause or exc) else type(exc).__name__
            if self._skipped.get(users[0]) != message:
                log.warning("user %s skipped, their list is kept: %s", users[0], message)
            self._skipped[users[0]] = message

    def watch(self, interval_s: float = 1.0, duration_s: float | None = None,
              on_refresh: Callable[[RefreshSummary], None] | None = None,
              stop: threading.Event | None = None) -> int:
        """Poll every ``interval_s`` until ``duration_s`` (``None``: until interrupted or ``stop``).

        Returns how many users were refreshed. A new current run (a write-back switched) is
        picked up at the next poll, with its own model; a transient server error is
        logged once and retried.
        """
        start = time.monotonic()
        since: str | None = None  # None: from the run's export (again after a new run is switched in)
        run_id = None
        total = 0
        failing = ""
        stop = stop or threading.Event()
        try:
            while (duration_s is None or time.monotonic() - start < duration_s) and not stop.is_set():
                tick = time.monotonic()
                try:
                    summary = self.refresh(since)
                except RefreshError:
                    raise
                except NotCurrentError:
                    self.lease.check()  # a lost lease ends the watch; a new run is loaded next
                    since = None
                    continue
                except Exception as exc:  # noqa: BLE001 - a transient server error: the next poll retries
                    if str(exc) != failing:
                        log.warning("refresh failed, retrying every %.1fs: %s", interval_s, exc)
                    failing = str(exc)
                    time.sleep(interval_s)
                    continue
                failing = ""
                since = summary.now if summary.run_id == run_id or run_id is None else None
                run_id = summary.run_id
                total += summary.users
                if summary.users and on_refresh is not None:
                    on_refresh(summary)
                stop.wait(max(0.0, interval_s - (time.monotonic() - tick)))
        except KeyboardInterrupt:  # Ctrl-C is how a watch ends
            pass
        return total


@contextmanager
def open_refresher(db: Runner, runs_dir: Path, *, wait_s: float | None = None,
                   **kw: Any) -> Iterator[Refresher]:
    """A :class:`Refresher` holding the database's refresh lease for the ``with`` block.

    One refresher per database: a second one fails at once naming the holder (or waits
    ``wait_s``); the indexes it relies on are created first.
    """
    ensure_indexes(db)
    with hold(db, wait_s=wait_s, name=LIVE_LEASE, what="engine refresh") as lease:
        yield Refresher(db, lease, runs_dir, **kw)


def refresh(settings: Neo4jSettings, runs_dir: Path, *, watch: bool = False, interval_s: float = 1.0,
            duration_s: float | None = None, batch_users: int = 200, wait_s: float | None = None,
            report: Report = log.info, stop: threading.Event | None = None) -> RefreshSummary | int:
    """``engine refresh``: one pass (a :class:`RefreshSummary`) or ``watch`` (users refreshed).

    A one-shot pass waits out the grace period at the end so that the lists it superseded
    are deleted, not left behind.
    """
    with open_driver(settings) as driver:
        db = Runner(driver, settings.database)
        with open_refresher(db, runs_dir, wait_s=wait_s, batch_users=batch_users,
                            report=report) as refresher:
            if watch:
                refresher.load()

                def show(s: RefreshSummary) -> None:
                    report(f"{datetime.now(UTC):%H:%M:%S} refreshed {s.users} users "
                           f"({s.personalised} personalised) in {s.visible_seconds:.2f}s")
                return refresher.watch(interval_s, duration_s, on_refresh=show, stop=stop)
            t0 = time.perf_counter()
            summary = refresher.refresh()
            if summary.users:  # the lists just superseded go once no reader can be on them
                time.sleep(refresher.grace_s)
                summary.deleted += delete_superseded(db, refresher.grace_s)
            summary.seconds = time.perf_counter() - t0
            return summary
