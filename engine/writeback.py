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
``movie_embedding`` (the names in :data:`engine.schema.VECTOR_INDEXES`), slot ``b`` =
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
recommended: the batch statement skips them and renumbers ranks (counted in
:attr:`WritebackSummary.dropped_rated`).

One write-back at a time per database; readers may run at any time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import neo4j
import numpy as np
from tqdm.auto import tqdm

from engine import queries
from engine.data import IdMap
from engine.nodeids import MISSING, NodeIds

log = logging.getLogger(__name__)

FORMAT_VERSION: Final = 1
RUN_JSON: Final = "run.json"
ARRAYS_NPZ: Final = "arrays.npz"
IDMAP_NPZ: Final = "idmap.npz"
#: Seconds to wait before deleting the run that was current until this write-back's
#: switch (only when ``keep_runs == 1``), so that readers that picked it just before the
#: switch finish their query.
SWITCH_GRACE_S: Final = 2.0
EMBEDDING_BATCH: Final = 2_000


@dataclass(frozen=True)
class Slot:
    """One of the two embedding slots: a node property and its two vector indexes."""

    name: str
    property: str
    user_index: str
    movie_index: str


SLOTS: Final[dict[str, Slot]] = {
    "a": Slot("a", "embedding", "user_embedding", "movie_embedding"),
    "b": Slot("b", "embeddingB", "user_embedding_b", "movie_embedding_b"),
}


class WritebackError(RuntimeError):
    """The write-back could not be completed (the previous run stays current)."""


@dataclass
class RunOutput:
    """Everything a trained model hands to write-back (all indices in ``idmap`` space)."""

    run_id: str
    model: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    dataset: str
    git_sha: str | None
    idmap: IdMap
    user_emb: np.ndarray | None  # float32 [num_users, d]
    item_emb: np.ndarray | None  # float32 [num_movies, d]
    rec_items: np.ndarray  # int64 [num_users, K] movie indices, seen excluded, best first
    rec_scores: np.ndarray  # float32 [num_users, K]
    rec_ratings: np.ndarray | None = None  # float32 [num_users, K] predicted ratings
    similar_items: np.ndarray | None = None  # int64 [num_movies, Ks]
    similar_scores: np.ndarray | None = None  # float32 [num_movies, Ks]
    trained_at: str | None = None  # ISO-8601; None: the time of the first write-back

    def __post_init__(self) -> None:
        self.validate()

    @property
    def k(self) -> int:
        return int(self.rec_items.shape[1])

    @property
    def dim(self) -> int | None:
        return None if self.user_emb is None else int(self.user_emb.shape[1])

    def validate(self) -> None:
        """Coerce dtypes and check shapes; raises ``ValueError`` naming the bad field."""
        if not isinstance(self.run_id, str) or not self.run_id.strip():
            raise ValueError("run_id must be a non-empty string")
        n_users, n_movies = self.idmap.num_users, self.idmap.num_movies
        self.rec_items = _as(self.rec_items, np.int64, "rec_items", (n_users, None))
        k = self.rec_items.shape[1]
        if k < 1:
            raise ValueError("rec_items must hold at least one recommendation per user")
        self.rec_scores = _as(self.rec_scores, np.float32, "rec_scores", (n_users, k))
        if self.rec_ratings is not None:
            self.rec_ratings = _as(self.rec_ratings, np.float32, "rec_ratings", (n_users, k))
        _check_indices(self.rec_items, n_movies, "rec_items")
        if (self.user_emb is None) != (self.item_emb is None):
            raise ValueError("user_emb and item_emb must both be given or both be None")
        if self.user_emb is not None and self.item_emb is not None:
            self.user_emb = _as(self.user_emb, np.float32, "user_emb", (n_users, None))
            d = self.user_emb.shape[1]
            self.item_emb = _as(self.item_emb, np.float32, "item_emb", (n_movies, d))
            if d < 1 or d > 4096:
                raise ValueError(f"embedding dimension must be in 1..4096 (Neo4j), got {d}")
            for name in ("user_emb", "item_emb"):
                if not np.isfinite(getattr(self, name)).all():
                    raise ValueError(f"{name} holds NaN or infinite values")
        if (self.similar_items is None) != (self.similar_scores is None):
            raise ValueError("similar_items and similar_scores must both be given or both be None")
        if self.similar_items is not None:
            self.similar_items = _as(self.similar_items, np.int64, "similar_items", (n_movies, None))
            ks = self.similar_items.shape[1]
            self.similar_scores = _as(self.similar_scores, np.float32, "similar_scores",
                                      (n_movies, ks))
            _check_indices(self.similar_items, n_movies, "similar_items")

    def fingerprint(self) -> str:
        """sha256 over the metadata and every array: same output <=> same fingerprint."""
        h = hashlib.sha256()
        meta = {"run_id": self.run_id, "model": self.model, "dataset": self.dataset,
                "params": self.params, "metrics": self.metrics, "git_sha": self.git_sha}
        h.update(json.dumps(meta, sort_keys=True, default=_json_default).encode())
        for name, arr in self.arrays().items():
            h.update(name.encode())
            h.update(str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()

    def arrays(self) -> dict[str, np.ndarray]:
        """The array fields that are set, by name (as stored in ``arrays.npz``)."""
        names = ("idmap_users", "idmap_movies", "rec_items", "rec_scores", "rec_ratings",
                 "user_emb", "item_emb", "similar_items", "similar_scores")
        out: dict[str, np.ndarray] = {}
        for name in names:
            value = (self.idmap.users if name == "idmap_users" else
                     self.idmap.movies if name == "idmap_movies" else getattr(self, name))
            if value is not None:
                out[name] = value
        return out


def _as(value: Any, dtype: type, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != len(shape) or any(
        e is not None and e != s for e, s in zip(shape, arr.shape, strict=True)
    ):
        want = "[" + ", ".join("*" if e is None else str(e) for e in shape) + "]"
        raise ValueError(f"{name} has shape {list(arr.shape)}, expected {want}")
    if np.issubdtype(np.dtype(dtype), np.integer) and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got {arr.dtype}")
    return arr.astype(dtype, copy=False)


def _check_indices(items: np.ndarray, n: int, name: str) -> None:
    if items.size and (items.min() < 0 or items.max() >= n):
        raise ValueError(f"{name} holds indices outside 0..{n - 1}")
    if items.shape[1] > 1:
        s = np.sort(items, axis=1)
        if (s[:, 1:] == s[:, :-1]).any():
            row = int(np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))[0])
            raise ValueError(f"{name} row {row} lists the same movie twice")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# ---------------------------------------------------------------------- on-disk format
def save_run_output(out: RunOutput, directory: Path) -> Path:
    """Save ``out`` as ``run.json`` + ``arrays.npz`` + ``idmap.npz`` (no pickle)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    trained_at = out.trained_at or datetime.now(UTC).isoformat(timespec="seconds")
    meta = {
        "format": FORMAT_VERSION, "run_id": out.run_id, "model": out.model,
        "params": out.params, "metrics": out.metrics, "dataset": out.dataset,
        "git_sha": out.git_sha, "trained_at": trained_at,
        "num_users": out.idmap.num_users, "num_movies": out.idmap.num_movies, "k": out.k,
        "dim": out.dim,
    }
    (directory / RUN_JSON).write_text(json.dumps(meta, indent=2, sort_keys=True,
                                                 default=_json_default))
    arrays = {k: v for k, v in out.arrays().items() if not k.startswith("idmap_")}
    np.savez(directory / ARRAYS_NPZ, **arrays)  # type: ignore[arg-type]
    out.idmap.save(directory / IDMAP_NPZ)
    return directory


def load_run_output(directory: Path) -> RunOutput:
    """Read a run directory written by :func:`save_run_output` (validated on load)."""
    directory = Path(directory)
    missing = [n for n in (RUN_JSON, ARRAYS_NPZ, IDMAP_NPZ) if not (directory / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{directory} is not a run directory: missing {', '.join(missing)}")
    meta = json.loads((directory / RUN_JSON).read_text())
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{directory / RUN_JSON}: unsupported format {meta.get('format')!r}")
    idmap = IdMap.load(directory / IDMAP_NPZ)
    with np.load(directory / ARRAYS_NPZ, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return RunOutput(
        run_id=meta["run_id"], model=meta["model"], params=meta["params"],
        metrics=meta["metrics"], dataset=meta["dataset"], git_sha=meta.get("git_sha"),
        idmap=idmap, user_emb=arrays.get("user_emb"), item_emb=arrays.get("item_emb"),
        rec_items=arrays["rec_items"], rec_scores=arrays["rec_scores"],
        rec_ratings=arrays.get("rec_ratings"), similar_items=arrays.get("similar_items"),
        similar_scores=arrays.get("similar_scores"), trained_at=meta.get("trained_at"),
    )


# ---------------------------------------------------------------------- from a model
def similar_by_embedding(item_emb: np.ndarray, k: int, batch: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` cosine neighbours of every item (self excluded), in batches of rows.

    Memory is ``O(batch * num_items)``; returns ``(items int64 [I, k], scores float32 [I, k])``.
    """
    emb = np.asarray(item_emb, dtype=np.float32)
    unit = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    n = len(unit)
    k = min(k, n - 1)
    items = np.empty((n, k), dtype=np.int64)
    scores = np.empty((n, k), dtype=np.float32)
    for lo in range(0, n, batch):
        sim = unit[lo : lo + batch] @ unit.T
        rows = np.arange(sim.shape[0])
        sim[rows, rows + lo] = -np.inf
        part = np.argpartition(-sim, k - 1, axis=1)[:, :k] if k < n else np.argsort(-sim, axis=1)
        top = np.take_along_axis(sim, part, 1)
        order = np.argsort(-top, axis=1, kind="stable")
        items[lo : lo + batch] = np.take_along_axis(part, order, 1)
        scores[lo : lo + batch] = np.take_along_axis(top, order, 1)
    return items, scores


def build_run_output(
    model: Any,
    idmap: IdMap,
    config: dict[str, Any],
    metrics: dict[str, Any],
    *,
    k: int = 20,
    similar_k: int = 10,
    predicts_ratings: bool | None = None,
) -> RunOutput:
    """A :class:`RunOutput` from a fitted :class:`~engine.models.base.Recommender`.

    ``config`` gives ``runId``, ``model``, ``params``, ``dataset`` and optionally
    ``gitSha``/``trainedAt`` (as ``engine train`` writes them). Top-``k`` per user comes
    from ``model.recommend`` (seen excluded, batched); embeddings from
    ``model.embeddings()``; SIMILAR edges (``similar_k`` > 0) from item-embedding cosine.
    Scores are predicted ratings when ``predicts_ratings`` (default: the model's
    ``predicts_ratings`` attribute, else whether its name mentions "rating").
    """
    users = np.arange(idmap.num_users, dtype=np.int64)
    items, scores = model.recommend(users, k=k, exclude_seen=True)
    emb = model.embeddings()
    user_emb, item_emb = (None, None) if emb is None else emb
    if predicts_ratings is None:
        by_name = "rating" in str(getattr(model, "name", ""))
        predicts_ratings = bool(getattr(model, "predicts_ratings", by_name))
    sim_items = sim_scores = None
    if item_emb is not None and similar_k > 0 and idmap.num_movies > 1:
        sim_items, sim_scores = similar_by_embedding(item_emb, similar_k)
    return RunOutput(
        run_id=str(config["runId"]), model=str(config.get("model", getattr(model, "name", "?"))),
        params=dict(config.get("params", {})), metrics=metrics,
        dataset=str(config.get("dataset", "")), git_sha=config.get("gitSha"), idmap=idmap,
        user_emb=user_emb, item_emb=item_emb, rec_items=items, rec_scores=scores,
        rec_ratings=scores.copy() if predicts_ratings else None,
        similar_items=sim_items, similar_scores=sim_scores, trained_at=config.get("trainedAt"),
    )


# ---------------------------------------------------------------------- summary
@dataclass
class WritebackSummary:
    """What a write-back wrote, deleted and how fast."""

    run_id: str
    action: str  # 'written' | 'resumed' | 'switched' | 'unchanged'
    users: int = 0
    recommended: int = 0
    dropped_rated: int = 0
    similar: int = 0
    user_vectors: int = 0
    movie_vectors: int = 0
    cleared_vectors: int = 0
    slot: str | None = None
    previous_run: str | None = None
    deleted_runs: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        return sum(self.seconds.values())

    @property
    def rows(self) -> int:
        """Rows written: edges plus vectors."""
        return self.recommended + self.similar + self.user_vectors + self.movie_vectors

    def rows_per_second(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else float("nan")

    def __str__(self) -> str:
        return (f"run {self.run_id} {self.action}: {self.recommended:,} RECOMMENDED, "
                f"{self.similar:,} SIMILAR, {self.user_vectors + self.movie_vectors:,} vectors "
                f"in {self.elapsed:.1f}s")

    def table(self) -> str:
        """A printable summary."""
        lines = [
            f"run {self.run_id}: {self.action}"
            + (f" (previous current run: {self.previous_run})" if self.previous_run else ""),
            f"  RECOMMENDED {self.recommended:>12,}  for {self.users:,} users"
            + (f" ({self.dropped_rated:,} already-rated movies skipped)" if self.dropped_rated else ""),
            f"  SIMILAR     {self.similar:>12,}",
            f"  vectors     {self.user_vectors:>12,} users, {self.movie_vectors:,} movies"
            + (f" in slot {self.slot} ({SLOTS[self.slot].property})" if self.slot else ""),
        ]
        if self.deleted_runs:
            lines.append(f"  deleted old runs: {', '.join(self.deleted_runs)}")
        lines.append(
            f"  {self.rows:,} rows in {self.elapsed:.1f}s ({self.rows_per_second():,.0f} rows/s; "
            + ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items()) + ")"
        )
        return "\n".join(lines)


# ---------------------------------------------------------------------- IO
class _Runner:
    """Runs the ``cypher/writeback`` statements on one database through a driver."""

    def __init__(self, driver: neo4j.Driver, database: str) -> None:
        self.driver, self.database = driver, database

    def run(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        records, _, _ = self.driver.execute_query(
            queries.load(name), parameters_=params, database_=self.database,
            routing_=neo4j.RoutingControl.WRITE,
        )
        return [r.data() for r in records]

    def ids(self, name: str, **params: Any) -> np.ndarray:
        with self.driver.session(database=self.database) as session:
            result = session.run(queries.load(name), params)
            return np.fromiter((r[0] for r in result), dtype=np.int64)

    def batches(self, name: str, chunks: Iterator[dict[str, Any]], total: int, desc: str,
                progress: bool, key: str) -> int:
        """Run ``name`` once per parameter dict; returns the sum of column ``key``."""
        done = 0
        with tqdm(total=total, desc=desc, unit="rows", unit_scale=True, disable=not progress,
                  leave=False) as bar:
            for params in chunks:
                rows = self.run(name, **params)
                done += int(rows[0][key]) if rows else 0
                key_list = next(k for k in ("rows", "ids", "users", "movies") if k in params)
                bar.update(len(params[key_list]))
        return done


def _chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, size):
        yield lo, min(lo + size, n)


def _rec_params(out: RunOutput, ids: NodeIds, lo: int, hi: int) -> dict[str, Any]:
    """Top-K rows of users ``lo:hi`` as parallel lists of internal ids, best first.

    The -inf tail (fewer than K unseen items) and users or movies gone from the graph
    since training are dropped here; already-rated movies are dropped by the statement.
    """
    users = ids.users(out.idmap.users[lo:hi], strict=False)
    movies = ids.movies(out.idmap.movies, strict=False)[out.rec_items[lo:hi]]
    scores = out.rec_scores[lo:hi]
    ratings = out.rec_ratings[lo:hi] if out.rec_ratings is not None else None
    p: dict[str, Any] = {"users": [], "movies": [], "scores": [], "ratings": None if ratings is None else []}
    for j, uid in enumerate(users.tolist()):
        ok = np.isfinite(scores[j]) & (movies[j] != MISSING)
        if uid == MISSING:
            continue
        p["users"].append(uid)
        p["movies"].append(movies[j][ok].tolist())
        p["scores"].append(scores[j][ok].astype(np.float64).tolist())
        if ratings is not None:
            p["ratings"].append(ratings[j][ok].astype(np.float64).tolist())
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
) -> WritebackSummary:
    """Write ``out`` into the graph and make it the current run (see the module docstring).

    ``batch_size`` is the number of edges per write transaction (vectors go in batches of
    at most :data:`EMBEDDING_BATCH` nodes); ``keep_runs`` (>= 1) is how many runs, the new
    current one included, keep their edges afterwards.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    if keep_runs < 1:
        raise ValueError("keep_runs must be >= 1 (the current run is always kept)")
    out.validate()
    db = _Runner(driver, database)
    summary = WritebackSummary(run_id=out.run_id, action="written")
    t0 = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        summary.seconds[step] = summary.seconds.get(step, 0.0) + now - t0
        t0 = now

    fingerprint = out.fingerprint()
    meta = {
        "runId": out.run_id, "model": out.model,
        "params": json.dumps(out.params, sort_keys=True, default=_json_default),
        "metrics": json.dumps(out.metrics, sort_keys=True, default=_json_default),
        "dataset": out.dataset, "trainedAt": out.trained_at, "gitSha": out.git_sha,
        "fingerprint": fingerprint, "k": out.k, "dotScores": scores_are_dot_products(out),
    }
    runs = db.run("writeback/runs")
    current = next((r for r in runs if r["current"]), None)
    summary.previous_run = current["runId"] if current and current["runId"] != out.run_id else None
    state = db.run("writeback/run_begin", **meta)[0]
    if state["fingerprint"] != fingerprint:
        if state["status"] == "complete":
            raise WritebackError(
                f"run {out.run_id!r} is already in the graph with different output; "
                "give the new output a new run id"
            )
        log.info("run %s: restarting an interrupted write-back of other output", out.run_id)
        _delete_run_edges(db, [out.run_id], batch_size, progress)
        db.run("writeback/run_reset", **meta)
        state = {**state, "status": "writing", "embeddingSlot": None, "fresh": True}
    lap("prepare")

    complete = state["status"] == "complete"
    needs_vectors = out.user_emb is not None and (not complete or state["embeddingSlot"] is None)
    if complete:
        summary.action = "unchanged" if state["current"] else "switched"
    else:
        summary.action = "resumed" if runs_has(runs, out.run_id) else "written"
    ids = NodeIds.read(driver, database) if needs_vectors or not complete else None
    if needs_vectors:
        assert ids is not None
        summary.slot = _write_vectors(db, out, ids, runs, batch_size, progress, summary)
        lap("vectors")
    if not complete:
        # A run never written before takes the CREATE fast path; a resumed one MERGEs.
        fresh = bool(state.get("fresh")) or not runs_has(runs, out.run_id)
        assert ids is not None
        _write_edges(db, out, ids, batch_size, progress, summary, fresh)
        lap("edges")
    if needs_vectors:
        _await_slot(db, SLOTS[summary.slot or "a"])
        lap("index")
    if out.user_emb is not None and summary.slot is None:
        summary.slot = state["embeddingSlot"]
    if summary.action != "unchanged":
        db.run("writeback/switch", runId=out.run_id)
        lap("switch")
    summary.deleted_runs = _prune(db, out.run_id, keep_runs, summary.previous_run,
                                  batch_size, progress)
    lap("prune")
    log.info("write-back of %s: %s", out.run_id, summary.action)
    return summary


def scores_are_dot_products(out: RunOutput, sample: int = 1000) -> bool:
    """Whether ``rec_scores`` are ``user_emb . item_emb`` (checked on a sample of users).

    Readers then extend a user's stored top-K with the next best movies by the same score
    (``model:vector`` rows of ``recommend/for_user``).
    """
    if out.user_emb is None or out.item_emb is None:
        return False
    rows = np.linspace(0, out.idmap.num_users - 1, min(sample, out.idmap.num_users)).astype(np.int64)
    items, scores = out.rec_items[rows], out.rec_scores[rows]
    dots = np.einsum("nd,nkd->nk", out.user_emb[rows], out.item_emb[items])
    ok = np.isfinite(scores)
    return bool(np.allclose(dots[ok], scores[ok], rtol=1e-3, atol=1e-4))


def runs_has(runs: list[dict[str, Any]], run_id: str) -> bool:
    """Whether ``run_id`` had a ``:ModelRun`` node before this write-back began."""
    return any(r["runId"] == run_id for r in runs)


def _write_edges(db: _Runner, out: RunOutput, ids: NodeIds, batch_size: int, progress: bool,
                 summary: WritebackSummary, fresh: bool) -> None:
    how = "create" if fresh else "batch"
    per_batch = max(1, batch_size // out.k)
    n_users = out.idmap.num_users
    expected = int(np.isfinite(out.rec_scores).sum())
    summary.users = n_users
    summary.recommended = db.batches(
        f"writeback/recommended_{how}",
        ({"runId": out.run_id, **_rec_params(out, ids, lo, hi)} for lo, hi in _chunks(n_users, per_batch)),
        n_users, "RECOMMENDED (users)", progress, "written",
    )
    summary.dropped_rated = expected - summary.recommended
    if summary.dropped_rated:
        log.warning("run %s: %d recommended movies were already rated in the graph and were "
                    "skipped (was the model trained on a split?)", out.run_id, summary.dropped_rated)
    if out.similar_items is not None:
        n_movies = out.idmap.num_movies
        per_batch = max(1, batch_size // max(out.similar_items.shape[1], 1))
        summary.similar = db.batches(
            f"writeback/similar_{how}",
            ({"runId": out.run_id, **_similar_params(out, ids, lo, hi)}
             for lo, hi in _chunks(n_movies, per_batch)),
            n_movies, "SIMILAR (movies)", progress, "written",
        )


def _write_vectors(db: _Runner, out: RunOutput, ids: NodeIds, runs: list[dict[str, Any]],
                   batch_size: int, progress: bool, summary: WritebackSummary) -> str:
    """Vectors into the slot the current run does not read; returns the slot name."""
    assert out.user_emb is not None and out.item_emb is not None
    current = next((r for r in runs if r["current"]), None)
    busy = current["embeddingSlot"] if current and current["runId"] != out.run_id else None
    owned = {r["embeddingSlot"] for r in runs if r["runId"] != out.run_id}
    free = [name for name in SLOTS if name != busy]
    # Prefer a slot no kept run owns (so older runs stay instantly re-activatable).
    slot = SLOTS[next((name for name in free if name not in owned), free[0])]
    dim = int(out.user_emb.shape[1])
    db.run("writeback/run_claim_slot", runId=out.run_id, slot=slot.name, property=slot.property,
           userIndex=slot.user_index, movieIndex=slot.movie_index, dim=dim)
    # Nobody reads this slot now: drop its indexes, write the vectors, then create the indexes,
    # so HNSW graphs are built once from all vectors (bulk population) rather than updated
    # per write; _await_slot waits for them before the switch.
    for name in (slot.user_index, slot.movie_index):
        db.run("writeback/vector_index_drop", name=name)

    size = max(1, min(batch_size, EMBEDDING_BATCH))
    for label, keys, emb in (("user", out.idmap.users, out.user_emb),
                             ("movie", out.idmap.movies, out.item_emb)):
        internal = ids.users(keys, strict=False) if label == "user" else ids.movies(keys, strict=False)
        present = db.ids(f"writeback/{label}_embedding_ids", property=slot.property)
        stale = np.setdiff1d(present, keys)
        if len(stale):
            summary.cleared_vectors += db.batches(
                f"writeback/{label}_embeddings_clear",
                ({"property": slot.property, "ids": stale[lo:hi].tolist()}
                 for lo, hi in _chunks(len(stale), batch_size)),
                len(stale), f"clear stale {label} vectors", progress, "cleared",
            )
        written = db.batches(
            "writeback/embeddings",
            ({"property": slot.property, **_vector_params(internal, emb, lo, hi)}
             for lo, hi in _chunks(len(keys), size)),
            len(keys), f"{label} vectors", progress, "written",
        )
        if label == "user":
            summary.user_vectors = written
        else:
            summary.movie_vectors = written
    db.run(f"writeback/vector_index_user_{slot.name}", dim=dim)
    db.run(f"writeback/vector_index_movie_{slot.name}", dim=dim)
    return slot.name


def _await_slot(db: _Runner, slot: Slot, timeout_s: int = 900) -> None:
    db.run("admin/await_indexes", timeoutSeconds=timeout_s)
    states = db.run("writeback/vector_indexes", names=[slot.user_index, slot.movie_index])
    bad = [f"{r['name']} is {r['state']}" for r in states if r["state"] != "ONLINE"]
    if len(states) != 2 or bad:
        raise WritebackError("vector indexes not ONLINE: " + (", ".join(bad) or "missing"))


def _delete_run_edges(db: _Runner, run_ids: list[str], batch_size: int, progress: bool) -> int:
    deleted = 0
    for name, ids_query, per in (("writeback/recommended_delete", "writeback/user_ids", 20),
                                 ("writeback/similar_delete", "writeback/movie_ids", 20)):
        ids = db.ids(ids_query)
        step = max(1, batch_size // per)
        deleted += db.batches(
            name, ({"ids": ids[lo:hi].tolist(), "runIds": run_ids} for lo, hi in _chunks(len(ids), step)),
            len(ids), f"delete {name.rsplit('/', 1)[1].split('_')[0]} edges", progress, "deleted",
        )
    return deleted


def _prune(db: _Runner, run_id: str, keep_runs: int, previous: str | None, batch_size: int,
           progress: bool) -> list[str]:
    """Delete the runs beyond the ``keep_runs`` most recent (never the current one)."""
    runs = db.run("writeback/runs")  # most recently switched/started first
    keep = {run_id}
    for r in runs:
        if len(keep) >= keep_runs:
            break
        keep.add(r["runId"])
    victims = [r["runId"] for r in runs if r["runId"] not in keep and not r["current"]]
    if not victims:
        return []
    db.run("writeback/run_retire", runIds=victims)
    if previous in victims:
        time.sleep(SWITCH_GRACE_S)  # readers that picked it just before the switch
    _delete_run_edges(db, victims, batch_size, progress)
    db.run("writeback/run_delete", runIds=victims)
    log.info("deleted %d old run(s): %s", len(victims), ", ".join(victims))
    return victims
