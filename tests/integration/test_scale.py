"""Issue 13 on a real Neo4j: a catalogue beyond the dense limit trains with the defaults.

A SYNTHETIC graph of 21,000 movies (every one rated at least once, few ratings in all, so
CI stays fast) goes through ``engine train`` with no model named and ``engine recommend``.
The size rule picks the scalable filter; every user gets RECOMMENDED edges, none on a movie
they rated, and every user and movie gets a vector in the index.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd

from engine.graphdb import Runner
from engine.models.sizing import DENSE_MAX_ITEMS, SCALABLE
from loader import MovieLensData, generate_synthetic
from loader.ingest import load_dataset
from tests.integration._cli import engine
from tests.integration._writeback import assert_written_back

USERS, MOVIES = 400, 21_000


def big_catalogue() -> MovieLensData:
    """SYNTHETIC: 400 users x 21,000 movies; the movies nobody drew get one rating each."""
    data = generate_synthetic(users=USERS, movies=MOVIES, ratings=24_000, seed=0)
    r = data.ratings
    missing = np.setdiff1d(np.arange(1, MOVIES + 1), r["movieId"].to_numpy())
    extra = pd.DataFrame({
        "userId": (missing % USERS + 1).astype(r["userId"].dtype),
        "movieId": missing.astype(r["movieId"].dtype),
        "rating": np.full(len(missing), 3.5, dtype=r["rating"].dtype),
        "timestamp": (int(r["timestamp"].max()) + np.arange(len(missing))).astype(r["timestamp"].dtype),
    })
    ratings = pd.concat([r, extra[r.columns]], ignore_index=True)
    return dataclasses.replace(data, ratings=ratings.sort_values(["userId", "movieId"], ignore_index=True))


def test_default_train_and_recommend_beyond_the_dense_limit(  # type: ignore[no-untyped-def]
        neo4j_server, clean_graph, tmp_path) -> None:
    data = big_catalogue()
    assert data.ratings["movieId"].nunique() == MOVIES > 20_000 > DENSE_MAX_ITEMS
    load_dataset(Runner(clean_graph), data, progress=False)
    runs = tmp_path / "runs"
    result = engine(neo4j_server.settings, "train", "--top-k", "10", "--no-progress",
                    "--out", str(runs), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"default model for {MOVIES:,} movies: {SCALABLE}" in result.output
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == SCALABLE
    run = config["runId"]
    assert_written_back(clean_graph, run, users=USERS, k=10, movies=MOVIES)
    rec, _, _ = clean_graph.execute_query(
        "SHOW VECTOR INDEXES YIELD name, state, options RETURN name, state, options")
    dims = {r["name"]: r["options"]["indexConfig"]["vector.dimensions"] for r in rec}
    assert any(name.startswith("movie_embedding") and d == 64 for name, d in dims.items()), dims

    shown = engine(neo4j_server.settings, "recommend", "--user", "7", "-k", "5", "--format", "json",
                   catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.output)
    rated, _, _ = clean_graph.execute_query(
        "MATCH (:User {userId: 7})-[:RATED]->(m) RETURN collect(m.movieId) AS ids")
    assert len(rows) == 5 and all(r["source"] == "model" and r["runId"] == run for r in rows)
    assert not {r["movieId"] for r in rows} & set(rated[0]["ids"])
