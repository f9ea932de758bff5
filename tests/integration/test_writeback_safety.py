"""Issue 11 items 2 and 6: one write-back at a time (a lease in the database), orphan runs.

The graph is the bundled ml-latest-small cut to 40 users and the 2,510 movies they rated,
loaded once per module; runs are small BPR-MF outputs (8-d vectors, top-5).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.graphdb import Runner
from engine.graphdb.export import export_subgraph
from engine.graphdb.lease import Lease, LeaseHeldError
from engine.graphdb.writeback import write_back
from engine.schema import SLOTS
from engine.writeback import RunOutput, save_run_output
from loader import bundled_dataset, read_movielens
from loader.dataset import MovieLensData
from loader.ingest import load_dataset, wipe
from tests.integration._cli import engine
from tests.integration.test_writeback import bpr_run, q, runs

N_USERS = 40
VECTOR_INDEXES = ("user_embedding", "movie_embedding", "user_embedding_b", "movie_embedding_b")


def small() -> MovieLensData:
    full = read_movielens(bundled_dataset())
    ratings = full.ratings[full.ratings["userId"] <= N_USERS].reset_index(drop=True)
    movies = full.movies[full.movies["movieId"].isin(ratings["movieId"])].reset_index(drop=True)
    tags = full.tags[(full.tags["userId"] <= N_USERS) & full.tags["movieId"].isin(movies["movieId"])]
    return MovieLensData(
        name="ml-latest-small-80u", layout=full.layout, source=full.source, md5=None,
        users=full.users[full.users["userId"] <= N_USERS].reset_index(drop=True),
        movies=movies, ratings=ratings, tags=tags.reset_index(drop=True))


@pytest.fixture(scope="module")
def graph(neo4j_server, driver):  # type: ignore[no-untyped-def]
    db = neo4j_server.settings.database
    wipe(Runner(driver, db))
    for name in VECTOR_INDEXES:
        driver.execute_query("DROP INDEX $name IF EXISTS", name=name, database_=db)
    load_dataset(Runner(driver, db), small(), progress=False)
    exp = export_subgraph(driver, database=db, progress=False)
    base = [bpr_run(exp, "base-0", seed=0, dim=8, k=5), bpr_run(exp, "base-1", seed=1, dim=8, k=5)]
    yield SimpleNamespace(driver=driver, exp=exp, base=base, settings=neo4j_server.settings)
    wipe(Runner(driver, db))


def renamed(out: RunOutput, run_id: str) -> RunOutput:
    return replace(out, run_id=run_id)


def assert_consistent(driver, allowed: set[str]) -> str:  # type: ignore[no-untyped-def]
    """Exactly one current run, complete, whose slot, properties and indexes all agree."""
    state = runs(driver)
    current = [r for r, s in state.items() if s["current"]]
    assert len(current) == 1, state
    (run_id,) = current
    assert run_id in allowed and state[run_id]["status"] == "complete", state
    slots = [s["embeddingSlot"] for s in state.values() if s["embeddingSlot"] is not None]
    assert len(slots) == len(set(slots)), f"two runs claim one slot: {state}"
    props = q(driver, "MATCH (r:ModelRun {current: true}) RETURN r.embeddingSlot AS slot, "
              "r.embeddingProperty AS p, r.userIndex AS u, r.movieIndex AS m, r.embeddingDim AS d")[0]
    slot = SLOTS[props["slot"]]
    assert (props["p"], props["u"], props["m"]) == (slot.property, slot.user_index, slot.movie_index)
    indexes = {r["name"]: r for r in q(driver, "SHOW VECTOR INDEXES YIELD name, state, properties, "
                                       "options RETURN name, state, properties, options")}
    for name in (slot.user_index, slot.movie_index):
        assert indexes[name]["state"] == "ONLINE" and indexes[name]["properties"] == [slot.property]
        assert indexes[name]["options"]["indexConfig"]["vector.dimensions"] == props["d"]
    counts = Runner(driver, "neo4j").write("writeback/run_counts", runId=run_id)[0]
    assert counts["userVectors"] == N_USERS and counts["users"] == N_USERS, counts
    assert q(driver, "MATCH (l:WritebackLease) RETURN count(l) AS n")[0]["n"] == 0
    return run_id


def race(driver, pair: list[RunOutput], waits: list[float | None]) -> dict[int, object]:  # type: ignore[no-untyped-def]
    """Start two write-backs at the same instant; each one's summary or exception."""
    gate = threading.Barrier(2)
    outcome: dict[int, object] = {}

    def writer(j: int) -> None:
        gate.wait()
        try:
            outcome[j] = write_back(driver, pair[j], keep_runs=2, progress=False, wait_s=waits[j])
        except Exception as exc:  # noqa: BLE001 - recorded and checked by the caller
            outcome[j] = exc

    threads = [threading.Thread(target=writer, args=(j,)) for j in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return outcome


def test_two_write_backs_at_once_leave_one_consistent_current_run_every_time(graph) -> None:  # type: ignore[no-untyped-def]
    driver = graph.driver
    write_back(driver, renamed(graph.base[0], "t-start"), keep_runs=1, progress=False)
    refused = 0
    for i in range(20):
        pair = [renamed(graph.base[0], f"t{i}-a"), renamed(graph.base[1], f"t{i}-b")]
        # Even tries: both queue (--wait); odd tries: the second writer does not wait.
        waits = [30.0, 30.0 if i % 2 == 0 else None]
        outcome = race(driver, pair, waits)
        errors = [o for o in outcome.values() if isinstance(o, Exception)]
        assert all(isinstance(e, LeaseHeldError) for e in errors), errors
        if i % 2 == 0:
            assert not errors, errors
        refused += len(errors)
        assert "another write-back is running" in "".join(str(e) for e in errors) or not errors
        written = {o.run_id for o in outcome.values() if not isinstance(o, Exception)}
        assert assert_consistent(driver, written) in written
        assert len(runs(driver)) <= 2
    assert refused >= 1, "the no-wait writer never met the lease: the writers did not overlap"


def test_a_held_lease_refuses_a_second_writer_and_an_expired_one_is_taken_over(
        graph, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    driver = graph.driver
    run_dir = save_run_output(renamed(graph.base[1], "held-1"), tmp_path / "held-1")
    holder = Lease(Runner(driver), ttl_s=60)
    holder.acquire()
    try:
        result = engine(graph.settings, "writeback", str(run_dir), "--no-progress")
        assert result.exit_code == 1, result.output
        assert "another write-back is running" in result.output and "--wait" in result.output
        assert holder.owner in result.output and "Traceback" not in result.output
        assert "held-1" not in runs(driver)
    finally:
        holder.release()

    # A crashed writer: its lease was never released, and expired.
    driver.execute_query("CREATE (:WritebackLease {name: 'writeback', owner: 'dead-host:1:0000', "
                         "acquiredAt: datetime() - duration('PT5M'), "
                         "expiresAt: datetime() - duration('PT1M')})")
    result = engine(graph.settings, "writeback", str(run_dir), "--no-progress")
    assert result.exit_code == 0, result.output
    assert assert_consistent(driver, {"held-1"}) == "held-1"


def test_a_writer_that_lost_its_lease_cannot_claim_or_switch(graph) -> None:  # type: ignore[no-untyped-def]
    driver, db = graph.driver, Runner(graph.driver)
    write_back(driver, renamed(graph.base[0], "lost-0"), keep_runs=1, progress=False)
    stale = Lease(db, ttl_s=1)
    assert stale.try_acquire()["acquired"]
    driver.execute_query("MATCH (l:WritebackLease) SET l.expiresAt = datetime() - duration('PT1S')")
    taker = Lease(db, ttl_s=60)
    assert taker.try_acquire()["acquired"]
    try:
        assert db.write("writeback/switch", **stale.params, runId="lost-0") == []
        assert db.write("writeback/run_claim_slot", **stale.params, runId="lost-0", slot="b",
                        property="embeddingB", userIndex="user_embedding_b",
                        movieIndex="movie_embedding_b", dim=8) == []
        assert not stale.try_acquire()["acquired"]
    finally:
        taker.release()
    assert assert_consistent(driver, {"lost-0"}) == "lost-0"


def test_orphan_runs_are_cleaned_first_and_never_count_toward_keep_runs(graph, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    driver = graph.driver
    write_back(driver, renamed(graph.base[0], "o-1"), keep_runs=1, progress=False)
    write_back(driver, renamed(graph.base[1], "o-2"), keep_runs=3, progress=False)
    original = Runner.write

    calls = {"n": 0}

    def crash(self, name, /, **params):  # type: ignore[no-untyped-def]
        if name in ("writeback/recommended_create", "writeback/recommended_batch"):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt  # the writer is killed mid-edges
        return original(self, name, **params)

    monkeypatch.setattr(Runner, "write", crash)
    with pytest.raises(KeyboardInterrupt):
        write_back(driver, renamed(graph.base[0], "o-orphan"), keep_runs=3, batch_size=50,
                   progress=False)
    monkeypatch.setattr(Runner, "write", original)
    assert runs(driver)["o-orphan"]["status"] == "writing"

    partial = q(driver, "MATCH ()-[r:RECOMMENDED {runId: 'o-orphan'}]->() RETURN count(r) AS n")[0]["n"]
    assert 0 < partial < N_USERS * 5

    summary = write_back(driver, renamed(graph.base[1], "o-3"), keep_runs=2, progress=False)
    assert summary.orphans == ["o-orphan"]
    assert set(runs(driver)) == {"o-3", "o-2"}, "the orphan must not take a kept run's place"
    assert summary.deleted_runs == ["o-1"]
    left = {r["run"] for r in q(driver, "MATCH ()-[r:RECOMMENDED]->() RETURN DISTINCT r.runId AS run")}
    assert left == {"o-3", "o-2"}
    assert assert_consistent(driver, {"o-3"}) == "o-3"
