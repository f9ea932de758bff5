"""Export benchmark: RATED edges out of a real local Neo4j into numpy arrays.

Side by side in one run, on the same server and (SYNTHETIC) data:

* ``reelgraph`` -- ``engine.export.export_subgraph`` (per-user chunks, parallel lists,
  two sessions);
* ``reference`` -- the textbook one-row-per-edge query
  ``MATCH (u:User)-[r:RATED]->(m:Movie) RETURN u.userId, m.movieId, r.rating, r.timestamp``
  read with the driver into lists, then numpy;
* ``--before REV`` -- ``export_subgraph`` as it was at git revision ``REV``, in its own
  interpreter, on the same server, alternately with today's;
* ``ceiling`` -- what the server alone does: the export statement with its lists counted
  in the server instead of sent (no Bolt transfer, no decoding), on two sessions; and the
  same traversal without any property read. The gap between these and the export is the
  transfer and decoding cost on this machine.

    python bench/export.py --ratings 1000000 --before ad980fe
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._revision import at_revision, run_at  # noqa: E402
from bench.load import shape  # noqa: E402
from engine.db import LocalServer, free_port  # noqa: E402
from engine.graphdb import Runner, connect  # noqa: E402
from engine.graphdb.export import export_subgraph  # noqa: E402
from engine.settings import ServerSettings  # noqa: E402
from loader import generate_synthetic  # noqa: E402
from loader.ingest import load_dataset  # noqa: E402

REFERENCE = "MATCH (u:User)-[r:RATED]->(m:Movie) RETURN u.userId, m.movieId, r.rating, r.timestamp"


def reference_export(driver) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    users, movies, ratings, stamps = [], [], [], []
    with driver.session() as session:
        for rec in session.run(REFERENCE):
            users.append(rec[0])
            movies.append(rec[1])
            ratings.append(rec[2])
            stamps.append(rec[3])
    arrays = (np.array(users), np.array(movies), np.array(ratings), np.array(stamps))
    return len(arrays[0]), time.perf_counter() - t0


OLD_EXPORT = """
import json
from engine.graphdb import connect
from engine.graphdb.export import export_subgraph
from engine.settings import Neo4jSettings
driver = connect(Neo4jSettings.from_env())
exp = export_subgraph(driver, progress=False)
print(json.dumps({"edges": len(exp.interactions), "edges_per_second": exp.stats["edges_per_second"],
                  "seconds": exp.stats["seconds"]}))
"""

SERVER_ONLY = """
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})-[r:RATED]->(m:Movie)
WITH userId, collect(id(m)) AS a, collect(r.rating) AS b, collect(r.timestamp) AS c
RETURN sum(size(a) + size(b) + size(c)) / 3 AS n
"""

TRAVERSAL_ONLY = """
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})-[:RATED]->(m:Movie)
WITH userId, collect(id(m)) AS a
RETURN sum(size(a)) AS n
"""


def server_ceiling(driver, text: str, workers: int = 2) -> float:  # type: ignore[no-untyped-def]
    """Edges/s of ``text`` run by user chunks of ~100k ratings over ``workers`` sessions."""
    from concurrent.futures import ThreadPoolExecutor

    from engine.data.selection import Selection
    from engine.graphdb.export import edge_chunks, eligible_users

    users, degrees = eligible_users(Runner(driver), Selection())
    chunks = [users[lo:hi].tolist() for lo, hi in edge_chunks(degrees, 100_000, 5_000)]

    def one(ids: list[int]) -> int:
        with driver.session(default_access_mode="READ") as session:
            return int(session.run(text, userIds=ids).single()[0])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        n = sum(pool.map(one, chunks))
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ratings", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--before", metavar="REV", help="also run export_subgraph as it was at REV")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "export.json")
    args = ap.parse_args()
    users, movies = shape(args.ratings)
    data = generate_synthetic(users=users, movies=movies, ratings=args.ratings, seed=0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="rg-bench-") as tmp:
        server = LocalServer(ServerSettings(Path(tmp), free_port(), free_port(), "4g", "2g"))
        server.start(timeout=300)
        client = server.client_settings()
        env = {"NEO4J_URI": client.uri, "NEO4J_USER": client.user,
               "NEO4J_PASSWORD": client.password or ""}
        driver = connect(client)
        try:
            load_dataset(Runner(driver), data, progress=False)
            with (at_revision(args.before) if args.before else tempfile.TemporaryDirectory()) as old:
                for rep in range(args.repeats):  # first repeat warms the page cache and the JIT
                    exp = export_subgraph(driver, progress=False)
                    n_ref, t_ref = reference_export(driver)
                    assert len(exp.interactions) == n_ref == args.ratings
                    row: dict[str, object] = {
                        "repeat": rep, "edges": n_ref, "synthetic": True,
                        "reelgraph_edges_per_s": round(exp.stats["edges_per_second"]),
                        "reelgraph_total_s": round(exp.stats["seconds"], 2),
                        "reference_edges_per_s": round(n_ref / t_ref),
                        "server_only_edges_per_s": round(server_ceiling(driver, SERVER_ONLY)),
                        "traversal_only_edges_per_s": round(server_ceiling(driver, TRAVERSAL_ONLY)),
                    }
                    if args.before:
                        prev = run_at(Path(old), OLD_EXPORT, env)
                        assert prev["edges"] == n_ref
                        row[f"before_{args.before}_edges_per_s"] = round(prev["edges_per_second"])
                        row[f"before_{args.before}_total_s"] = round(prev["seconds"], 2)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        finally:
            driver.close()
            server.stop()
    last = rows[-1]
    print(f"\nexport of {last['edges']:,} SYNTHETIC RATED edges (warm, repeat {last['repeat']}):")
    print(f"  reelgraph  {last['reelgraph_edges_per_s']:>10,} edges/s")
    print(f"  reference  {last['reference_edges_per_s']:>10,} edges/s")
    print(f"  ratio      {last['reelgraph_edges_per_s'] / last['reference_edges_per_s']:>10.1f}x"
          f"   (goal 1,000,000 edges/s: {last['reelgraph_edges_per_s'] / 1e6:.2f} of it)")
    if args.before:
        before = last[f"before_{args.before}_edges_per_s"]
        print(f"  at {args.before} {before:>10,} edges/s   (now / before "
              f"{last['reelgraph_edges_per_s'] / before:.2f}x; whole export "
              f"{last[f'before_{args.before}_total_s']} s -> {last['reelgraph_total_s']} s)")
    print(f"  ceiling: the server alone (lists counted, not sent) "
          f"{last['server_only_edges_per_s']:,} edges/s; traversal without property reads "
          f"{last['traversal_only_edges_per_s']:,} edges/s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
