"""``engine train``: export a Cypher-selected subgraph, select on validation, refit, save, write back.

Parameters are checked before anything is exported (an unknown name or a value out of
range fails in a second, naming the parameter). The run directory is always complete,
its ``writeback/`` folder included, so a run trained with ``--no-writeback`` can be
written later with ``engine writeback``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from engine.data.selection import Export, Selection
from engine.graphdb import Runner, open_driver
from engine.graphdb.export import export_subgraph
from engine.graphdb.lease import WAIT_MAX_S
from engine.graphdb.writeback import write_back
from engine.models import DEFAULT_MODEL, make_model
from engine.settings import Neo4jSettings
from engine.training.checkpoint import git_sha, new_run_id, save_run
from engine.training.protocols import fit_production
from engine.training.selection import Carve
from engine.viz.training import plot_history
from engine.writeback import WritebackSummary, build_run_output, save_run_output

log = logging.getLogger(__name__)

Report = Callable[[str], None]
Device = Literal["auto", "cpu", "cuda"]


def resolve_device(choice: Device, model: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with ``device`` set for torch models (``auto``: cuda when available)."""
    if "device" not in make_model(model).get_params() or "device" in params:
        return params
    if choice == "auto":
        import torch

        choice = "cuda" if torch.cuda.is_available() else "cpu"
    return {**params, "device": choice}


def export(settings: Neo4jSettings, selection: Selection, *, progress: bool = True
           ) -> tuple[Export, str]:
    """The selected subgraph and the name(s) of the loaded dataset."""
    with open_driver(settings) as driver:
        exp = export_subgraph(driver, selection, database=settings.database, progress=progress)
        names = [r["name"] for r in Runner(driver, settings.database).read("load/dataset_get")]
    return exp, ",".join(names) or "unknown"


def describe_export(exp: Export) -> str:
    """One line: what was exported and how fast."""
    s = exp.stats
    return (f"exported {int(s['edges']):,} ratings of {int(s['users']):,} users on "
            f"{int(s['movies']):,} movies in {s['seconds']:.1f}s "
            f"({s['edges_per_second']:,.0f} edges/s)")


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


def train(settings: Neo4jSettings, *, model: str | None = None, params: dict[str, Any] | None = None,
          selection: Selection | None = None, valid_ratio: float = 0.1, carve: Carve = "random",
          last_n: int = 1, seed: int = 0, tune: bool = True, device: Device = "auto",
          top_k: int = 20, runs_dir: Path = Path("runs"), writeback: bool = True,
          keep_runs: int = 3, wait: bool = False, progress: bool = True,
          report: Report = log.info) -> TrainResult:
    """Train ``model`` (default :data:`~engine.models.DEFAULT_MODEL`) on the selected subgraph."""
    t0 = time.perf_counter()
    name = model or DEFAULT_MODEL
    model_params = resolve_device(device, name, dict(params or {}))
    make_model(name, model_params)  # parameters fail here, before the export
    selection = selection or Selection(seed=seed)
    exp, dataset = export(settings, selection, progress=progress)
    report(describe_export(exp))
    prod = fit_production(exp, name, model_params, valid_ratio=valid_ratio, seed=seed, tune=tune,
                          carve=carve, last_n=last_n)
    sel = prod.selected
    run_id = new_run_id(name)
    config = {
        "runId": run_id, "model": name, "params": sel.refit_params(), "dataset": dataset,
        "selection": selection.as_dict(), "validRatio": valid_ratio, "validCarve": carve,
        "seed": seed, "trainedAt": datetime.now(UTC).isoformat(), "gitSha": git_sha(),
        "exportStats": exp.stats, "fitSeconds": prod.fit_seconds,
    }
    metrics = {"valid": sel.valid, "trials": sel.trials}
    run_dir = save_run(runs_dir / run_id, model=prod.model, idmap=exp.idmap, config=config,
                       metrics=metrics, history=sel.history, trials=sel.trials)
    plot_history(sel.history.as_dict(), run_dir / "curves.png", trials=sel.trials, title=name)
    out = build_run_output(prod.model, exp.idmap, config, metrics, k=top_k)
    save_run_output(out, run_dir / "writeback")
    summary = None
    if writeback:
        with open_driver(settings) as driver:
            summary = write_back(driver, out, database=settings.database, keep_runs=keep_runs,
                                 progress=progress, wait_s=WAIT_MAX_S if wait else None)
    return TrainResult(run_id, run_dir, name, sel.refit_params(), sel.valid,
                       len(exp.interactions), prod.fit_seconds, summary, time.perf_counter() - t0)
