"""Scale benchmark: the default pipeline at the SYNTHETIC MovieLens-25M shape, beside implicit ALS.

Three parts (``--parts``), each side by side with its reference in the same run:

* ``pipeline`` -- on a private local Neo4j 5.26 (temporary data directory), SYNTHETIC data
  of the ML-25M shape (162,541 users, 59,047 movies, 25M ratings; ``loader.synthetic``):
  1. bulk load (``loader.bulk.bulk_load``: CSVs, ``neo4j-admin database import``,
     constraints, verify);
  2. ``engine train`` as a user runs it (a subprocess; no ``--model``, so the size rule
     picks the default; top-20 + vectors + SIMILAR written back; ``--force``, because the
     SYNTHETIC ratings carry little beyond popularity, so the quality gate, which compares
     with popularity, says nothing here -- quality is the ``quality`` part's job, on real
     data). Its stages come from
     the run's ``stages.json``: export, train (validation selection on a seeded user
     sample + the refit), score (top-20 for every user), write-back;
  3. the reference in a subprocess: ``implicit`` ALS (64 factors, 15 iterations, BLAS
     limited to one thread as implicit advises) on the same ratings: fit, top-20 for
     every user (seen excluded), peak RSS.
  Per stage: wall seconds, edges/s, peak RSS of the Python process and of the Neo4j JVM.
* ``size-rule`` -- the dense ``temporal_filter`` against ``scalable_filter`` on SYNTHETIC
  graphs of growing catalogues (1M ratings), one fit each in a subprocess: fit seconds
  and peak RSS -- the measurement behind ``engine.models.sizing.DENSE_MAX_ITEMS``.
* ``quality`` -- ``scalable_filter`` forced onto ML-100K and ml-latest-small (P1, T1, T2,
  T4 of ``bench/quality.py``) beside the dense default and tuned implicit ALS, every one
  chosen on validation only: the ratio of the large-catalogue default to the dense one.

    python bench/scale.py                                  # all parts (~25 min on 2 cores)
    python bench/scale.py --parts pipeline --fraction 0.1  # a 2.5M-rating pipeline
    python bench/scale.py --parts quality size-rule

Writes ``bench/results/scale.json``. All pipeline and size-rule data is SYNTHETIC.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

USERS_25M, MOVIES_25M, RATINGS_25M = 162_541, 59_047, 25_000_000
from bench.load import jvm_peak_rss_mib  # noqa: E402  (VmHWM of a process, in MiB)

RESULTS = ROOT / "bench" / "results" / "scale.json"


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[int, float, float, str]:
    """Run ``cmd``; ``(returncode, wall seconds, peak RSS MiB, stdout)``.

    The peak is the child's own ``VmHWM``, polled while it runs (``wait4``'s ``ru_maxrss``
    would include this process's RSS at the fork).
    """
    t0 = time.perf_counter()
    peak = 0.0
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        while proc.poll() is None:
            try:
                peak = max(peak, jvm_peak_rss_mib(proc.pid))
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        out.seek(0)
        text = out.read()
    return proc.returncode, time.perf_counter() - t0, peak, text


# ----------------------------------------------------------------------------- reference
def als_child(path: Path, factors: int, iterations: int) -> None:
    """(subprocess) implicit ALS on the ratings in ``path``; prints one JSON line."""
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    z = np.load(path)
    x = sp.csr_matrix((np.ones(len(z["user"]), np.float32), (z["user"], z["item"])),
                      shape=(int(z["shape"][0]), int(z["shape"][1])))
    with threadpool_limits(1, "blas"):
        t0 = time.perf_counter()
        model = AlternatingLeastSquares(factors=factors, iterations=iterations, regularization=10.0,
                                        random_state=0)
        model.fit(x, show_progress=False)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.recommend(np.arange(x.shape[0]), x, N=20, filter_already_liked_items=True)
        rec_s = time.perf_counter() - t0
    print(json.dumps({"fit_s": fit_s, "recommend_s": rec_s}))


def reference(ratings_npz: Path) -> dict[str, Any]:
    code, wall, rss, out = run_child([sys.executable, __file__, "--als-child", str(ratings_npz)])
    if code != 0:
        raise RuntimeError(f"implicit ALS failed:\n{out[-2000:]}")
    row = json.loads(out.strip().splitlines()[-1])
    return {**row, "wall_s": wall, "peak_rss_mib": rss}


# ----------------------------------------------------------------------------- pipeline
def pipeline(args: argparse.Namespace) -> dict[str, Any]:
    from engine.db import LocalServer, free_port
    from engine.settings import ServerSettings
    from loader import generate_synthetic
    from loader.bulk import bulk_load

    users, movies = int(USERS_25M * args.fraction), int(MOVIES_25M * args.fraction ** 0.6)
    ratings = int(RATINGS_25M * args.fraction)
    out: dict[str, Any] = {"users": users, "movies": movies, "ratings": ratings, "synthetic": True}
    print(f"pipeline: SYNTHETIC {users:,} users x {movies:,} movies, {ratings:,} ratings", flush=True)
    with tempfile.TemporaryDirectory(prefix="reelgraph-scale-") as tmp:
        t = time.perf_counter()
        data = generate_synthetic(users=users, movies=movies, ratings=ratings, seed=0)
        out["generate_s"] = time.perf_counter() - t
        r = data.ratings
        npz = Path(tmp) / "ratings.npz"
        np.savez(npz, user=r["userId"].to_numpy() - 1, item=r["movieId"].to_numpy() - 1,
                 shape=np.array([users, movies]))
        server = LocalServer(ServerSettings(Path(tmp) / "neo4j", free_port(), free_port(),
                                            heap=args.heap, pagecache=args.pagecache))
        server.start(timeout=300)
        try:
            t = time.perf_counter()
            load = bulk_load(server, data, progress=False)
            out["load"] = {"seconds": time.perf_counter() - t, "edges_per_s": load.rated_per_second(),
                           "steps": load.seconds, "importer_peak_rss_mib": load.importer_peak_rss_mib}
            del data, r
            print(f"  bulk load {out['load']['seconds']:.0f}s", flush=True)
            pid = server.running_pid()
            assert pid is not None
            settings = server.client_settings()
            env = {**os.environ, "NEO4J_PASSWORD": settings.password or ""}
            runs = Path(tmp) / "runs"
            cmd = [sys.executable, "-m", "engine.cli", "--uri", settings.uri, "--user", settings.user,
                   "train", "--no-progress", "--force", "--out", str(runs)]
            code, wall, rss, text = run_child(cmd, env)
            if code != 0:
                raise RuntimeError(f"engine train failed:\n{text[-3000:]}")
            (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
            config = json.loads((run_dir / "config.json").read_text())
            stages = json.loads((run_dir / "stages.json").read_text())
            out["train"] = {"wall_s": wall, "python_peak_rss_mib": rss, "stages": stages,
                            "model": config["model"], "params": config["params"],
                            "tuning": config.get("tuning"), "export": config["exportStats"],
                            "neo4j_peak_rss_mib": jvm_peak_rss_mib(pid),
                            "output": text.strip().splitlines()[-8:]}
            print(f"  engine train {wall:.0f}s ({stages}), peak {rss:,.0f} MiB", flush=True)
        finally:
            server.stop()
        out["als"] = reference(npz)
        print(f"  implicit ALS fit {out['als']['fit_s']:.0f}s, top-20 {out['als']['recommend_s']:.0f}s",
              flush=True)
    return out


# ----------------------------------------------------------------------------- size rule
def fit_child(name: str, users: int, movies: int, ratings: int) -> None:
    """(subprocess) one fit of ``name`` with default parameters; prints one JSON line."""
    from engine.data import Interactions
    from engine.models import make_model
    from loader import generate_synthetic

    r = generate_synthetic(users=users, movies=movies, ratings=ratings, seed=0).ratings
    inter = Interactions(user=r["userId"].to_numpy(np.int64) - 1, item=r["movieId"].to_numpy(np.int64) - 1,
                         rating=r["rating"].to_numpy(np.float32), timestamp=r["timestamp"].to_numpy(np.int64),
                         num_users=users, num_items=movies)
    t0 = time.perf_counter()
    make_model(name).fit(inter)
    print(json.dumps({"fit_s": time.perf_counter() - t0}))


def size_rule(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for movies in args.catalogues:
        for name in ("temporal_filter", "scalable_filter"):
            code, wall, rss, text = run_child([sys.executable, __file__, "--fit-child", name,
                                               str(args.rule_users), str(movies), str(args.rule_ratings)])
            fit = json.loads(text.strip().splitlines()[-1])["fit_s"] if code == 0 else float("nan")
            rows.append({"model": name, "movies": movies, "fit_s": fit, "peak_rss_mib": rss,
                         "ok": code == 0})
            print(f"  size rule {name:<16} {movies:>7,} movies: fit {fit:6.1f}s, peak {rss:7,.0f} MiB",
                  flush=True)
    return rows


# ----------------------------------------------------------------------------- quality
def quality(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench.quality import cut, protocol_split, references, run_default, run_reference

    als = [r for r in references(quick=False, budget=0.0) if r["label"] == "implicit ALS"]
    rows = []
    for proto in args.protocols:
        spec, export, how, arg, split = protocol_split(proto)
        valid = cut(split.train, how, arg, seed=1)
        got = {name: run_default(name, export, split, how, arg)["test"]["ndcg@10"]
               for name in ("temporal_filter", "scalable_filter")}
        got["implicit ALS"] = run_reference(als[0], split, valid)["test"]["ndcg@10"] if als else float("nan")
        row = {"protocol": proto, "what": spec["what"], "movies": export.idmap.num_movies, **got,
               "ratio_to_dense": got["scalable_filter"] / got["temporal_filter"],
               "ratio_to_als": got["scalable_filter"] / got["implicit ALS"]}
        rows.append(row)
        print(f"  {proto}: scalable {got['scalable_filter']:.4f}  dense {got['temporal_filter']:.4f}  "
              f"ALS {got['implicit ALS']:.4f}  -> x{row['ratio_to_dense']:.3f} dense, "
              f"x{row['ratio_to_als']:.3f} ALS", flush=True)
    return rows


# ----------------------------------------------------------------------------- output
def print_tables(res: dict[str, Any]) -> None:
    if "pipeline" in res:
        p = res["pipeline"]
        st, ex, als = p["train"]["stages"], p["train"]["export"], p["als"]
        rows_written = p["users"] * 20
        print(f"\n| stage (SYNTHETIC {p['users']:,} x {p['movies']:,}, {p['ratings']:,} ratings) "
              "| wall s | edges/s | Python peak RSS | Neo4j peak RSS |\n|---|---|---|---|---|")
        print(f"| bulk load | {p['load']['seconds']:.0f} | {p['load']['edges_per_s']:,.0f} | – | "
              f"importer {p['load']['importer_peak_rss_mib'] or 0:,.0f} MiB |")
        print(f"| export | {st['export']:.0f} | {ex['edges_per_second']:,.0f} | "
              f"{p['train']['python_peak_rss_mib']:,.0f} MiB (whole `engine train`) | "
              f"{p['train']['neo4j_peak_rss_mib']:,.0f} MiB |")
        print(f"| train {p['train']['model']} (selection + refit) | {st['train']:.0f} | "
              f"{p['ratings'] / st['train']:,.0f} | | |")
        print(f"|   of which the refit | {st['refit']:.0f} | {p['ratings'] / st['refit']:,.0f} | | |")
        print(f"| score top-20 + vectors + SIMILAR | {st['score']:.0f} | – | | |")
        print(f"| write-back | {st['writeback']:.0f} | {rows_written / st['writeback']:,.0f} "
              "(RECOMMENDED rows) | | |")
        total = p["load"]["seconds"] + p["train"]["wall_s"]
        print(f"| **pipeline** (load + `engine train`) | **{total:.0f}** ({total / 60:.1f} min) | | | |")
        print(f"| implicit ALS fit (64 f, 15 it) | {als['fit_s']:.0f} | {p['ratings'] / als['fit_s']:,.0f} | "
              f"{als['peak_rss_mib']:,.0f} MiB | |")
        print(f"| implicit ALS top-20 every user | {als['recommend_s']:.0f} | – | | |")
        print(f"\nrefit / ALS fit = {st['refit'] / als['fit_s']:.2f}x; "
              f"score / ALS top-20 = {st['score'] / als['recommend_s']:.2f}x")
    if "size-rule" in res:
        print("\n| movies | temporal_filter fit s | peak MiB | scalable_filter fit s | peak MiB |\n"
              "|---|---|---|---|---|")
        by = {(r["model"], r["movies"]): r for r in res["size-rule"]}
        for movies in sorted({r["movies"] for r in res["size-rule"]}):
            d, s = by[("temporal_filter", movies)], by[("scalable_filter", movies)]
            print(f"| {movies:,} | {d['fit_s']:.1f} | {d['peak_rss_mib']:,.0f} | {s['fit_s']:.1f} | "
                  f"{s['peak_rss_mib']:,.0f} |")
    if "quality" in res:
        print("\n| protocol | movies | scalable_filter | temporal_filter | implicit ALS | ÷ dense | ÷ ALS |\n"
              "|---|---|---|---|---|---|---|")
        for r in res["quality"]:
            print(f"| {r['protocol']} ({r['what']}) | {r['movies']:,} | {r['scalable_filter']:.4f} | "
                  f"{r['temporal_filter']:.4f} | {r['implicit ALS']:.4f} | {r['ratio_to_dense']:.3f} | "
                  f"{r['ratio_to_als']:.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=["quality", "size-rule", "pipeline"],
                        choices=["pipeline", "size-rule", "quality"])
    parser.add_argument("--fraction", type=float, default=1.0, help="pipeline: scale of the 25M shape")
    parser.add_argument("--heap", default="3g", help="pipeline: Neo4j heap")
    parser.add_argument("--pagecache", default="2g", help="pipeline: Neo4j page cache")
    parser.add_argument("--catalogues", type=int, nargs="+", default=[2500, 5000, 10000, 15000])
    parser.add_argument("--rule-users", type=int, default=20_000)
    parser.add_argument("--rule-ratings", type=int, default=1_000_000)
    parser.add_argument("--protocols", nargs="+", default=["P1", "T1", "T2", "T4"])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--als-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fit-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.als_child:
        als_child(args.als_child, factors=64, iterations=15)
        return 0
    if args.fit_child:
        name, users, movies, ratings = args.fit_child
        fit_child(name, int(users), int(movies), int(ratings))
        return 0
    import logging
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    logging.basicConfig(level=logging.WARNING)
    res: dict[str, Any] = {"cpu_count": os.cpu_count()}
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for part in args.parts:
        print(f"\n== {part}", flush=True)
        res[part] = {"quality": quality, "size-rule": size_rule, "pipeline": pipeline}[part](args)
        previous.update({k: v for k, v in res.items()})
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(previous, indent=1, default=float))
    print_tables(res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
