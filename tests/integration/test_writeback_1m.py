"""Issue 16: readers never see an empty or mixed run during a write-back at 1M-rating scale.

A SYNTHETIC graph of 1M ratings (6,501 users x 8,559 movies, the latency benchmark's shape)
holds a current run; a second run (top-20 for every user, 64-d vectors, SIMILAR top-10) is
written back and switched, and the old run deleted, while reader threads loop over
``recommend/for_user`` and ``similar_movies`` for random users and movies. Every read must
return k rows from one run, and the readers must cross the switch.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from engine.graphdb import Runner
from engine.graphdb.export import export_subgraph
from engine.graphdb.live import now
from engine.graphdb.reader import Reader
from engine.graphdb.recommended import unstamped_ratings
from engine.graphdb.writeback import write_back
from engine.models.bpr_mf import BPRMF
from engine.writeback import build_run_output
from engine.writeback.rated import KnownRatings
from loader import generate_synthetic
from loader.ingest import load_dataset, wipe

USERS, MOVIES, RATINGS = 6_501, 8_559, 1_000_000


@pytest.fixture(scope="module")
def big(neo4j_server, driver):  # type: ignore[no-untyped-def]
    if not neo4j_server.owned and os.environ.get("REELGRAPH_TEST_ALLOW_WIPE") != "1":
        pytest.fail("refusing to wipe an external server: set REELGRAPH_TEST_ALLOW_WIPE=1")
    db = Runner(driver, neo4j_server.settings.database)
    wipe(db)
    data = generate_synthetic(users=USERS, movies=MOVIES, ratings=RATINGS, seed=0)
    load_dataset(db, data, progress=False)
    as_of, unstamped = now(db), unstamped_ratings(db)
    exp = export_subgraph(driver, progress=False)
    # what engine train hands the write-back: the new run takes the flat, lock-disjoint path
    yield exp, data.name, KnownRatings.from_interactions(exp.interactions, exp.idmap, as_of, unstamped)
    wipe(db)


def _run(exp, dataset: str, run_id: str, seed: int):  # type: ignore[no-untyped-def]
    model = BPRMF(dim=64, epochs=1, seed=seed, batch_size=65_536)
    model.fit(exp.interactions)
    config = {"runId": run_id, "model": model.name, "params": model.get_params(), "dataset": dataset}
    return build_run_output(model, exp.idmap, config, {"note": "test"}, k=20, similar_k=10)


def test_readers_never_see_an_empty_or_mixed_run_at_1m_ratings(big, driver) -> None:  # type: ignore[no-untyped-def]
    exp, dataset, known = big
    assert len(exp.interactions) == RATINGS
    write_back(driver, _run(exp, dataset, "m-old", 1), progress=False, force=True)
    new = _run(exp, dataset, "m-new", 2)
    reader = Reader(driver)
    rng = np.random.default_rng(0)
    users = exp.idmap.users[rng.choice(USERS, 200, replace=False)].tolist()
    movies = exp.idmap.movies[rng.choice(MOVIES, 50, replace=False)].tolist()
    done, lock = threading.Event(), threading.Lock()
    seen: list[str] = []
    problems: list[str] = []

    def read_loop(offset: int) -> None:
        i, extra = offset, 0
        while extra < 3:
            user, movie = users[i % len(users)], movies[i % len(movies)]
            rows = reader.recommend(user, k=10)
            runs = {r["runId"] for r in rows}
            similar = reader.similar_movies(movie, k=5)
            with lock:
                if len(rows) != 10 or len(runs) != 1 or any(r["source"] != "model" for r in rows):
                    problems.append(f"user {user}: {len(rows)} rows, runs {runs}")
                if len(similar) != 5:
                    problems.append(f"movie {movie}: {len(similar)} similar")
                seen.extend(runs)
            i += 4
            if done.is_set():
                extra += 1

    threads = [threading.Thread(target=read_loop, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        summary = write_back(driver, new, keep_runs=1, progress=False, force=True, known=known)
    finally:
        done.set()
        for t in threads:
            t.join(timeout=300)
    assert summary.recommended == USERS * 20 and "m-old" in summary.deleted_runs
    assert summary.rated_check == "writer"
    assert not problems, problems[:5]
    assert {"m-old", "m-new"} <= set(seen), "the readers must have run across the switch"
    rec, _, _ = driver.execute_query("MATCH (r:ModelRun) RETURN collect(r.runId) AS runs")
    assert rec[0]["runs"] == ["m-new"]
