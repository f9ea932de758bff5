"""Issue 29 on a real Neo4j: no rating, reload or tampered run may poison the serving graph.

One graph for the module (the bundled ml-latest-small cut to 40 users), trained with the
default model and written back; each test reproduces one item of the issue:

* 1  a rating whose timestamp overflows the live digest (any Cypher client can write one)
  and a rating that is not a number: every other user is still refreshed;
* 3  re-loading the release keeps newer live ratings and never locks the graph;
* 4  a run whose saved model holds NaN is refused by ``engine refresh``; lists stay;
* 5  a write-back folder with NaN scores, or a gate record that claims to pass with a NaN
  metric, never becomes current;
* 9  a deadlock the driver retries is one calm log line, not the driver's warning.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from engine.graphdb import Runner
from engine.graphdb.reader import Reader
from loader.ingest import load_dataset, wipe
from tests.integration._cli import engine
from tests.integration.test_writeback import q
from tests.integration.test_writeback_safety import VECTOR_INDEXES, small

K = 5


@pytest.fixture(scope="module")
def trained(neo4j_server, driver, tmp_path_factory):  # type: ignore[no-untyped-def]
    db = neo4j_server.settings.database
    wipe(Runner(driver, db))
    for name in VECTOR_INDEXES:
        driver.execute_query("DROP INDEX $name IF EXISTS", name=name, database_=db)
    load_dataset(Runner(driver, db), small(), progress=False)
    runs = tmp_path_factory.mktemp("fault-runs")
    result = engine(neo4j_server.settings, "train", "--no-tune", "--top-k", str(K), "--no-progress",
                    "--out", str(runs), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in runs.iterdir() if (p / "config.json").is_file()]
    yield SimpleNamespace(settings=neo4j_server.settings, runs=runs, run_dir=run_dir, driver=driver)
    wipe(Runner(driver, db))


def _current(driver: Any) -> str:
    return str(q(driver, "MATCH (r:ModelRun {current: true}) RETURN r.runId AS id")[0]["id"])


def _unrated(driver: Any, user: int, n: int = 1) -> list[int]:
    rows = q(driver, "MATCH (m:Movie) WHERE NOT EXISTS { (:User {userId: $u})-[:RATED]->(m) } "
             "WITH m ORDER BY m.ratingCount DESC, m.movieId LIMIT $n RETURN m.movieId AS m", u=user, n=n)
    return [r["m"] for r in rows]


def test_engine_rate_refuses_a_timestamp_that_is_not_epoch_seconds(trained) -> None:  # type: ignore[no-untyped-def]
    settings, driver = trained.settings, trained.driver
    before = q(driver, "MATCH ()-[r:RATED]->() RETURN count(r) AS n")[0]["n"]
    result = engine(settings, "rate", "--user", "14", "--movie", str(_unrated(driver, 14)[0]),
                    "--rating", "4", "--timestamp", "9223372036854775807")
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert q(driver, "MATCH ()-[r:RATED]->() RETURN count(r) AS n")[0]["n"] == before


def test_a_poisoned_rating_cannot_stop_other_users_refresh(trained) -> None:  # type: ignore[no-untyped-def]
    settings, driver = trained.settings, trained.driver
    # Item 1: any Cypher client can write a timestamp that overflowed the digest, and a
    # rating that is not a number at all.
    q(driver, "MATCH (u:User {userId: 14}), (m:Movie {movieId: $m}) MERGE (u)-[r:RATED]->(m) "
      "SET r.rating = 4.0, r.timestamp = 9223372036854775807, r.ratedAt = datetime()",
      m=_unrated(driver, 14)[0])
    q(driver, "MATCH (u:User {userId: 15}), (m:Movie {movieId: $m}) MERGE (u)-[r:RATED]->(m) "
      "SET r.rating = 'four', r.timestamp = 1700000000, r.ratedAt = datetime()",
      m=_unrated(driver, 15)[0])
    good = 16
    result = engine(settings, "rate", "--user", str(good), "--movie", str(_unrated(driver, good)[0]),
                    "--rating", "5")
    assert result.exit_code == 0, result.output

    result = engine(settings, "refresh", "--runs", str(trained.runs), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "kept the lists of" in result.output, result.output  # user 15 at least, and says so
    rows = Reader(driver).recommend(good, K)
    assert {r["source"] for r in rows} == {"model:live"} and len(rows) == K, rows
    # the unreadable user keeps the list they had, and nothing else is broken
    kept = Reader(driver).recommend(15, K)
    assert len(kept) == K and {r["source"] for r in kept} == {"model"}, kept
    # a second pass is quiet about what it already reported, and still exits 0
    result = engine(settings, "refresh", "--runs", str(trained.runs), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    q(driver, "MATCH (:User)-[r:RATED]->() WHERE r.timestamp > 4102444800 OR r.rating = 'four' DELETE r")


def test_a_nan_model_state_is_refused_and_lists_stay(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings, driver = trained.settings, trained.driver
    user = 17
    result = engine(settings, "rate", "--user", str(user), "--movie", str(_unrated(driver, user)[0]),
                    "--rating", "4")
    assert result.exit_code == 0, result.output
    before = Reader(driver).recommend(user, K)
    assert len(before) == K

    bad_runs = tmp_path / "runs"
    shutil.copytree(trained.run_dir, bad_runs / trained.run_dir.name)
    state = bad_runs / trained.run_dir.name / "model" / "state.npz"
    with np.load(state, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    poisoned = [k for k, v in arrays.items() if k.startswith("state__") and v.dtype.kind == "f" and v.size]
    assert poisoned, list(arrays)
    arrays[poisoned[0]] = np.full_like(arrays[poisoned[0]], np.nan)
    np.savez(state, **arrays)  # type: ignore[arg-type]

    result = engine(settings, "refresh", "--runs", str(bad_runs))
    assert result.exit_code != 0 and "NaN" in result.output, result.output
    assert "Traceback" not in result.output
    assert Reader(driver).recommend(user, K) == before  # nothing was switched
    # a later good refresh does what the bad one could not
    result = engine(settings, "refresh", "--runs", str(trained.runs), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    after = Reader(driver).recommend(user, K)
    assert len(after) == K and {r["source"] for r in after} == {"model:live"}, after


def test_nan_scores_or_a_forged_gate_never_become_current(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings, driver = trained.settings, trained.driver
    current = _current(driver)
    edges = q(driver, "MATCH ()-[r:RECOMMENDED]->() RETURN count(r) AS n")[0]["n"]
    source = trained.run_dir / "writeback"
    assert (source / "arrays.npz").is_file()

    def variant(name: str, scores: Any = None, gate: Any = None) -> Path:
        folder = tmp_path / name
        shutil.copytree(source, folder)
        meta = json.loads((folder / "run.json").read_text())
        meta["run_id"] = name
        if gate is not None:
            meta["metrics"]["gate"].update(gate)
        (folder / "run.json").write_text(json.dumps(meta))
        if scores is not None:
            with np.load(folder / "arrays.npz", allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            arrays["rec_scores"] = scores(arrays["rec_scores"])
            np.savez(folder / "arrays.npz", **arrays)  # type: ignore[arg-type]
        return folder

    def half_nan(s: np.ndarray) -> np.ndarray:
        s = s.copy()
        s[::2] = np.nan
        return s

    for folder in (variant("nan-scores", scores=half_nan),
                   variant("inf-scores", scores=lambda s: np.full_like(s, np.inf))):
        result = engine(settings, "writeback", str(folder), "--no-progress")
        assert result.exit_code == 2 and "NaN or +inf" in result.output, result.output
    result = engine(settings, "writeback", str(variant("forged-gate", gate={"passed": True,
                                                                         "value": float("nan")})),
                    "--no-progress")
    assert result.exit_code == 1 and "was not made current" in result.output, result.output
    assert _current(driver) == current
    assert q(driver, "MATCH ()-[r:RECOMMENDED]->() RETURN count(r) AS n")[0]["n"] == edges
    assert {r["runId"] for r in q(driver, "MATCH (r:ModelRun) RETURN r.runId AS runId")} == {current}


def test_reload_keeps_newer_live_ratings_and_never_locks(trained) -> None:  # type: ignore[no-untyped-def]
    settings, driver = trained.settings, trained.driver
    pair = q(driver, "MATCH (u:User {userId: 13})-[r:RATED]->(m:Movie) "
             "RETURN m.movieId AS m, r.rating AS rating, r.timestamp AS t ORDER BY m.movieId LIMIT 1")[0]
    new_value = 1.0 if pair["rating"] != 1.0 else 5.0
    result = engine(settings, "rate", "--user", "13", "--movie", str(pair["m"]),
                    "--rating", str(new_value))
    assert result.exit_code == 0, result.output
    result = engine(settings, "rate", "--user", "900013", "--movie", str(pair["m"]), "--rating", "3")
    assert result.exit_code == 0, result.output

    data = small()
    summary = load_dataset(Runner(driver), data, progress=False)  # the documented idempotent reload
    assert summary.live["ratings"] >= 2 and "live" in summary.table()
    got = q(driver, "MATCH (:User {userId: 13})-[r:RATED]->(:Movie {movieId: $m}) "
            "RETURN r.rating AS rating", m=pair["m"])[0]["rating"]
    assert got == new_value  # the live re-rating, not the file's older value
    assert q(driver, "MATCH (:User {userId: 900013})-[r:RATED]->() RETURN count(r) AS n")[0]["n"] == 1
    status = q(driver, "MATCH (d:Dataset) RETURN d.status AS s")[0]["s"]
    assert status == "complete"
    result = engine(settings, "writeback", str(trained.run_dir), "--no-progress")
    assert result.exit_code == 0, result.output  # the graph is not locked


def test_a_retried_deadlock_is_one_calm_line(trained, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    driver = trained.driver
    q(driver, "MERGE (:DeadlockProbe {k: 1}) MERGE (:DeadlockProbe {k: 2})")
    barrier = threading.Barrier(2, timeout=20)
    errors: list[BaseException] = []

    def writer(first: int, second: int) -> None:
        attempts = [0]

        def work(tx: Any) -> None:
            attempts[0] += 1
            tx.run("MATCH (n:DeadlockProbe {k: $k}) SET n.by = $k", k=first).consume()
            if attempts[0] == 1:
                barrier.wait()  # both hold their first lock before taking the second
            tx.run("MATCH (n:DeadlockProbe {k: $k}) SET n.by = $k", k=second).consume()

        try:
            with driver.session() as session:
                session.execute_write(work)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    caplog.set_level(logging.INFO)
    threads = [threading.Thread(target=writer, args=a) for a in ((1, 2), (2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    q(driver, "MATCH (n:DeadlockProbe) DELETE n")
    assert not errors, errors
    retried = [r for r in caplog.records if "the driver retried it" in r.getMessage()]
    assert retried and "DeadlockDetected" in retried[0].getMessage()
    assert all(r.levelno == logging.INFO and "\n" not in r.getMessage() for r in retried)
    assert not [r for r in caplog.records if "will be retried" in r.getMessage()]
