"""``engine train``: export a Cypher-selected subgraph, select on validation, refit, save, write back.

Parameters are checked before anything is exported (an unknown name or a value out of
range fails in a second, naming the parameter). The run directory is always complete,
its ``writeback/`` folder included, so a run trained with ``--no-writeback`` can be
written later with ``engine writeback``. The run records the graph it was trained on
(:func:`engine.graphdb.binding.read_binding`) and its quality gate: its validation metric
beside the baseline's on the same validation split (:mod:`engine.writeback.gate`); the
write-back checks both before it writes anything.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from engine.data.selection import Export, Selection
from engine.data.splits import Split
from engine.errors import ParameterError
from engine.evaluate.metrics import rating_metrics
from engine.graphdb import Runner, open_driver
from engine.graphdb.binding import DatasetMismatchError, read_binding
from engine.graphdb.export import export_subgraph
from engine.graphdb.lease import WAIT_MAX_S
from engine.graphdb.live import now
from engine.graphdb.recommended import unstamped_ratings
from engine.graphdb.writeback import write_back
from engine.models import DEFAULT_MODEL, MODELS, PopularityRecommender, make_model, model_class
from engine.models.sizing import DENSE, SCALABLE, check_memory, default_model_for
from engine.settings import Neo4jSettings
from engine.training.checkpoint import git_sha, new_run_id, save_run
from engine.training.protocols import fit_production
from engine.training.selection import Carve, validation_score
from engine.viz.training import plot_history
from engine.writeback import WritebackSummary, build_run_output, save_run_output
from engine.writeback.gate import RANKING_METRIC, QualityGateError, gate_record
from engine.writeback.rated import KnownRatings

log = logging.getLogger(__name__)

Report = Callable[[str], None]
Device = Literal["auto", "cpu", "cuda"]
Store = Literal["memory", "neo4j"]


def resolve_device(choice: Device, model: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with ``device`` set for torch models (``auto``: cuda when available)."""
    if "device" not in make_model(model).get_params() or "device" in params:
        return params
    if choice == "auto":
        import torch

        choice = "cuda" if torch.cuda.is_available() else "cpu"
    return {**params, "device": choice}


def export(settings: Neo4jSettings, selection: Selection, *, progress: bool = True
           ) -> tuple[Export, dict[str, Any], str, int]:
    """The selected subgraph, the graph it came from (dataset binding), and when (database clock).

    ``engine refresh`` folds in the ratings written (``ratedAt``) after that time. The last
    item is the number of ratings without ``ratedAt`` before the export, for the
    write-back's already-rated check (:func:`known_ratings`).
    """
    with open_driver(settings) as driver:
        db = Runner(driver, settings.database)
        started, unstamped = now(db), unstamped_ratings(db)
        exp = export_subgraph(driver, selection, database=settings.database, progress=progress)
        binding = read_binding(db)
    return exp, binding, started, unstamped


def known_ratings(exp: Export, selection: Selection, started: str, unstamped: int) -> KnownRatings | None:
    """What the export saw of its users' ratings, when it saw all of them (no edge filter)."""
    if not selection.keeps_every_rating:
        return None
    return KnownRatings.from_interactions(exp.interactions, exp.idmap, started, unstamped)


def baseline_on_validation(split: Split, task: str) -> tuple[str, float]:
    """The quality gate's baseline on ``split``, the validation split the model was selected on.

    Ranking: popularity's NDCG@10; rating: the RMSE of predicting the global mean rating.
    """
    if task == "rating":
        mean = float(np.mean(split.train.rating)) if len(split.train) else float("nan")
        rmse = rating_metrics(split.test.rating, np.full(len(split.test), mean))["rmse"]
        return "global mean", rmse
    popularity = PopularityRecommender()
    popularity.fit(split.train)
    value = validation_score(popularity, split.train, split.test).get(RANKING_METRIC, float("nan"))
    return PopularityRecommender.name, value


def check_params(model: str | None, params: dict[str, Any] | None) -> None:
    """``params`` must suit ``model`` or, with no model named, one of the size rule's defaults."""
    if model is not None:
        make_model(model, params)
        return
    try:
        make_model(DENSE, params)
    except ParameterError:
        make_model(SCALABLE, params)  # a scalable-only parameter; otherwise this error is the news


def choose_model(model: str | None, exp: Export, params: dict[str, Any], report: Report) -> str:
    """``model``, or the size rule's default for the exported catalogue; memory checked.

    A fit that would not fit in the available memory stops here with one line
    (:class:`~engine.models.sizing.MemoryBudgetError`), before any work.
    """
    inter = exp.interactions
    name = model or default_model_for(inter.num_items)
    if model is None:
        report(f"default model for {inter.num_items:,} movies: {name} (engine models: the size rule)")
        make_model(name, params)
    need = check_memory(name, inter.num_users, inter.num_items, len(inter))
    log.info("%s: estimated peak %.1f GiB", name, need / 2**30)
    return name


def describe_export(exp: Export) -> str:
    """One line: what was exported and how fast."""
    s = exp.stats
    return (f"exported {int(s['edges']):,} ratings of {int(s['users']):,} users on "
            f"{int(s['movies']):,} movies in {s['seconds']:.1f}s "
            f"({s['edges_per_second']:,.0f} edges/s)")


def describe_gate(gate: dict[str, Any]) -> str:
    """One line: the run's validation metric beside the baseline's, and the verdict."""
    return (f"quality gate: {gate['metric']} {gate['value']:.4f} vs {gate['baseline']} "
            f"{gate['baselineValue']:.4f} on the same validation split: "
            f"{'passed' if gate['passed'] else 'FAILED'}")


@dataclass
class TrainResult:
    """What ``engine train`` did."""

    run_id: str
    run_dir: Path
    model: str
    params: dict[str, Any]
    valid: dict[str, float]
    rows: int
    fit_seconds: float
    writeback: WritebackSummary | None
    seconds: float
    gate: dict[str, Any] | None = None
    stages: dict[str, float] | None = None  # wall seconds: export, train (refit within), score, ...


def train(settings: Neo4jSettings, *, model: str | None = None, params: dict[str, Any] | None = None,
          selection: Selection | None = None, valid_ratio: float = 0.1,
          carve: Carve = "temporal-fraction",
          last_n: int = 1, seed: int = 0, tune: bool = True, device: Device = "auto",
          top_k: int = 20, runs_dir: Path = Path("runs"), writeback: bool = True,
          keep_runs: int = 3, wait: bool = False, force: bool = False, progress: bool = True,
          store: Store = "memory", fastrp_features: int = 0,
          report: Report = log.info) -> TrainResult:
    """Train ``model`` (default :data:`~engine.models.DEFAULT_MODEL`) on the selected subgraph.

    ``force`` writes the run back even if it fails its quality gate or does not fit the
    graph's dataset (see :func:`engine.graphdb.writeback.write_back`). ``store="neo4j"``
    trains a model that reads PyG stores through the Neo4j-backed ``FeatureStore`` /
    ``GraphStore`` (:mod:`engine.jobs.stores`) instead of an in-memory ``HeteroData``.
    A model that runs in the database (``gds_fastrp``) gets the server's Graph Data Science;
    ``fastrp_features`` > 0 appends that many GDS FastRP dimensions to a graph model's node
    features (:mod:`engine.jobs.gds`).
    """
    t0 = last = time.perf_counter()
    stages: dict[str, float] = {}

    def lap(stage: str) -> None:  # wall seconds per stage (the run's stages.json)
        nonlocal last
        now = time.perf_counter()
        stages[stage] = round(now - last, 2)
        last = now

    name = model or DEFAULT_MODEL
    if top_k < 1 or keep_runs < 1:
        raise ParameterError(f"top_k and keep_runs must be >= 1, got {top_k} and {keep_runs}")
    check_params(model, params)  # parameters fail here, before the export (and the device probe)
    model_params = resolve_device(device, name, dict(params or {}))
    check_params(model, model_params)
    selection = selection or Selection(seed=seed)
    exp, binding, exported_at, unstamped = export(settings, selection, progress=progress)
    dataset = binding["name"] or "unknown"
    report(describe_export(exp))
    lap("export")
    name = choose_model(model, exp, model_params, report)
    with ExitStack() as stack:
        from engine.jobs.gds import open_graph_for

        graph_for = open_graph_for(stack, settings, name, exp, fastrp_features)
        if store == "neo4j":
            if graph_for is not None:
                raise ParameterError("--store neo4j cannot be combined with --fastrp-features")
            if not model_class(name).reads_stores:
                readers = ", ".join(sorted(n for n, c in MODELS.items() if c.reads_stores))
                raise ParameterError(f"--store neo4j needs a model that reads PyG stores "
                                     f"({readers}); {name} trains on an in-memory graph")
            from engine.jobs.stores import neo4j_graph_for

            driver = stack.enter_context(open_driver(settings))
            graph_for = neo4j_graph_for(driver, exp, settings.database)
        prod = fit_production(exp, name, model_params, valid_ratio=valid_ratio, seed=seed,
                              tune=tune, carve=carve, last_n=last_n, graph_for=graph_for)
    lap("train")
    stages["refit"] = round(prod.fit_seconds, 2)
    sel = prod.selected
    if sel.sample and sel.sample["tunedOnUsers"] < sel.sample["validUsers"]:
        report(f"tuned on a seeded sample of {sel.sample['tunedOnUsers']:,} of "
               f"{sel.sample['validUsers']:,} validation users")
    task = model_class(name).task
    assert sel.split is not None
    baseline, baseline_value = baseline_on_validation(sel.split, task)
    gate = gate_record(name, task, sel.valid, baseline_value, baseline)
    report(describe_gate(gate))
    run_id = new_run_id(name)
    config = {
        "runId": run_id, "model": name, "params": sel.refit_params(), "dataset": dataset,
        "datasetBinding": binding,
        "selection": selection.as_dict(), "validRatio": valid_ratio, "validCarve": carve,
        "seed": seed, "exportedAt": exported_at, "trainedAt": datetime.now(UTC).isoformat(),
        "gitSha": git_sha(),
        "exportStats": exp.stats, "fitSeconds": prod.fit_seconds, "tuning": sel.sample,
        "graphStore": store, "fastrpFeatures": fastrp_features,
    }
    metrics = {"valid": sel.valid, "trials": sel.trials, "gate": gate}
    lap("baseline")
    run_dir = save_run(runs_dir / run_id, model=prod.model, idmap=exp.idmap, config=config,
                       metrics=metrics, history=sel.history, trials=sel.trials)
    plot_history(sel.history.as_dict(), run_dir / "curves.png", trials=sel.trials, title=name)
    lap("save")
    out = build_run_output(prod.model, exp.idmap, config, metrics, k=top_k, progress=progress)
    lap("score")
    save_run_output(out, run_dir / "writeback")
    summary = None
    if writeback:
        try:
            with open_driver(settings) as driver:
                summary = write_back(driver, out, database=settings.database, keep_runs=keep_runs,
                                     progress=progress, wait_s=WAIT_MAX_S if wait else None,
                                     force=force,
                                     known=known_ratings(exp, selection, exported_at, unstamped))
        except (QualityGateError, DatasetMismatchError) as exc:
            raise type(exc)(f"{exc} The run is in {run_dir}.") from exc
    lap("writeback")
    (run_dir / "stages.json").write_text(json.dumps(stages, indent=2))
    return TrainResult(run_id, run_dir, name, sel.refit_params(), sel.valid,
                       len(exp.interactions), prod.fit_seconds, summary, time.perf_counter() - t0,
                       gate, stages)
