"""Issue 29 items 4 and 9 without a database: a NaN model is never served, and the driver's
retry warning becomes one calm line."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from engine.graphdb.driver import RetryNotice
from engine.jobs.live import NonFiniteScoresError, fold_lists
from engine.models import EASE, load_model
from engine.models.base import CorruptCheckpointError
from tests.unit.test_live import _board, _history


def test_a_checkpoint_holding_nan_is_refused(tmp_path: Path) -> None:
    idmap, train = _board()
    model = EASE(reg=1.0)
    model.fit(train)
    model.save(tmp_path / "model")
    assert np.isfinite(load_model(tmp_path / "model").weights).all()
    with np.load(tmp_path / "model" / "state.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["state__weights"][0, 0] = np.nan
    np.savez(tmp_path / "model" / "state.npz", **arrays)  # type: ignore[arg-type]
    with pytest.raises(CorruptCheckpointError, match=r"state\.npz: weights hold NaN"):
        load_model(tmp_path / "model")


def test_fold_in_that_scores_nan_keeps_the_users_lists() -> None:
    idmap, train = _board()
    model = EASE(reg=1.0)
    model.fit(train)
    model.weights[:] = np.nan  # a diverged model: every score NaN
    with pytest.raises(NonFiniteScoresError, match="user\\(s\\) 500, 501; their lists are kept"):
        fold_lists(model, idmap, _history([[10, 11], [21, 22], [999]]), k=3, with_vectors=False)
    # a user with no movie the model knows is not scored at all: no error, cold start stays
    lists = fold_lists(model, idmap, _history([[999]]), k=3, with_vectors=False)
    assert lists.movies == [[]]


class _Deadlock(Exception):
    code = "Neo.TransientError.Transaction.DeadlockDetected"


def test_the_drivers_retry_warning_becomes_one_info_line(caplog: pytest.LogCaptureFixture) -> None:
    session_log = logging.getLogger("test.neo4j.session")
    session_log.addFilter(RetryNotice())
    caplog.set_level(logging.INFO)
    session_log.warning("Transaction failed and will be retried in %ss (%s)", 0.9,
                        _Deadlock("ForsetiClient[1] can't acquire ExclusiveLock\nWait list: ..."))
    session_log.warning("something else")
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (logging.INFO, "Neo4j: a transaction met a transient error "
            "(Neo.TransientError.Transaction.DeadlockDetected); the driver retried it") in messages
    assert not any("will be retried" in m for _, m in messages)
    assert (logging.WARNING, "something else") in messages


def test_a_killed_lease_holder_of_this_host_is_dead_and_no_other() -> None:
    import subprocess

    from engine.graphdb.lease import holder_is_dead, new_owner

    mine = new_owner()
    host, _, rest = mine.partition(":")
    _, _, tail = rest.partition(":")
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert not holder_is_dead(mine)  # this very process
    assert holder_is_dead(f"{host}:{gone.pid}:{tail}")  # same host and pid namespace, exited
    assert not holder_is_dead(f"{host}:{gone.pid}:abcd1234")  # no namespace: expiry decides
    assert not holder_is_dead(f"other-host:{gone.pid}:{tail}")
    alive = subprocess.Popen(["sleep", "5"])
    try:
        assert not holder_is_dead(f"{host}:{alive.pid}:{tail}")
    finally:
        alive.kill()
        alive.wait()
