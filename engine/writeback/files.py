"""A run's write-back folder on disk: ``run.json`` + ``arrays.npz`` + ``idmap.npz`` (no pickle).

``engine train`` saves it under ``runs/RUN_ID/writeback``; ``engine writeback RUN_DIR``
reads it back to (re-)write or roll back to that run.
"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np

from engine.data.interactions import IdMap
from engine.errors import InputError
from engine.writeback.output import RunOutput, json_default

__all__ = ["ARRAYS_NPZ", "FORMAT_VERSION", "IDMAP_NPZ", "RUN_JSON", "RunDirectoryError",
           "load_run_output", "save_run_output"]

FORMAT_VERSION: Final = 1
RUN_JSON: Final = "run.json"
ARRAYS_NPZ: Final = "arrays.npz"
IDMAP_NPZ: Final = "idmap.npz"


def save_run_output(out: RunOutput, directory: Path) -> Path:
    """Save ``out`` as ``run.json`` + ``arrays.npz`` + ``idmap.npz`` (no pickle)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    trained_at = out.trained_at or datetime.now(UTC).isoformat(timespec="seconds")
    meta = {
        "format": FORMAT_VERSION, "run_id": out.run_id, "model": out.model,
        "params": out.params, "metrics": out.metrics, "dataset": out.dataset,
        "git_sha": out.git_sha, "trained_at": trained_at,
        "num_users": out.idmap.num_users, "num_movies": out.idmap.num_movies, "k": out.k,
        "dim": out.dim, "dataset_binding": out.binding,
    }
    (directory / RUN_JSON).write_text(json.dumps(meta, indent=2, sort_keys=True,
                                                 default=json_default))
    arrays = {k: v for k, v in out.arrays().items() if not k.startswith("idmap_")}
    np.savez(directory / ARRAYS_NPZ, **arrays)  # type: ignore[arg-type]
    out.idmap.save(directory / IDMAP_NPZ)
    return directory


class RunDirectoryError(InputError):
    """A folder is not a (readable) run write-back folder."""


def load_run_output(directory: Path) -> RunOutput:
    """Read a run directory written by :func:`save_run_output` (validated on load)."""
    directory = Path(directory)
    missing = [n for n in (RUN_JSON, ARRAYS_NPZ, IDMAP_NPZ) if not (directory / n).is_file()]
    if missing:
        raise RunDirectoryError(f"{directory} is not a run's write-back folder: missing "
                                f"{', '.join(missing)} (give runs/RUN_ID or runs/RUN_ID/writeback)")
    try:
        return _read(directory)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise RunDirectoryError(f"cannot read run directory {directory}: {exc}") from exc


def _read(directory: Path) -> RunOutput:
    meta = json.loads((directory / RUN_JSON).read_text())
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{directory / RUN_JSON}: unsupported format {meta.get('format')!r}")
    idmap = IdMap.load(directory / IDMAP_NPZ)
    with np.load(directory / ARRAYS_NPZ, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return RunOutput(
        run_id=meta["run_id"], model=meta["model"], params=meta["params"],
        metrics=meta["metrics"], dataset=meta["dataset"], git_sha=meta.get("git_sha"),
        idmap=idmap, user_emb=arrays.get("user_emb"), item_emb=arrays.get("item_emb"),
        rec_items=arrays["rec_items"], rec_scores=arrays["rec_scores"],
        rec_ratings=arrays.get("rec_ratings"), rec_reasons=arrays.get("rec_reasons"),
        similar_items=arrays.get("similar_items"),
        similar_scores=arrays.get("similar_scores"), trained_at=meta.get("trained_at"),
        binding=meta.get("dataset_binding"),
    )
