"""Live-update benchmark: new ratings through ``engine rate``, fold-in by ``engine refresh``, no retraining.

On a private Neo4j (or ``--uri``, which is WIPED), for each ``--graphs`` (the bundled
ml-latest-small; ML-100K from ../shared):

1. **Fold-in quality** (protocol T1: each user's latest 20% of ratings held out, in time
   order). The graph is loaded with the training part only and ``engine train`` (default
   model, tuned on its own validation carve) writes top-20 back. The first half of each
   user's held-out ratings is then revealed with ``engine rate --file`` (their own
   timestamps), ``engine refresh`` runs, and NDCG@10 / Recall@10 are scored on the second
   half for the users with at least two held-out ratings, side by side in one run:
   * **stale**: the lists written before the reveal, revealed movies dropped;
   * **refreshed**: what ``for_user`` shows after ``engine refresh`` (fold-in);
   * **retrain**: ``engine train`` again on the graph that now holds the revealed ratings.
   Goal: refreshed >= 0.95 x retrain, and clearly above stale.
2. **Latency** with ``engine refresh --watch`` running (a separate process, 1 s polls):
   ``--ratings`` times, a user rates the movie ranked first in their list; the clock runs
   from ``engine rate`` returning (the library call behind it) until ``for_user`` no longer
   lists that movie and shows ``model:live`` rows. p50/p95 (goal p95 <= 2 s).
3. **Batch refresh** of 1,000 changed users (every user rates one more movie; new users make
   up the rest): the refresher with the model in memory (what ``--watch`` does), and the
   whole ``engine refresh`` command (interpreter start, model load, 2 s grace, cleanup).
   Goal <= 10 s.
4. **for_user under refresh**: 8 clients read ``for_user`` of random users, first with the
   database idle, then while ratings stream in (about 20 users/s) and ``--watch`` refreshes
   them; p50/p95 side by side with the ratio.

Prints a table, writes ``bench/results/live.json``.

    python bench/live.py
    python bench/live.py --graphs ml-latest-small --ratings 50
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.writeback import add_server_args, client_settings, dataset, local_server  # noqa: E402
from engine.data import IdMap, Interactions  # noqa: E402
from engine.data.new_ratings import NewRating  # noqa: E402
from engine.data.splits import temporal_per_user_fraction  # noqa: E402
from engine.evaluate.metrics import ranking_metrics_at_k  # noqa: E402
from engine.graphdb import Runner, connect  # noqa: E402
from engine.graphdb.reader import Reader  # noqa: E402
from engine.jobs.live import open_refresher  # noqa: E402
from engine.jobs.rate import rate  # noqa: E402
from engine.jobs.train import train  # noqa: E402
from engine.settings import Neo4jSettings  # noqa: E402
from loader.ingest import load_dataset, wipe  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "live.json"
GRAPHS = ("ml-latest-small", "ml-100k")
K = 10


def engine_env(settings: Neo4jSettings) -> dict[str, str]:
    """The environment of an ``engine`` subprocess against ``settings`` (password from env)."""
    return {**os.environ, "NEO4J_URI": settings.uri, "NEO4J_USER": settings.user,
            "NEO4J_PASSWORD": settings.password or ""}


def engine_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "engine.cli", *args]


def run_engine(settings: Neo4jSettings, *args: str) -> subprocess.CompletedProcess[str]:
    """``engine ARGS`` as a user runs it; its output is shown if it fails."""
    out = subprocess.run(engine_cmd(*args), env=engine_env(settings), capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"engine {' '.join(args)} exited {out.returncode}:\n{out.stdout}{out.stderr}")
    return out


def split_reveal(data: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """T1 on raw ratings: ``(train, revealed, scored)`` (revealed = first half of each held-out part)."""
    r = data.ratings.reset_index(drop=True)
    idmap = IdMap.from_raw(r["userId"].to_numpy(), r["movieId"].to_numpy())
    inter = Interactions(idmap.user_index(r["userId"].to_numpy()), idmap.movie_index(r["movieId"].to_numpy()),
                         r["rating"].to_numpy(np.float32), r["timestamp"].to_numpy(np.int64),
                         idmap.num_users, idmap.num_movies)
    split = temporal_per_user_fraction(inter, 0.2)
    held = pd.DataFrame({"userId": idmap.users[split.test.user], "movieId": idmap.movies[split.test.item],
                         "rating": split.test.rating, "timestamp": split.test.timestamp})
    held = held.sort_values(["userId", "timestamp", "movieId"], kind="stable")
    pos = held.groupby("userId").cumcount()
    size = held.groupby("userId")["movieId"].transform("size")
    revealed = held[pos < size // 2]
    scored = held[(pos >= size // 2) & (size >= 2)]
    train_rows = pd.DataFrame({"userId": idmap.users[split.train.user],
                               "movieId": idmap.movies[split.train.item],
                               "rating": split.train.rating, "timestamp": split.train.timestamp})
    return train_rows, revealed, scored


def lists_of(reader: Reader, users: list[int], k: int) -> dict[int, list[int]]:
    return {u: [r["movieId"] for r in reader.recommend(u, k)] for u in users}


def score_lists(lists: dict[int, list[int]], scored: pd.DataFrame) -> dict[str, float]:
    """Mean NDCG@10 / Recall@10 of ``lists`` against the scored half (implicit relevance)."""
    users = sorted(lists)
    movies = np.unique(np.r_[scored["movieId"].to_numpy(), [m for v in lists.values() for m in v]])
    index = {int(m): j for j, m in enumerate(movies)}
    topk = np.full((len(users), K), -1, dtype=np.int64)
    for row, u in enumerate(users):
        got = [index[m] for m in lists[u][:K]]
        topk[row, :len(got)] = got
    rel = scored[scored["userId"].isin(users)]
    rows = np.searchsorted(users, rel["userId"].to_numpy())
    cols = np.array([index[int(m)] for m in rel["movieId"]], dtype=np.int64)
    relevant = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(users), len(movies)))
    out = ranking_metrics_at_k(topk, relevant, K)
    return {"ndcg@10": round(float(np.nanmean(out["ndcg"])), 4),
            "recall@10": round(float(np.nanmean(out["recall"])), 4), "users": len(users)}


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame[["userId", "movieId", "rating", "timestamp"]].to_csv(path, index=False)
    return path


def quality(settings: Neo4jSettings, driver: Any, name: str, runs: Path, tmp: Path) -> dict[str, Any]:
    data = dataset(name)
    train_rows, revealed, scored = split_reveal(data)
    wipe(Runner(driver), batch=2_000)
    load_dataset(Runner(driver), dataclasses.replace(data, ratings=train_rows), progress=False)
    t0 = time.perf_counter()
    first = train(settings, runs_dir=runs, progress=False)
    train_s = time.perf_counter() - t0
    reader = Reader(driver)
    users = sorted(int(u) for u in scored["userId"].unique())
    stored = lists_of(reader, users, 20)
    shown = revealed.groupby("userId")["movieId"].apply(set).to_dict()
    stale = {u: [m for m in v if m not in shown.get(u, set())][:K] for u, v in stored.items()}

    csv = write_csv(revealed, tmp / f"{name}-revealed.csv")
    t0 = time.perf_counter()
    run_engine(settings, "rate", "--file", str(csv))
    rate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = run_engine(settings, "refresh", "--runs", str(runs))
    refresh_s = time.perf_counter() - t0
    refreshed = lists_of(reader, users, K)
    sources = {r["source"] for u in users[:50] for r in reader.recommend(u, K)}

    t0 = time.perf_counter()
    second = train(settings, runs_dir=runs, progress=False)
    retrain_s = time.perf_counter() - t0
    retrained = lists_of(reader, users, K)
    rows = {"stale": score_lists(stale, scored), "refreshed": score_lists(refreshed, scored),
            "retrain": score_lists(retrained, scored)}
    ratio = rows["refreshed"]["ndcg@10"] / rows["retrain"]["ndcg@10"]
    print(f"  fold-in quality on {name} (T1, reveal half, score half; {len(users)} users): "
          f"stale {rows['stale']['ndcg@10']:.4f}, refreshed {rows['refreshed']['ndcg@10']:.4f}, "
          f"retrain {rows['retrain']['ndcg@10']:.4f} NDCG@10 -> refreshed/retrain {ratio:.3f} "
          f"(goal >= 0.95), refreshed/stale {rows['refreshed']['ndcg@10'] / rows['stale']['ndcg@10']:.3f}",
          flush=True)
    print(f"    engine rate --file ({len(revealed):,} ratings) {rate_s:.1f}s; engine refresh "
          f"{refresh_s:.1f}s [{out.stdout.strip().splitlines()[-1]}]; train {train_s:.0f}s, "
          f"retrain {retrain_s:.0f}s", flush=True)
    return {"rows": rows, "refreshed_over_retrain": round(ratio, 4),
            "refreshed_over_stale": round(rows["refreshed"]["ndcg@10"] / rows["stale"]["ndcg@10"], 4),
            "revealed_ratings": len(revealed), "scored_ratings": len(scored), "sources_seen": sorted(sources),
            "rate_seconds": round(rate_s, 2), "refresh_command_seconds": round(refresh_s, 2),
            "train_seconds": round(train_s, 1), "retrain_seconds": round(retrain_s, 1),
            "models": [first.model, second.model], "run_id": second.run_id}


class Watcher:
    """``engine refresh --watch`` as a separate process, as a user runs it."""

    def __init__(self, settings: Neo4jSettings, runs: Path, interval_s: float = 1.0) -> None:
        self.proc = subprocess.Popen(engine_cmd("refresh", "--watch", "--runs", str(runs),
                                                "--interval", str(interval_s)),
                                     env=engine_env(settings), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        head = []
        for line in self.proc.stdout:  # until "refreshing run ...": the model is in memory
            head.append(line)
            if "refreshing run" in line:
                break
        else:
            raise RuntimeError(f"engine refresh --watch did not start: {''.join(head)}")
        self.lines: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def percentiles(values: list[float]) -> dict[str, float]:
    a = np.asarray(values)
    return {"n": len(a), "p50": round(float(np.percentile(a, 50)), 3),
            "p95": round(float(np.percentile(a, 95)), 3), "max": round(float(a.max()), 3)}


def latency(settings: Neo4jSettings, driver: Any, runs: Path, n: int, seed: int) -> dict[str, Any]:
    reader = Reader(driver)
    users = [int(r["u"]) for r in driver.execute_query(
        "MATCH (u:User)-[:RECOMMENDED]->() RETURN DISTINCT u.userId AS u")[0]]
    rng = np.random.default_rng(seed)
    watcher = Watcher(settings, runs)
    times: list[float] = []
    timeouts = 0
    try:
        for _ in range(n):
            user = int(rng.choice(users))
            movie = reader.recommend(user, K)[0]["movieId"]
            rate(settings, [NewRating(user, movie, 4.0, int(time.time()), "bench")])
            t0 = time.perf_counter()
            while True:
                rows = reader.recommend(user, K)
                if rows[0]["source"] == "model:live" and movie not in {r["movieId"] for r in rows}:
                    times.append(time.perf_counter() - t0)
                    break
                if time.perf_counter() - t0 > 15:
                    timeouts += 1
                    break
                time.sleep(0.01)
    finally:
        watcher.stop()
    stats = percentiles(times)
    print(f"  rate -> visible in for_user (--watch, 1 s polls, {n} ratings): p50 {stats['p50']:.2f}s, "
          f"p95 {stats['p95']:.2f}s, max {stats['max']:.2f}s (goal p95 <= 2 s); timeouts {timeouts}",
          flush=True)
    return {**stats, "timeouts": timeouts, "interval_s": 1.0}


def change_users(settings: Neo4jSettings, driver: Any, count: int, seed: int) -> list[int]:
    """``count`` users rate one popular movie they have not rated (new users fill up the rest)."""
    rows = driver.execute_query("MATCH (u:User) RETURN u.userId AS u ORDER BY u LIMIT $n", n=count)[0]
    users = [int(r["u"]) for r in rows]
    users += [10_000_000 + seed * 10_000 + j for j in range(count - len(users))]
    popular = [int(r["m"]) for r in driver.execute_query(
        "MATCH (m:Movie)<-[:RATED]-() WITH m, count(*) AS n ORDER BY n DESC LIMIT 300 "
        "RETURN m.movieId AS m")[0]]
    rated = {int(r["u"]): set(r["ms"]) for r in driver.execute_query(
        "UNWIND $us AS id MATCH (u:User {userId: id})-[:RATED]->(m) RETURN id AS u, collect(m.movieId) AS ms",
        us=users)[0]}
    rng = np.random.default_rng(seed)
    ratings = []
    for u in users:
        options = [m for m in popular if m not in rated.get(u, set())]
        ratings.append(NewRating(u, int(rng.choice(options)), 4.0, int(time.time()), "bench"))
    rate(settings, ratings)
    return users


def batch(settings: Neo4jSettings, driver: Any, runs: Path, count: int) -> dict[str, Any]:
    with open_refresher(Runner(driver), runs, report=lambda _: None) as refresher:
        refresher.load()
        change_users(settings, driver, count, seed=1)
        summary = refresher.refresh()
    in_memory = summary.visible_seconds
    change_users(settings, driver, count, seed=2)
    t0 = time.perf_counter()
    run_engine(settings, "refresh", "--runs", str(runs))
    command = time.perf_counter() - t0
    print(f"  batch refresh of {summary.users:,} changed users: {in_memory:.2f}s with the model in memory "
          f"(--watch); the whole `engine refresh` command {command:.1f}s (start, model load, 2 s grace, "
          f"cleanup) (goal <= 10 s)", flush=True)
    return {"users": summary.users, "in_memory_seconds": round(in_memory, 2),
            "command_seconds": round(command, 2), "edges": summary.edges}


def readers(driver: Any, users: list[int], clients: int, requests: int, seed: int) -> list[float]:
    reader = Reader(driver)
    rng = np.random.default_rng(seed)
    picks = [int(u) for u in rng.choice(users, size=clients * requests)]
    out: list[float] = []
    lock = threading.Lock()

    def client(mine: list[int]) -> None:
        local = []
        for u in mine:
            t0 = time.perf_counter()
            assert len(reader.recommend(u, K)) == K
            local.append((time.perf_counter() - t0) * 1000)
        with lock:
            out.extend(local)

    threads = [threading.Thread(target=client, args=(picks[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def under_refresh(settings: Neo4jSettings, driver: Any, runs: Path, requests: int,
                  seed: int) -> dict[str, Any]:
    users = [int(r["u"]) for r in driver.execute_query(
        "MATCH (u:User)-[:RECOMMENDED]->() RETURN DISTINCT u.userId AS u")[0]]
    idle = percentiles(readers(driver, users, 8, requests, seed))
    watcher = Watcher(settings, runs)
    stop = threading.Event()
    streamed = [0]

    def stream() -> None:  # about 20 users a second rate a movie
        rng = np.random.default_rng(seed + 1)
        reader = Reader(driver)
        while not stop.is_set():
            picks = [int(u) for u in rng.choice(users, size=10, replace=False)]
            rate(settings, [NewRating(u, reader.recommend(u, 1)[0]["movieId"], 4.0, int(time.time()),
                                      "bench") for u in picks])
            streamed[0] += len(picks)
            time.sleep(0.5)

    writer = threading.Thread(target=stream)
    writer.start()
    try:
        time.sleep(2)
        busy = percentiles(readers(driver, users, 8, requests, seed + 2))
    finally:
        stop.set()
        writer.join()
        watcher.stop()
    refreshed = sum(int(line.split("refreshed ")[1].split()[0]) for line in watcher.lines
                    if "refreshed " in line and "users" in line)
    print(f"  for_user, 8 clients: idle p50 {idle['p50']:.1f} ms p95 {idle['p95']:.1f} ms; while "
          f"{streamed[0]} ratings streamed in and --watch refreshed {refreshed} users: p50 "
          f"{busy['p50']:.1f} ms p95 {busy['p95']:.1f} ms (x{busy['p95'] / idle['p95']:.2f} at p95)",
          flush=True)
    return {"idle_ms": idle, "busy_ms": busy, "streamed_ratings": streamed[0], "refreshed_users": refreshed,
            "p95_ratio": round(busy["p95"] / idle["p95"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graphs", choices=GRAPHS, nargs="+", default=list(GRAPHS))
    parser.add_argument("--ratings", type=int, default=200, help="ratings timed for the latency")
    parser.add_argument("--batch-users", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=100, help="for_user requests per client")
    parser.add_argument("--seed", type=int, default=0)
    add_server_args(parser)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    report: dict[str, Any] = {"cpus": os.cpu_count(), "graphs": {}}
    with local_server(args) as local, tempfile.TemporaryDirectory(prefix="reelgraph-live-") as tmp:
        settings = client_settings(args, local)
        driver = connect(settings)
        try:
            for name in args.graphs:
                print(f"{name}:", flush=True)
                runs = Path(tmp) / name / "runs"
                entry = {"quality": quality(settings, driver, name, runs, Path(tmp))}
                entry["latency"] = latency(settings, driver, runs, args.ratings, args.seed)
                entry["batch"] = batch(settings, driver, runs, args.batch_users)
                entry["for_user_under_refresh"] = under_refresh(settings, driver, runs, args.requests,
                                                                args.seed)
                report["graphs"][name] = entry
        finally:
            driver.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
