"""User activity: segments by number of ratings, their distributions, genre preference per segment."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.evaluate.segments import SEGMENTS, THRESHOLDS, Thresholds
from engine.viz._mpl import pyplot, save


def plot_activity(counts: Sequence[int] | np.ndarray, means: Sequence[float] | np.ndarray,
                  segments: Sequence[str] | np.ndarray, path: Path, *,
                  thresholds: Thresholds = THRESHOLDS) -> Path:
    """Histogram of ratings per user (log x), boxplots per segment, and segment sizes."""
    plt = pyplot()
    c = np.asarray(counts, dtype=float)
    m = np.asarray(means, dtype=float)
    s = np.asarray(segments, dtype=object)
    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    bins = np.logspace(0, np.log10(max(c.max(), 2.0)), 40)
    axes[0].hist(c, bins=bins, color="tab:blue", edgecolor="white")
    axes[0].set_xscale("log")
    # The thresholds are named in a legend, not written over the bars.
    axes[0].axvline(thresholds.low, color="tab:orange", ls="--", lw=1.5,
                    label=f"very-low < {thresholds.low} ≤ normal")
    axes[0].axvline(thresholds.power, color="tab:green", ls="--", lw=1.5,
                    label=f"normal < {thresholds.power} ≤ power")
    axes[0].legend(fontsize=8, loc="upper right", framealpha=0.95)
    axes[0].set_ylim(0, axes[0].get_ylim()[1] * 1.25)  # headroom for the legend
    axes[0].set(title="ratings per user", xlabel="ratings (log)", ylabel="users")
    present = [g for g in SEGMENTS if (s == g).any()]
    axes[1].boxplot([c[s == g] for g in present], tick_labels=present)
    axes[1].set_yscale("log")
    axes[1].set(title="ratings per user by segment", ylabel="ratings (log)")
    axes[2].boxplot([m[s == g] for g in present], tick_labels=present)
    axes[2].set(title="mean rating per user by segment", ylabel="mean rating")
    sizes = [int((s == g).sum()) for g in SEGMENTS]
    bars = axes[3].bar(SEGMENTS, sizes, color=["tab:orange", "tab:blue", "tab:green"])
    axes[3].bar_label(bars)
    axes[3].set_ylim(0, max(max(sizes), 1) * 1.12)  # room for the count above the tallest bar
    axes[3].set(title="users per segment", ylabel="users")
    fig.tight_layout()
    save(fig, path)
    return path


def plot_genre_heatmap(rows: Sequence[dict], path: Path) -> Path:
    """Heatmap segment x genre of each segment's share of ratings (rows sum to 1), average rating annotated.

    ``rows``: dicts with ``segment``, ``genre``, ``ratings``, ``avgRating`` (``viz/genre_by_segment``).
    """
    plt = pyplot()
    genres = sorted({r["genre"] for r in rows})
    segs = [g for g in SEGMENTS if any(r["segment"] == g for r in rows)]
    if not genres or not segs:
        raise ValueError("no ratings by genre to plot")
    counts = np.zeros((len(segs), len(genres)))
    avg = np.full((len(segs), len(genres)), np.nan)
    for r in rows:
        i, j = segs.index(r["segment"]), genres.index(r["genre"])
        counts[i, j] = r["ratings"]
        avg[i, j] = r["avgRating"]
    share = counts / counts.sum(axis=1, keepdims=True)
    fig, ax = plt.subplots(figsize=(max(8, 0.65 * len(genres)), 1.2 + 0.9 * len(segs)))
    im = ax.imshow(share, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(genres)), genres, rotation=60, ha="right")
    ax.set_yticks(range(len(segs)), segs)
    for i in range(len(segs)):
        for j in range(len(genres)):
            if not np.isnan(avg[i, j]):
                ax.text(j, i, f"{avg[i, j]:.1f}", ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] < share.max() * 0.6 else "black")
    fig.colorbar(im, ax=ax, label="share of the segment's ratings")
    ax.set_title("genre preference by activity segment (cell text: average rating)")
    fig.tight_layout()
    save(fig, path)
    return path
