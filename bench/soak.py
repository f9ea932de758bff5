"""Live soak: ratings stream in while ``engine refresh --watch`` runs, a train writes back, readers read.

On a private Neo4j (or ``--uri``, which is WIPED) holding ``--graph`` (ML-100K from
../shared by default; the bundled ml-latest-small with ``--graph ml-latest-small``), after
an untuned ``engine train`` has written a first run:

* **ratings**: about ``--rate`` per second through the checked path of ``engine rate``
  (:func:`engine.data.new_ratings.check_ratings` + ``cypher/live/rate``), from existing
  users rating new movies, re-ratings of pairs already rated, and new users. A rating
  that fails (Neo4j down) is retried until it is acknowledged, as a client would;
* ``engine refresh --watch`` (a separate process, 1 s polls) throughout;
* **one ``engine train``** started at ``--train-at`` of the duration; its write-back lands
  while the ratings stream;
* **readers** (``--readers`` threads) looping over ``for_user`` of random users.

Faults (``--faults``, any of): ``refresh`` SIGKILLs ``refresh --watch`` and starts it again
(the lease of a killed process on this host is taken over at once); ``neo4j`` SIGKILLs the
database and starts it again (needs the private server); ``train`` SIGKILLs the training
process while its write-back runs, then re-activates that run with ``engine writeback``.

Reported: ratings acknowledged and found in the graph with their last value (lost = the
rest; goal 0), rate -> visible p50/p95 (a new user's first rating until ``for_user`` shows
their personal ``model:live`` list), reads and empty or mixed reads (goal 0; reads that
failed while Neo4j was down are counted apart), and that the train's run became current.
Writes ``bench/results/soak.json``.

    python bench/soak.py                                  # 10 minutes on ML-100K
    python bench/soak.py --duration 90 --graph ml-latest-small --faults refresh,neo4j,train
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.live import Watcher, engine_cmd, engine_env, percentiles  # noqa: E402
from bench.writeback import add_server_args, client_settings, dataset, local_server  # noqa: E402
from engine.data.new_ratings import NewRating, check_ratings, scale_for  # noqa: E402
from engine.db import LocalServer  # noqa: E402
from engine.db.process import pid_alive, port_in_use, reap  # noqa: E402
from engine.graphdb import Runner, connect  # noqa: E402
from engine.graphdb.live import write_ratings  # noqa: E402
from engine.graphdb.reader import Reader  # noqa: E402
from engine.settings import Neo4jSettings  # noqa: E402
from loader.ingest import load_dataset, wipe  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "soak.json"
FAULTS = ("refresh", "neo4j", "train")
NEW_USER_BASE = 5_000_000


@dataclass
class Ledger:
    """What the soak did and saw (shared by its threads)."""

    acked: dict[tuple[int, int], float] = field(default_factory=dict)  # last acknowledged value
    written: int = 0
    retries: int = 0
    first_rating: dict[int, float] = field(default_factory=dict)  # new user -> ack time
    visible: dict[int, float] = field(default_factory=dict)  # new user -> seconds to model:live
    reads: Counter[str] = field(default_factory=Counter)
    bad_reads: list[Any] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    stream_s: float = 0.0  # how long ratings streamed (the duration, or longer while a fault ran)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def event(self, text: str, t0: float) -> None:
        line = f"{time.monotonic() - t0:7.1f}s {text}"
        with self.lock:
            self.events.append(line)
        print("  " + line, flush=True)


def start_watcher(settings: Neo4jSettings, runs: Path) -> Watcher:
    return Watcher(settings, runs, interval_s=1.0)


def rater(settings: Neo4jSettings, ledger: Ledger, users: list[int], movies: list[int], scale: Any,
          rate: float, stop: threading.Event, seed: int) -> None:
    """About ``rate`` ratings/s until ``stop``: new movies, re-ratings and new users (15% each)."""
    rng = np.random.default_rng(seed)
    known = set(movies)
    driver = connect(settings, verify=False)
    db = Runner(driver, settings.database)
    next_user = NEW_USER_BASE
    new_users: list[int] = []
    try:
        while not stop.is_set():
            tick = time.monotonic()
            roll = rng.random()
            with ledger.lock:
                pairs = list(ledger.acked) if roll < 0.15 else []
            if pairs:  # a re-rating of a pair rated during the soak
                user, movie = pairs[int(rng.integers(len(pairs)))]
            elif roll < 0.30:
                user, next_user = next_user, next_user + 1
                movie = int(movies[int(rng.integers(min(len(movies), 200)))])  # a popular one
            else:
                pool = new_users if new_users and rng.random() < 0.3 else users
                user, movie = int(pool[int(rng.integers(len(pool)))]), int(rng.choice(movies))
            value = float(scale.low + scale.step * int(rng.integers(round((scale.high - scale.low)
                                                                          / scale.step) + 1)))
            rating = NewRating(user, movie, value, int(time.time()), "soak")
            check_ratings([rating], scale, known)
            while not stop.is_set():
                try:
                    write_ratings(db, [user], [movie], [value], [rating.timestamp])
                    break
                except Exception:  # noqa: BLE001 - Neo4j down: retried until acknowledged
                    with ledger.lock:
                        ledger.retries += 1
                    time.sleep(0.5)
            else:
                return  # stopped before it was acknowledged: not counted as written
            now = time.monotonic()
            with ledger.lock:
                ledger.acked[(user, movie)] = value
                ledger.written += 1
                if user >= NEW_USER_BASE and user not in ledger.first_rating:
                    ledger.first_rating[user] = now
                    new_users.append(user)
            stop.wait(max(0.0, 1.0 / rate - (time.monotonic() - tick)))
    finally:
        driver.close()


def one_list(rows: list[dict[str, Any]]) -> bool:
    """Whether a ``for_user`` read shows one list: the model rows come from ONE run and ONE
    version of the user's list (the write-back's 'model' or a refresh's 'model:live', never
    both), in that order before any fill ('model:vector', then cold start, by design)."""
    stored = [r for r in rows if r["source"] in ("model", "model:live")]
    if len({r["source"] for r in stored}) > 1:
        return False
    runs = {r.get("runId") for r in rows if str(r["source"]).startswith("model")}
    order = ["model" if str(r["source"]).startswith("model") else "fill" for r in rows]
    return len(runs) <= 1 and order == sorted(order, key=lambda s: s != "model")


def reader(settings: Neo4jSettings, ledger: Ledger, users: list[int], k: int, stop: threading.Event,
           seed: int) -> None:
    """``for_user`` of random users until ``stop``; a read must be k distinct rows of one source."""
    rng = np.random.default_rng(seed)
    driver = connect(settings, verify=False)
    read = Reader(driver, settings.database)
    try:
        while not stop.is_set():
            user = int(users[int(rng.integers(len(users)))])
            try:
                rows = read.recommend(user, k)
            except Exception:  # noqa: BLE001 - Neo4j down (the neo4j fault): counted apart
                with ledger.lock:
                    ledger.reads["unavailable"] += 1
                time.sleep(0.2)
                continue
            ok = len(rows) == k and len({r["movieId"] for r in rows}) == k and one_list(rows)
            with ledger.lock:
                ledger.reads["ok" if ok else "bad"] += 1
                if not ok:
                    ledger.bad_reads.append((user, [(r["source"], r.get("runId")) for r in rows]))
    finally:
        driver.close()


def visibility(settings: Neo4jSettings, ledger: Ledger, k: int, stop: threading.Event) -> None:
    """Seconds from a new user's first acknowledged rating until ``for_user`` shows ``model:live``."""
    driver = connect(settings, verify=False)
    read = Reader(driver, settings.database)
    try:
        while not stop.is_set():
            with ledger.lock:
                pending = [(u, t) for u, t in ledger.first_rating.items() if u not in ledger.visible]
            for user, acked in pending:
                try:
                    rows = read.recommend(user, k)
                except Exception:  # noqa: BLE001 - Neo4j down
                    break
                if rows and rows[0]["source"] == "model:live":
                    with ledger.lock:
                        ledger.visible[user] = time.monotonic() - acked
            stop.wait(0.05)
    finally:
        driver.close()


def newest_run(runs: Path, old: set[str]) -> Path | None:
    fresh = [p for p in runs.iterdir() if p.name not in old and (p / "config.json").is_file()]
    return max(fresh, key=lambda p: p.stat().st_mtime) if fresh else None


def current_run(settings: Neo4jSettings) -> str | None:
    with connect(settings, verify=False) as driver:
        rows, _, _ = driver.execute_query("MATCH (r:ModelRun {current: true}) RETURN r.runId AS id",
                                          database_=settings.database)
    return str(rows[0]["id"]) if rows else None


def writeback_underway(driver: Any, database: str, pid: int) -> bool:
    """Whether process ``pid`` holds the write-back lease (its write-back has started)."""
    try:
        rows, _, _ = driver.execute_query(
            "MATCH (l:WritebackLease {name: 'writeback'}) RETURN l.owner AS owner", database_=database)
    except Exception:  # noqa: BLE001 - not yet: polled again
        return False
    return bool(rows) and f":{pid}:" in str(rows[0]["owner"])


def run_train(settings: Neo4jSettings, runs: Path, k: int, ledger: Ledger, t0: float, kill: bool,
              result: dict[str, Any]) -> None:
    """One ``engine train`` (its write-back lands during the stream); with ``kill``, SIGKILL it
    mid-write-back and re-activate its run with ``engine writeback``."""
    old = {p.name for p in runs.iterdir()}
    before = current_run(settings)
    ledger.event("engine train started", t0)
    log = tempfile.TemporaryFile(mode="w+")  # a pipe nobody reads could block the train
    proc = subprocess.Popen(engine_cmd("train", "--no-tune", "--top-k", str(k), "--no-progress",
                                       "--out", str(runs), "--wait"),
                            env=engine_env(settings), stdout=log, stderr=subprocess.STDOUT, text=True)
    with log:
        _await_train(settings, runs, proc, log, old, before, ledger, t0, kill, result)


def _await_train(settings: Neo4jSettings, runs: Path, proc: subprocess.Popen[str], log: Any,
                 old: set[str], before: str | None, ledger: Ledger, t0: float, kill: bool,
                 result: dict[str, Any]) -> None:
    if kill:
        with connect(settings, verify=False) as driver:
            while proc.poll() is None and not writeback_underway(driver, settings.database, proc.pid):
                time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            ledger.event("engine train SIGKILLed mid-write-back", t0)
            result["current_after_kill"] = current_run(settings)
            result["old_run_kept"] = result["current_after_kill"] == before
            run_dir = newest_run(runs, old)
            if run_dir is None:
                result["error"] = "the killed train left no run directory"
                return
            out = subprocess.run(engine_cmd("writeback", str(run_dir), "--no-progress", "--wait"),
                                 env=engine_env(settings), capture_output=True, text=True)
            ledger.event(f"engine writeback {run_dir.name} exited {out.returncode}", t0)
            result["writeback_exit"] = out.returncode
            result["run"] = run_dir.name
            result["became_current"] = current_run(settings) == run_dir.name
            if out.returncode:
                result["error"] = (out.stdout + out.stderr)[-2000:]
            return
    proc.wait()
    log.seek(0)
    out_text = log.read()
    run_dir = newest_run(runs, old)
    result["exit"] = proc.returncode
    result["run"] = run_dir.name if run_dir else None
    result["became_current"] = run_dir is not None and current_run(settings) == run_dir.name
    ledger.event(f"engine train exited {proc.returncode}; run {result['run']} current: "
                 f"{result['became_current']}", t0)
    if proc.returncode:
        result["error"] = out_text[-2000:]


def kill_neo4j(server: LocalServer, ledger: Ledger, t0: float) -> float:
    """SIGKILL the database, start it again; returns the seconds it was down."""
    pid = server.running_pid()
    assert pid is not None, "the neo4j fault needs the private server"
    down = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (pid_alive(pid) or port_in_use(server.settings.bolt_port)):
        reap(pid)
        time.sleep(0.2)  # the JVM takes a moment to die and free its ports
    ledger.event("Neo4j SIGKILLed", t0)
    server.start(timeout=300)
    ledger.event("Neo4j restarted", t0)
    return time.monotonic() - down


def verify(settings: Neo4jSettings, ledger: Ledger) -> dict[str, int]:
    """Every acknowledged rating is in the graph with its last acknowledged value."""
    pairs = list(ledger.acked.items())
    found, wrong = 0, 0
    with connect(settings) as driver:
        for lo in range(0, len(pairs), 5_000):
            chunk = pairs[lo:lo + 5_000]
            rows, _, _ = driver.execute_query(
                "UNWIND $rows AS row MATCH (:User {userId: row[0]})-[r:RATED]->(:Movie {movieId: row[1]}) "
                "RETURN row[0] AS u, row[1] AS m, r.rating AS rating",
                rows=[[u, m] for (u, m), _ in chunk], database_=settings.database)
            got = {(r["u"], r["m"]): r["rating"] for r in rows}
            for pair, value in chunk:
                if pair in got:
                    found += 1
                    wrong += int(abs(got[pair] - value) > 1e-9)
        stale, _, _ = driver.execute_query(
            "MATCH (u:User) WHERE u.userId >= $base AND u.liveRun IS NULL RETURN count(u) AS n",
            base=NEW_USER_BASE, database_=settings.database)
    return {"pairs": len(pairs), "found": found, "lost": len(pairs) - found, "wrong_value": wrong,
            "new_users_never_live": int(stale[0]["n"])}


def _stream(settings: Neo4jSettings, runs: Path, ledger: Ledger, stop: threading.Event, t0: float,
            watcher: list[Watcher], users: list[int], movies: list[int], name: str, *,
            duration_s: float, rate: float, readers: int, k: int, train_at: float,
            faults: tuple[str, ...], server: LocalServer | None, seed: int
            ) -> tuple[dict[str, Any], int, float]:
    """The rating stream, readers, the train and the faults; returns (train, restarts, downtime)."""
    ledger.event(f"soak of {duration_s:.0f}s on {name}: {rate:g} ratings/s, {readers} readers, "
                 f"faults: {', '.join(faults) or 'none'}", t0)
    threads = [threading.Thread(target=rater, args=(settings, ledger, users, movies, scale_for(name),
                                                    rate, stop, seed), daemon=True),
               threading.Thread(target=visibility, args=(settings, ledger, k, stop), daemon=True)]
    threads += [threading.Thread(target=reader, args=(settings, ledger, users, k, stop, seed + 1 + i),
                                 daemon=True) for i in range(readers)]
    for t in threads:
        t.start()
    train: dict[str, Any] = {}
    trainer = threading.Thread(target=run_train, args=(settings, runs, k, ledger, t0,
                                                       "train" in faults, train), daemon=True)
    schedule = sorted([(train_at * duration_s, "train")]
                      + [((0.5 + 0.15 * i) * duration_s, f) for i, f in enumerate(
                          f for f in faults if f != "train")])
    downtime = 0.0
    restarts = 0
    try:
        for at, what in schedule:
            while time.monotonic() - t0 < at:
                time.sleep(0.1)
            if what == "train":
                trainer.start()
                continue
            if trainer.is_alive():  # one fault at a time: the train (and its fault) first
                trainer.join(timeout=900)
            if what == "refresh":
                watcher[0].proc.send_signal(signal.SIGKILL)
                watcher[0].proc.wait()
                ledger.event("engine refresh --watch SIGKILLed; starting it again", t0)
                watcher[0] = start_watcher(settings, runs)
                restarts += 1
                ledger.event("engine refresh --watch is back", t0)
            elif what == "neo4j" and server is not None:
                downtime += kill_neo4j(server, ledger, t0)
        while time.monotonic() - t0 < duration_s:
            time.sleep(0.1)
        ledger.stream_s = time.monotonic() - t0
        ledger.event("rating stream stopped", t0)
        trainer.join(timeout=900)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    return train, restarts, downtime


def _catch_up(settings: Neo4jSettings, ledger: Ledger, k: int, timeout_s: float = 30.0) -> None:
    """After the stream: the watcher makes the last new users live (not timed)."""
    deadline = time.monotonic() + timeout_s
    with connect(settings, verify=False) as driver:
        read = Reader(driver, settings.database)
        while time.monotonic() < deadline and len(ledger.visible) < len(ledger.first_rating):
            for user in [u for u in ledger.first_rating if u not in ledger.visible]:
                rows = read.recommend(user, k)
                if rows and rows[0]["source"] == "model:live":
                    ledger.visible[user] = float("nan")
            time.sleep(0.5)


def soak(settings: Neo4jSettings, runs: Path, *, duration_s: float, rate: float = 20.0,
         readers: int = 2, k: int = 10, train_at: float = 0.3, faults: tuple[str, ...] = (),
         server: LocalServer | None = None, seed: int = 0) -> dict[str, Any]:
    """The soak on a graph that holds a release and a current run of ``runs``; returns its figures."""
    for fault in faults:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose from {', '.join(FAULTS)}")
    if "neo4j" in faults and server is None:
        raise ValueError("the neo4j fault needs the private server (no --uri)")
    with connect(settings) as driver:
        users = [int(r["u"]) for r in driver.execute_query(
            "MATCH (u:User) WHERE u.userId < $base RETURN u.userId AS u ORDER BY u",
            base=NEW_USER_BASE, database_=settings.database)[0]]
        movies = [int(r["movie"]) for r in driver.execute_query(
            "MATCH (m:Movie) RETURN m.movieId AS movie ORDER BY m.ratingCount DESC, movie",
            database_=settings.database)[0]]
        name = driver.execute_query("MATCH (d:Dataset) RETURN d.name AS n",
                                    database_=settings.database)[0][0]["n"]
    ledger, stop, t0 = Ledger(), threading.Event(), time.monotonic()
    watcher = [start_watcher(settings, runs)]
    try:
        train, restarts, downtime = _stream(settings, runs, ledger, stop, t0, watcher, users, movies,
                                            name, duration_s=duration_s, rate=rate, readers=readers,
                                            k=k, train_at=train_at, faults=faults, server=server,
                                            seed=seed)
        _catch_up(settings, ledger, k)
    finally:
        watcher[0].stop()  # never left running, whatever failed
    checked = verify(settings, ledger)
    timed = [v for v in ledger.visible.values() if np.isfinite(v)]
    lat = percentiles(timed) if timed else {"n": 0}
    out = {
        "graph": name, "duration_s": duration_s, "rate_per_s": rate, "readers": readers, "k": k,
        "faults": list(faults), "ratings_written": ledger.written,
        "stream_s": round(ledger.stream_s, 1),
        "ratings_per_s": round(ledger.written / max(ledger.stream_s, 1e-9), 1),
        "pairs": checked["pairs"], "ratings_visible": checked["found"] - checked["wrong_value"],
        "lost": checked["lost"],
        "wrong_value": checked["wrong_value"], "write_retries": ledger.retries,
        "new_users": len(ledger.first_rating), "new_users_live": len(ledger.visible),
        "rate_to_visible_s": lat, "reads": int(ledger.reads["ok"] + ledger.reads["bad"]),
        "bad_reads": int(ledger.reads["bad"]), "bad_examples": ledger.bad_reads[:5],
        "reads_unavailable": int(ledger.reads["unavailable"]), "train": train,
        "refresh_restarts": restarts, "neo4j_down_s": round(downtime, 1), "events": ledger.events,
    }
    return out


def table(r: dict[str, Any]) -> str:
    lat = r["rate_to_visible_s"]
    rows = [
        ("graph", r["graph"]),
        ("duration", f"{r['duration_s']:.0f} s (ratings streamed {r['stream_s']:.0f} s)"),
        ("faults", ", ".join(r["faults"]) or "none"),
        ("ratings written (acknowledged)", f"{r['ratings_written']:,} ({r['ratings_per_s']}/s)"),
        ("(user, movie) pairs rated / in the graph with their last value",
         f"{r['pairs']:,} / {r['ratings_visible']:,}"),
        ("lost ratings (goal 0)", f"{r['lost']} (+{r['wrong_value']} with another value)"),
        ("rate -> visible p50 / p95", f"{lat.get('p50', float('nan')):.2f} s / "
                                      f"{lat.get('p95', float('nan')):.2f} s (n={lat.get('n', 0)})"),
        ("new users personalised", f"{r['new_users_live']} of {r['new_users']}"),
        ("reads", f"{r['reads']:,}"), ("empty or mixed reads (goal 0)", str(r["bad_reads"])),
        ("reads while Neo4j was down", str(r["reads_unavailable"])),
        ("train's run became current", str(r["train"].get("became_current"))),
    ]
    if "old_run_kept" in r["train"]:
        rows.append(("killed train: old run stayed current", str(r["train"]["old_run_kept"])))
    if r["neo4j_down_s"]:
        rows.append(("Neo4j down (SIGKILL to restarted)", f"{r['neo4j_down_s']} s"))
    width = max(len(a) for a, _ in rows)
    return "\n".join(f"  {a:<{width}}  {b}" for a, b in rows)


def prepare(settings: Neo4jSettings, graph: str, runs: Path, k: int) -> None:
    """Load ``graph`` and write a first run (untuned ``engine train``)."""
    with connect(settings) as driver:
        wipe(Runner(driver, settings.database), batch=2_000)
        load_dataset(Runner(driver, settings.database), dataset(graph), progress=False)
    out = subprocess.run(engine_cmd("train", "--no-tune", "--top-k", str(k), "--no-progress",
                                    "--out", str(runs)),
                         env=engine_env(settings), capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"engine train exited {out.returncode}:\n{out.stdout}{out.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph", default="ml-100k", choices=("ml-100k", "ml-latest-small"))
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of rating stream")
    parser.add_argument("--rate", type=float, default=20.0, help="ratings per second")
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--train-at", type=float, default=0.3, help="share of the duration")
    parser.add_argument("--faults", default="", help=f"comma list of {', '.join(FAULTS)}")
    parser.add_argument("--out", type=Path, default=RESULTS)
    add_server_args(parser)
    args = parser.parse_args()
    faults = tuple(f for f in args.faults.split(",") if f)
    with local_server(args) as local, tempfile.TemporaryDirectory(prefix="soak-runs-") as tmp:
        settings = client_settings(args, local)
        runs = Path(tmp)
        prepare(settings, args.graph, runs, 10)
        result = soak(settings, runs, duration_s=args.duration, rate=args.rate, readers=args.readers,
                      train_at=args.train_at, faults=faults, server=local)
    print(table(result), flush=True)
    key = f"{args.graph}-{int(args.duration)}s-" + ("+".join(faults) or "no-faults")
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    previous[key] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(previous, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
