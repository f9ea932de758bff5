"""``engine evaluate``: a held-out split, selection on a validation carve of train, test once.

The JSON report goes where ``out`` says, else next to the runs
(``RUNS_DIR/eval-TIMESTAMP-MODEL/evaluation.json``), never into the working directory.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.selection import Export, Selection
from engine.errors import InputError
from engine.evaluate.segments import THRESHOLDS, Thresholds
from engine.jobs.train import Device, check_params, choose_model, describe_export, export, resolve_device
from engine.models import DEFAULT_MODEL
from engine.settings import Neo4jSettings
from engine.training.protocols import (
    Evaluation,
    SplitName,
    check_split,
    evaluate_holdout,
    make_split,
    validation_carve_for,
)

log = logging.getLogger(__name__)

Report = Callable[[str], None]


@dataclass(frozen=True)
class Protocol:
    """The test split: ``how`` and its knobs (see :func:`engine.training.protocols.make_split`)."""

    how: str = "random"  # random | temporal-last-n | temporal-fraction | temporal-cutoff | ml100k-u1
    test_ratio: float = 0.25
    last_n: int = 1
    fraction: float = 0.2
    cutoff: int | None = None
    u1_path: Path | None = None
    seed: int = 0


def u1_pairs(path: Path, exp: Export) -> np.ndarray:
    """``[n, 2]`` (user index, movie index) pairs of ML-100K's ``u1.test``."""
    from loader.folds import read_fold

    frame = read_fold(path, "u1.test")
    try:
        return np.column_stack([exp.idmap.user_index(frame["userId"].to_numpy()),
                                exp.idmap.movie_index(frame["movieId"].to_numpy())])
    except KeyError as exc:
        raise InputError(f"{path}: u1.test does not match the loaded graph ({exc}); "
                         "load ml-100k first (engine load ml-100k --path ...)") from exc


def evaluate(settings: Neo4jSettings, *, model: str | None = None,
             params: dict[str, Any] | None = None, selection: Selection | None = None,
             protocol: Protocol = Protocol(), valid_ratio: float = 0.25, tune: bool = True,
             ks: tuple[int, ...] = (10, 20), segments: Thresholds = THRESHOLDS,
             device: Device = "auto", out: Path | None = None, runs_dir: Path = Path("runs"),
             progress: bool = True, fastrp_features: int = 0,
             report: Report = log.info) -> tuple[Evaluation, Path]:
    """Evaluate ``model`` beside popularity; returns the result and where its JSON went.

    A model that runs in the database (``gds_fastrp``), or ``fastrp_features`` > 0, uses the
    server's Graph Data Science on each fit's train pairs only (:mod:`engine.jobs.gds`).
    """
    name = model or DEFAULT_MODEL
    model_params = resolve_device(device, name, dict(params or {}))
    check_params(model, model_params)
    if protocol.how == "ml100k-u1" and protocol.u1_path is None:
        raise InputError("--split ml100k-u1 needs --u1 PATH (the ml-100k zip or folder)")
    selection = selection or Selection(seed=protocol.seed)
    exp, dataset, _, _ = export(settings, selection, progress=progress)
    report(describe_export(exp))
    name = choose_model(model, exp, model_params, report)
    pairs = u1_pairs(protocol.u1_path, exp) if protocol.how == "ml100k-u1" else None  # type: ignore[arg-type]
    how: SplitName = "pairs" if protocol.how == "ml100k-u1" else protocol.how  # type: ignore[assignment]
    split = make_split(exp.interactions, how, ratio=protocol.test_ratio, seed=protocol.seed,
                       last_n=protocol.last_n, fraction=protocol.fraction, cutoff=protocol.cutoff,
                       test_pairs=pairs)
    check_split(split)  # before any fit or in-database graph projection
    carve = validation_carve_for(how)
    meta = {"split": protocol.how, "test_ratio": protocol.test_ratio, "last_n": protocol.last_n,
            "fraction": protocol.fraction, "seed": protocol.seed, "ks": list(ks), "dataset": dataset,
            "selection": selection.as_dict(), "valid_carve": carve,
            "train_rows": len(split.train), "test_rows": len(split.test)}
    with ExitStack() as stack:
        from engine.jobs.gds import open_graph_for

        graph_for = open_graph_for(stack, settings, name, exp, fastrp_features)
        if graph_for is not None:
            meta["fastrp_features"] = fastrp_features
        result = evaluate_holdout(
            exp, name, model_params, split, protocol=meta, ks=ks,
            valid_ratio=protocol.fraction if carve == "temporal-fraction" else valid_ratio,
            seed=protocol.seed, tune=tune, segments=segments, carve=carve,
            last_n=protocol.last_n, graph_for=graph_for)
    if out is None:
        out = runs_dir / f"eval-{datetime.now(UTC):%Y%m%d-%H%M%S}-{name}" / "evaluation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result.as_dict(), indent=2, default=float))
    return result, out
