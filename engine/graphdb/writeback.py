"""Write a trained model's output back into Neo4j, switching runs atomically for readers.

What lands in the graph (names from :mod:`engine.schema`)::

    (:ModelRun {runId, model, params (JSON), metrics (JSON), dataset, trainedAt, gitSha,
                current, status, switchedAt, k, fingerprint,
                embeddingSlot, embeddingProperty, userIndex, movieIndex, embeddingDim})
    (:User)-[:RECOMMENDED {score, rank, runId, predictedRating?}]->(:Movie)   top-K per user
    (:Movie)-[:SIMILAR {score, runId}]->(:Movie)                              optional
    :User / :Movie vectors in the run's embedding slot, with cosine vector indexes

**Atomic switch.** Every reader (the ``cypher/recommend/`` files) first picks ONE run::

    OPTIONAL MATCH (run:ModelRun) WHERE run.switchedAt IS NOT NULL
    WITH run ORDER BY run.current DESC, run.switchedAt DESC LIMIT 1

and then reads only what that run names: edges with ``r.runId = run.runId`` and vectors
in property ``run.embeddingProperty`` through index ``run.userIndex``/``run.movieIndex``.
A write-back (1) creates its ``:ModelRun`` not current, (2) writes its edges and vectors
in batches, all invisible to readers, (3) awaits the vector indexes, then (4) ONE small
transaction (``writeback/switch``) sets ``current`` on every ``:ModelRun`` (exactly one
true) and stamps ``switchedAt``; (5) runs beyond ``keep_runs`` are first hidden
(``writeback/run_retire``), then their edges deleted in batches, then their nodes.

Why the reader orders instead of trusting ``current`` alone: Neo4j 5 Community gives
read-committed isolation without a snapshot, and a reader CAN observe a committing
transaction half applied (measured here: 13 of 57 scans of 50k nodes saw a mix of two
values while a single transaction updated them all). During the switch a reader may thus
see zero or two current runs; the ``ORDER BY`` then still yields one complete run (the old
one, or the new one), because both runs' edges and vectors are complete at that moment.

**Embeddings: two slots, never swapped in place.** Copying 222k vectors (ML-25M) into
``embedding`` inside the switch transaction would be one huge transaction whose commit
readers could see half applied (the measurement above), so vectors live in one of two
slots: slot ``a`` = property ``embedding`` with indexes ``user_embedding`` /
``movie_embedding`` (:data:`engine.schema.SLOTS`), slot ``b`` =
property ``embeddingB`` with ``user_embedding_b`` / ``movie_embedding_b``. A new run
writes into the slot the current run does NOT use (preferring one no kept run owns; the
first run lands in ``embedding``), clears stale vectors of nodes it does not cover, (re)creates that
slot's indexes after its vectors (one bulk HNSW build), awaits them ONLINE, and the switch makes readers
use it. The superseded run keeps its slot, so re-activating it (``engine writeback`` of
its run directory) is an instant switch. Cost: two vector properties per node at most
(64 floats each, ~60 MB at ML-25M) and no vector is ever written twice.

**Idempotent.** A run is fingerprinted (sha256 of its arrays and metadata). Writing a
complete run again changes nothing (only the switch, if it is not current); a run
interrupted midway is resumed (its edges are then MERGEd on ``runId``; a run never seen
before takes the CREATE fast path, ~1.5x faster); the same ``runId`` with different
output is refused. Movies the user already RATED in the graph are never
recommended, and ranks are renumbered without them (counted in
:attr:`WritebackSummary.dropped_rated`): a new run handed what its export saw
(``known``, as ``engine train`` does) drops them in numpy and writes flat batches in
lock-disjoint phases (:mod:`engine.graphdb.recommended`); otherwise each batch statement
checks the user's RATED edges.

**One writer at a time.** Everything above runs under the database's write-back lease
(:mod:`engine.graphdb.lease`): a second write-back waits for it (``wait_s``) or fails
with :class:`~engine.graphdb.lease.LeaseHeldError`; runs a crashed writer left
``writing`` are deleted first and never count toward ``keep_runs``
(:mod:`engine.graphdb.runs`); claiming a slot and the switch check the lease in their own
transaction. Readers may run at any time.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Final

import neo4j
import numpy as np
import scipy.sparse as sp

from engine.errors import ReelGraphError
from engine.graphdb.binding import check_binding
from engine.graphdb.lease import LEASE_TTL_S, Lease, LeaseLostError, hold
from engine.graphdb.live import ensure_indexes
from engine.graphdb.nodeids import MISSING, NodeIds
from engine.graphdb.recommended import block_columns, flat_edges, flat_phases, rated_now
from engine.graphdb.runner import Runner, spans
from engine.graphdb.runs import WRITERS, clean_orphans, delete_run_edges, prune
from engine.schema import SLOTS, Slot
from engine.writeback.gate import check_gate
from engine.writeback.output import RunOutput, json_default, scores_are_dot_products
from engine.writeback.rated import KnownRatings
from engine.writeback.summary import WritebackSummary

log = logging.getLogger(__name__)

EMBEDDING_BATCH: Final = 2_000


class WritebackError(ReelGraphError):
    """The write-back could not be completed (the previous run stays current)."""


def _rec_params(out: RunOutput, ids: NodeIds, lo: int, hi: int) -> dict[str, Any]:
    """Top-K rows of users ``lo:hi`` as parallel lists of internal ids, best first.

    The -inf tail (fewer than K unseen items) and users or movies gone from the graph
    since training are dropped here; already-rated movies are dropped by the statement.
    """
    users, movies, ratings, reasons = block_columns(out, ids, ids.movies(out.idmap.movies, strict=False),
                                                    lo, hi)
    scores = out.rec_scores[lo:hi]
    p: dict[str, Any] = {"users": [], "movies": [], "scores": [], "ratings": None if ratings is None else [],
                         "reasons": None if reasons is None else []}
    for j, uid in enumerate(users.tolist()):
        ok = np.isfinite(scores[j]) & (movies[j] != MISSING)
        if uid == MISSING:
            continue
        p["users"].append(uid)
        p["movies"].append(movies[j][ok].tolist())
        p["scores"].append(scores[j][ok].astype(np.float64).tolist())
        if ratings is not None:
            p["ratings"].append(ratings[j][ok].astype(np.float64).tolist())
        if reasons is not None:
            p["reasons"].append([None if r == MISSING else r for r in reasons[j][ok].tolist()])
    return p


def _similar_params(out: RunOutput, ids: NodeIds, lo: int, hi: int) -> dict[str, Any]:
    """SIMILAR rows ``lo:hi`` as parallel lists of internal ids (movies gone from the graph dropped)."""
    assert out.similar_items is not None and out.similar_scores is not None
    internal = ids.movies(out.idmap.movies, strict=False)
    movies, others, scores = [], [], []
    for j in range(lo, hi):
        if internal[j] == MISSING:
            continue
        targets = internal[out.similar_items[j]]
        ok = np.isfinite(out.similar_scores[j]) & (targets != MISSING)
        movies.append(int(internal[j]))
        others.append(targets[ok].tolist())
        scores.append(out.similar_scores[j][ok].astype(np.float64).tolist())
    return {"movies": movies, "others": others, "scores": scores}


def _vector_params(internal: np.ndarray, emb: np.ndarray, lo: int, hi: int) -> dict[str, Any]:
    """Vectors ``lo:hi`` by internal node id (nodes gone from the graph dropped)."""
    keep = internal[lo:hi] != MISSING
    return {"ids": internal[lo:hi][keep].tolist(), "vectors": emb[lo:hi][keep].astype(np.float64).tolist()}


def write_back(
    driver: neo4j.Driver,
    out: RunOutput,
    *,
    database: str = "neo4j",
    batch_size: int = 20_000,
    keep_runs: int = 3,
    progress: bool = True,
    wait_s: float | None = None,
    lease_ttl_s: float = LEASE_TTL_S,
    force: bool = False,
    known: KnownRatings | None = None,
) -> WritebackSummary:
    """Write ``out`` into the graph and make it the current run (see the module docstring).

    ``batch_size`` is the number of edges per write transaction (vectors go in batches of
    at most :data:`EMBEDDING_BATCH` nodes); ``keep_runs`` (>= 1) is how many runs, the new
    current one included, keep their edges afterwards. ``wait_s``: how long to wait for
    another write-back's lease (``None``: fail at once with ``LeaseHeldError``).

    Before anything is written, the run must pass its quality gate
    (:func:`engine.writeback.gate.check_gate`) and fit the graph's dataset
    (:func:`engine.graphdb.binding.check_binding`); ``force`` overrides both, with a warning.

    ``known``: every rating the run's users had at its export (an export with no edge
    filter). A new run's already-rated movies are then dropped here, from those plus the
    ratings written since (``ratedAt``), instead of by every write transaction expanding
    every user's ratings; without it (or when the graph holds ratings that neither
    explains) the write statements check.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    if keep_runs < 1:
        raise ValueError("keep_runs must be >= 1 (the current run is always kept)")
    out.validate()
    check_gate(out.metrics, out.run_id, model=out.model, force=force)
    db = Runner(driver, database)
    with hold(db, wait_s=wait_s, ttl_s=lease_ttl_s) as lease:
        ids = NodeIds.read(db)
        check_binding(db, out, ids, force=force)
        return _write_back(db, lease, out, ids, batch_size, keep_runs, progress, known)


def _write_back(db: Runner, lease: Lease, out: RunOutput, ids: NodeIds, batch_size: int,
                keep_runs: int, progress: bool, known: KnownRatings | None = None) -> WritebackSummary:
    summary = WritebackSummary(run_id=out.run_id, action="written")
    t0 = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        summary.seconds[step] = summary.seconds.get(step, 0.0) + now - t0
        t0 = now

    summary.orphans = clean_orphans(db, out.run_id, batch_size, progress)
    ensure_indexes(db)  # graphs loaded before the current-run and popularity indexes
    db.autocommit("load/movie_rating_counts")  # cold-start popularity, also after direct writes
    fingerprint = out.fingerprint()
    meta = {
        "runId": out.run_id, "model": out.model,
        "params": json.dumps(out.params, sort_keys=True, default=json_default),
        "metrics": json.dumps(out.metrics, sort_keys=True, default=json_default),
        "dataset": out.dataset, "trainedAt": out.trained_at, "gitSha": out.git_sha,
        "fingerprint": fingerprint, "k": out.k, "dotScores": scores_are_dot_products(out),
        "datasetBinding": None if out.binding is None else json.dumps(
            out.binding, sort_keys=True, default=json_default),
    }
    runs = db.write("writeback/runs")
    current = next((r for r in runs if r["current"]), None)
    summary.previous_run = current["runId"] if current and current["runId"] != out.run_id else None
    state = db.write("writeback/run_begin", **meta)[0]
    if state["fingerprint"] != fingerprint:
        if state["status"] == "complete":
            raise WritebackError(
                f"run {out.run_id!r} is already in the graph with different output; "
                "give the new output a new run id"
            )
        log.info("run %s: restarting an interrupted write-back of other output", out.run_id)
        delete_run_edges(db, [out.run_id], batch_size, progress)
        db.write("writeback/run_reset", **meta)
        state = {**state, "status": "writing", "embeddingSlot": None, "fresh": True}
    lap("prepare")

    complete = state["status"] == "complete"
    needs_vectors = out.user_emb is not None and (not complete or state["embeddingSlot"] is None)
    if complete:
        summary.action = "unchanged" if state["current"] else "switched"
    else:
        summary.action = "resumed" if runs_has(runs, out.run_id) else "written"
    if needs_vectors:
        summary.slot = _write_vectors(db, lease, out, ids, runs, batch_size, progress, summary)
        lap("vectors")
    if not complete:
        # A run never written before takes the CREATE fast path; a resumed one MERGEs.
        fresh = bool(state.get("fresh")) or not runs_has(runs, out.run_id)
        rated = rated_now(db, out, known) if fresh else None
        _write_edges(db, out, ids, batch_size, progress, summary, fresh, rated)
        lap("edges")
    if needs_vectors:
        _await_slot(db, SLOTS[summary.slot or "a"])
        lap("index")
    if out.user_emb is not None and summary.slot is None:
        summary.slot = state["embeddingSlot"]
    if summary.action != "unchanged":
        lease.check()
        if not db.write("writeback/switch", **lease.params, runId=out.run_id):
            raise LeaseLostError(lease.lost_message())
        lap("switch")
    summary.deleted_runs = prune(db, out.run_id, keep_runs, summary.previous_run,
                                 batch_size, progress)
    lap("prune")
    log.info("write-back of %s: %s", out.run_id, summary.action)
    return summary


def runs_has(runs: list[dict[str, Any]], run_id: str) -> bool:
    """Whether ``run_id`` had a ``:ModelRun`` node before this write-back began."""
    return any(r["runId"] == run_id for r in runs)


def _write_edges(db: Runner, out: RunOutput, ids: NodeIds, batch_size: int, progress: bool,
                 summary: WritebackSummary, fresh: bool, rated: sp.csr_matrix | None = None) -> None:
    per_batch = max(1, batch_size // out.k)
    n_users = out.idmap.num_users
    expected = int(np.isfinite(out.rec_scores).sum())
    summary.users = n_users
    if fresh and rated is not None:  # rated movies dropped here; the statement only creates
        flat = flat_edges(out, ids, rated)
        edges = flat["users"]
        assert edges is not None
        summary.rated_check = "writer"
        summary.recommended = db.phases(
            "writeback/recommended_create_flat", flat_phases(out.run_id, flat, batch_size),
            total=len(edges), desc="RECOMMENDED", progress=progress, count="written",
            size_key="scores",
        )
    else:
        summary.rated_check = "statement"
        summary.recommended = db.batches(
            f"writeback/recommended_{'create' if fresh else 'batch'}",
            ({"runId": out.run_id, **_rec_params(out, ids, lo, hi)} for lo, hi in spans(n_users, per_batch)),
            total=n_users, desc="RECOMMENDED (users)", progress=progress, count="written",
            size_key="users", workers=WRITERS,
        )
    summary.dropped_rated = expected - summary.recommended
    if summary.dropped_rated:
        log.warning("run %s: %d recommended movies were already rated in the graph and were "
                    "skipped (was the model trained on a split?)", out.run_id, summary.dropped_rated)
    if out.similar_items is not None:
        n_movies = out.idmap.num_movies
        per_batch = max(1, batch_size // max(out.similar_items.shape[1], 1))
        summary.similar = db.batches(
            f"writeback/similar_{'create' if fresh else 'batch'}",
            ({"runId": out.run_id, **_similar_params(out, ids, lo, hi)}
             for lo, hi in spans(n_movies, per_batch)),
            total=n_movies, desc="SIMILAR (movies)", progress=progress, count="written",
            size_key="movies", workers=WRITERS,
        )


def _write_vectors(db: Runner, lease: Lease, out: RunOutput, ids: NodeIds,
                   runs: list[dict[str, Any]], batch_size: int, progress: bool,
                   summary: WritebackSummary) -> str:
    """Vectors into the slot the current run does not read; returns the slot name."""
    assert out.user_emb is not None and out.item_emb is not None
    current = next((r for r in runs if r["current"]), None)
    busy = current["embeddingSlot"] if current and current["runId"] != out.run_id else None
    owned = {r["embeddingSlot"] for r in runs if r["runId"] != out.run_id}
    free = [name for name in SLOTS if name != busy]
    # Prefer a slot no kept run owns (so older runs stay instantly re-activatable).
    slot = SLOTS[next((name for name in free if name not in owned), free[0])]
    dim = int(out.user_emb.shape[1])
    claimed = db.write("writeback/run_claim_slot", **lease.params, runId=out.run_id,
                       slot=slot.name, property=slot.property, userIndex=slot.user_index,
                       movieIndex=slot.movie_index, dim=dim)
    if not claimed:
        raise LeaseLostError(lease.lost_message())
    # Nobody reads this slot now: drop its indexes, write the vectors, then create the indexes,
    # so HNSW graphs are built once from all vectors (bulk population) rather than updated
    # per write; _await_slot waits for them before the switch.
    for name in (slot.user_index, slot.movie_index):
        db.write("writeback/vector_index_drop", name=name)

    size = max(1, min(batch_size, EMBEDDING_BATCH))
    for label, keys, emb in (("user", out.idmap.users, out.user_emb),
                             ("movie", out.idmap.movies, out.item_emb)):
        internal = ids.users(keys, strict=False) if label == "user" else ids.movies(keys, strict=False)
        present = db.column(f"writeback/{label}_embedding_ids", property=slot.property)
        stale = np.setdiff1d(present, keys)
        if len(stale):
            summary.cleared_vectors += db.batches(
                f"writeback/{label}_embeddings_clear",
                ({"property": slot.property, "ids": stale[lo:hi].tolist()}
                 for lo, hi in spans(len(stale), batch_size)),
                total=len(stale), desc=f"clear stale {label} vectors", progress=progress,
                count="cleared", size_key="ids",
            )
        written = db.batches(
            "writeback/embeddings",
            ({"property": slot.property, **_vector_params(internal, emb, lo, hi)}
             for lo, hi in spans(len(keys), size)),
            total=len(keys), desc=f"{label} vectors", progress=progress, count="written",
            size_key="ids", workers=WRITERS,  # disjoint nodes: the writers never wait on each other
        )
        if label == "user":
            summary.user_vectors = written
        else:
            summary.movie_vectors = written
    db.write(f"writeback/vector_index_user_{slot.name}", dim=dim)
    db.write(f"writeback/vector_index_movie_{slot.name}", dim=dim)
    return slot.name


def _await_slot(db: Runner, slot: Slot, timeout_s: int = 900) -> None:
    db.write("admin/await_indexes", timeoutSeconds=timeout_s)
    states = db.write("writeback/vector_indexes", names=[slot.user_index, slot.movie_index])
    bad = [f"{r['name']} is {r['state']}" for r in states if r["state"] != "ONLINE"]
    if len(states) != 2 or bad:
        raise WritebackError("vector indexes not ONLINE: " + (", ".join(bad) or "missing"))
