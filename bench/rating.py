"""Rating-prediction benchmark on ML-100K ``u1.base`` / ``u1.test`` (RMSE, MAE, train time).

Side by side in one run, same split, same CPU:

* ``global_mean``       -- predict the mean train rating;
* ``biased_mf_rating``  -- μ + b_u + b_i + p_u·q_i, MSE (engine.models.rating.BiasedMF);
* ``hetero_sage_rating``-- GC-MC-style hetero GraphSAGE (one relation per rating level,
  user/movie features, genre nodes) + biased-MF decoder (HeteroSAGERatingModel);
* ``i_autorec``         -- I-AutoRec (ItemAutoRec);
* ``kernel_autorec``    -- GLocal-K's local-kernel item autoencoder (KernelAutoRec);
* ``rating_blend``      -- the graph model, I-AutoRec and the kernel autoencoder, five
  seeds each, blended by ridge weights fitted on the validation part (RatingBlend).

Protocol: a validation part is carved from ``u1.base`` (per-user random, ``--valid-ratio``,
seed ``--valid-seed``); each model picks its epoch on it (RMSE, restore-best). With
``--refit`` (default) it is then refitted on all of ``u1.base`` for exactly that many
epochs (features recomputed on ``u1.base``). ``u1.test`` is touched once, at the end.
``--ensemble K`` averages K seeds. Published reference (same split): GC-MC 0.910,
IGMC 0.905, GLocal-K 0.8889.

    python bench/rating.py                 # ~1-3 min on 2 shared CPU cores
    python bench/rating.py --ensemble 5 --no-refit
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._data import ML100K_ZIP, load_ml100k_fold  # noqa: E402
from engine.data import IdMap, Interactions  # noqa: E402
from engine.data.features import node_features  # noqa: E402
from engine.data.hetero import to_hetero_data  # noqa: E402
from engine.data.splits import per_user_random  # noqa: E402
from engine.evaluate.metrics import rating_metrics  # noqa: E402
from engine.models import ItemAutoRec, KernelAutoRec, RatingBlend, Recommender  # noqa: E402
from engine.models.hetero.rating import HeteroSAGERatingModel  # noqa: E402
from engine.models.rating import BiasedMF  # noqa: E402
from loader import read_movielens  # noqa: E402

#: The models' defaults were chosen on the u1.base validation part (never on u1.test).
CONFIGS: dict[str, tuple[type[Recommender], dict[str, Any]]] = {
    "biased_mf_rating": (BiasedMF, {}),
    "hetero_sage_rating": (HeteroSAGERatingModel, {}),
    "i_autorec": (ItemAutoRec, {}),
    "kernel_autorec": (KernelAutoRec, {}),
    "rating_blend": (RatingBlend, {}),
}


def side_frames(idmap: IdMap, zip_path: Path) -> dict[str, Any]:
    """Movies and users frames in IdMap order (one row per index)."""
    data = read_movielens(zip_path)
    movies = data.movies.set_index("movieId").loc[idmap.movies].reset_index()
    users = data.users.set_index("userId").loc[idmap.users].reset_index()
    return {"movies": movies, "users": users, "idmap": idmap}


def graph(train: Interactions, frames: dict[str, Any]) -> Any:
    """The HeteroData training graph of ``train`` (features fitted on it)."""
    feats = node_features(train, frames["movies"], frames["users"])
    return to_hetero_data(frames["idmap"], train, frames["movies"], feats)


def run_model(
    cls: type[Recommender], params: dict[str, Any], base: Interactions,
    test: Interactions, frames: dict[str, Any], args: argparse.Namespace,
) -> dict[str, Any]:
    """Select the epoch on validation, optionally refit, predict u1.test (K-seed mean)."""
    split = per_user_random(base, test_ratio=args.valid_ratio, seed=args.valid_seed)
    preds, valids, epochs = [], [], []
    t0 = time.perf_counter()
    for k in range(args.ensemble):
        seeded = dict(params, seed=k * 100)  # a blend's members take seeds seed..seed+4
        model = cls(**seeded)
        hist = model.fit(split.train, split.test,
                         graph(split.train, frames) if model.needs_graph else None)
        valids.append(hist.best_valid)
        epochs.append(hist.best_epoch)
        if args.refit:  # the epochs (and a blend's weights) chosen on validation, replayed
            replay = dict(seeded, **model.learned_params())
            if hist.iterative:
                replay["epochs"] = max(1, hist.best_epoch)
            model = cls.create(replay)
            model.fit(base, None, graph(base, frames) if model.needs_graph else None)
        preds.append(model.predict(test.user, test.item))
    seconds = time.perf_counter() - t0
    m = rating_metrics(test.rating, np.mean(preds, axis=0))
    return {"model": cls.name, "params": params, "valid_rmse": float(np.mean(valids)),
            "best_epochs": epochs, "test_rmse": m["rmse"], "test_mae": m["mae"],
            "train_seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fold", default="u1")
    ap.add_argument("--valid-ratio", type=float, default=0.1)
    ap.add_argument("--valid-seed", type=int, default=1)
    ap.add_argument("--refit", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--ensemble", type=int, default=1, help="seeds averaged per model")
    ap.add_argument("--models", default=",".join(CONFIGS))
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 is fastest on a shared 2-core box)")
    ap.add_argument("--zip", type=Path, default=ML100K_ZIP)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "rating.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    idmap, base, test = load_ml100k_fold(args.fold, args.zip)
    frames = side_frames(idmap, args.zip)
    mu = float(base.rating.mean())
    gm = rating_metrics(test.rating, np.full(len(test), mu))
    rows = [{"model": "global_mean", "params": {}, "valid_rmse": None, "best_epochs": [],
             "test_rmse": gm["rmse"], "test_mae": gm["mae"], "train_seconds": 0.0}]
    for name in args.models.split(","):
        cls, params = CONFIGS[name]
        rows.append(run_model(cls, params, base, test, frames, args))
        print(json.dumps(rows[-1]), flush=True)

    print(f"\nML-100K {args.fold}.base -> {args.fold}.test ({len(base)} / {len(test)} ratings), "
          f"valid {args.valid_ratio:.0%} of base (seed {args.valid_seed}), "
          f"refit={args.refit}, ensemble={args.ensemble}, torch threads={args.threads}")
    print(f"{'model':<20} {'test RMSE':>9} {'test MAE':>9} {'valid RMSE':>10} "
          f"{'epochs':>10} {'train s':>8}")
    for r in rows:
        valid = f"{r['valid_rmse']:.4f}" if r["valid_rmse"] is not None else "-"
        eps = ",".join(map(str, r["best_epochs"])) or "-"
        print(f"{r['model']:<20} {r['test_rmse']:>9.4f} {r['test_mae']:>9.4f} {valid:>10} "
              f"{eps:>10} {r['train_seconds']:>8.1f}")
    print("published (u1): GC-MC 0.910, IGMC 0.905, GLocal-K 0.8889")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"dataset": f"ml-100k {args.fold}", "valid_ratio": args.valid_ratio,
              "valid_seed": args.valid_seed, "refit": args.refit, "ensemble": args.ensemble,
              "torch_threads": args.threads, "cpu_count": os.cpu_count(), "results": rows}
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
