"""Export benchmark: RATED edges out of a real local Neo4j into numpy arrays.

Side by side in one run, on the same server and (SYNTHETIC) data:

* ``reelgraph`` -- ``engine.export.export_subgraph`` (per-user chunks, parallel lists,
  two sessions);
* ``reference`` -- the textbook one-row-per-edge query
  ``MATCH (u:User)-[r:RATED]->(m:Movie) RETURN u.userId, m.movieId, r.rating, r.timestamp``
  read with the driver into lists, then numpy.

    python bench/export.py --ratings 1000000
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ratings", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "export.json")
    args = ap.parse_args()
    users, movies = shape(args.ratings)
    data = generate_synthetic(users=users, movies=movies, ratings=args.ratings, seed=0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="rg-bench-") as tmp:
        server = LocalServer(ServerSettings(Path(tmp), free_port(), free_port(), "4g", "2g"))
        server.start(timeout=300)
        driver = connect(server.client_settings())
        try:
            load_dataset(Runner(driver), data, progress=False)
            for rep in range(args.repeats):  # first repeat warms the page cache and the JIT
                exp = export_subgraph(driver, progress=False)
                n_ref, t_ref = reference_export(driver)
                assert len(exp.interactions) == n_ref == args.ratings
                row = {
                    "repeat": rep, "edges": n_ref, "synthetic": True,
                    "reelgraph_edges_per_s": round(exp.stats["edges_per_second"]),
                    "reelgraph_total_s": round(exp.stats["seconds"], 2),
                    "reference_edges_per_s": round(n_ref / t_ref),
                }
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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
