"""Save and load a training run: model + config + IdMap + metrics + curves (no pickle).

Layout of ``RUN_DIR``::

    config.json    run id, model name, chosen params, selection, dataset, git sha, times
    idmap.npz      raw userId/movieId by index (np.savez, read with allow_pickle=False)
    model/         the model's own config.json + state.npz (Recommender.save)
    metrics.json   validation metrics of the chosen configuration (+ grid trials)
    history.json   loss / validation curves (engine.models.history.FitHistory)
    trials.json    the validation grid, for closed-form models
    curves.png     the curves as a picture (drawn by the train job)
"""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.data.interactions import IdMap
from engine.models import FitHistory, Recommender, load_model


def new_run_id(model: str) -> str:
    """``20261123-061500-graph-filter-1a2b3c``: sortable, unique, readable."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{model}-{uuid.uuid4().hex[:6]}"


def git_sha(cwd: Path | None = None) -> str | None:
    """The commit of the checkout the code runs from, if it is a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=cwd or Path(__file__).resolve().parent, check=False, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    return obj


def save_run(run_dir: Path, *, model: Recommender, idmap: IdMap, config: dict[str, Any],
             metrics: dict[str, Any], history: FitHistory,
             trials: list[dict[str, Any]] | None = None) -> Path:
    """Write the run; the directory is complete only once ``config.json`` exists."""
    run_dir.mkdir(parents=True, exist_ok=True)
    model.save(run_dir / "model")
    idmap.save(run_dir / "idmap.npz")
    (run_dir / "metrics.json").write_text(json.dumps(_jsonable(metrics), indent=2))
    (run_dir / "history.json").write_text(json.dumps(_jsonable(history.as_dict()), indent=2))
    if trials:
        (run_dir / "trials.json").write_text(json.dumps(_jsonable(trials), indent=2))
    tmp = run_dir / "config.json.tmp"
    tmp.write_text(json.dumps(_jsonable(config), indent=2))
    tmp.replace(run_dir / "config.json")  # written last: marks the run complete
    return run_dir


def load_run(run_dir: Path) -> tuple[dict[str, Any], Recommender, IdMap]:
    """(config, model, idmap) of a saved run."""
    if not (run_dir / "config.json").is_file():
        raise FileNotFoundError(f"{run_dir} is not a complete run (no config.json)")
    config = json.loads((run_dir / "config.json").read_text())
    return config, load_model(run_dir / "model"), IdMap.load(run_dir / "idmap.npz")
