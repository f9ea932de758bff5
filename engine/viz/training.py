"""A run's training curves (from ``history.json``) and, for rating models, evaluation plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.viz._mpl import pyplot, save


def plot_history(history: dict[str, Any], path: Path, *, title: str = "",
                 trials: Sequence[dict[str, Any]] = ()) -> Path:
    """Training loss per epoch and the validation metric (best epoch marked), from history.json.

    A closed-form model has no curves; with ``trials`` (the validation grid) its right panel
    shows each grid point's validation score instead.
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    loss = [float(x) for x in history.get("loss") or []]
    if loss:
        axes[0].plot(range(1, len(loss) + 1), loss, marker=".", color="tab:blue")
        axes[0].set(title="training loss", xlabel="epoch", ylabel="loss")
    else:
        axes[0].text(0.5, 0.5, "closed-form model:\nno training epochs", ha="center", va="center")
        axes[0].set_axis_off()
    valid = history.get("valid") or []
    if valid:
        xs, ys = zip(*[(float(a), float(b)) for a, b in valid], strict=True)
        axes[1].plot(xs, ys, marker="o", color="tab:green")
        if history.get("best_epoch"):
            axes[1].axvline(float(history["best_epoch"]), ls="--", color="grey", label="best epoch")
            axes[1].legend()
        axes[1].set(title="validation", xlabel="epoch", ylabel=history.get("metric") or "NDCG@10")
    elif trials:
        labels = [", ".join(f"{k}={v}" for k, v in t["params"].items()) or "default" for t in trials]
        metric = next(k for k in trials[0] if k != "params")
        vals = [float(t[metric]) for t in trials]
        axes[1].barh(range(len(vals)), vals, color="tab:green")
        axes[1].set_yticks(range(len(vals)), labels, fontsize=7)
        axes[1].set(title="validation grid", xlabel=metric)
    else:
        axes[1].text(0.5, 0.5, "no validation curve recorded", ha="center", va="center")
        axes[1].set_axis_off()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save(fig, path)
    return path


def plot_rating_eval(true: Sequence[float] | np.ndarray, pred: Sequence[float] | np.ndarray,
                     path: Path, *, scale: tuple[float, float] = (0.5, 5.0)) -> Path:
    """Predicted vs true (hexbin), error histogram, and a confusion matrix of ratings rounded to stars."""
    plt = pyplot()
    t = np.asarray(true, dtype=float)
    p = np.asarray(pred, dtype=float)
    if len(t) == 0 or len(t) != len(p):
        raise ValueError("need equally long, non-empty true and predicted ratings")
    err = p - t
    rmse, mae = float(np.sqrt(np.mean(err**2))), float(np.mean(np.abs(err)))
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    hb = axes[0].hexbin(t, p, gridsize=25, cmap="Blues", mincnt=1)
    axes[0].plot(scale, scale, color="tab:red", ls="--")
    fig.colorbar(hb, ax=axes[0], label="pairs")
    axes[0].set(title=f"predicted vs true (RMSE {rmse:.3f}, MAE {mae:.3f})", xlabel="true",
                ylabel="predicted")
    axes[1].hist(err, bins=40, color="tab:purple", edgecolor="white")
    axes[1].axvline(0, color="black")
    axes[1].set(title="error (predicted - true)", xlabel="error", ylabel="pairs")
    lo, hi = int(np.floor(scale[0])), int(np.ceil(scale[1]))
    stars = list(range(max(lo, 1), hi + 1))
    ti = np.clip(np.rint(t), stars[0], stars[-1]).astype(int) - stars[0]
    pi = np.clip(np.rint(p), stars[0], stars[-1]).astype(int) - stars[0]
    conf = np.zeros((len(stars), len(stars)), dtype=int)
    np.add.at(conf, (ti, pi), 1)
    axes[2].imshow(conf, cmap="Oranges")
    for i in range(len(stars)):
        for j in range(len(stars)):
            axes[2].text(j, i, str(conf[i, j]), ha="center", va="center", fontsize=8)
    axes[2].set_xticks(range(len(stars)), stars)
    axes[2].set_yticks(range(len(stars)), stars)
    axes[2].set(title="confusion (rounded stars)", xlabel="predicted", ylabel="true")
    fig.tight_layout()
    save(fig, path)
    return path
