"""Embedding map of movies: 2-D projection (PCA or t-SNE), KMeans clusters, main genres, users overlaid.

Pure: arrays in, PNG files out. scikit-learn is imported inside the functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from engine.viz._mpl import genre_colours, pyplot, save

Projection = Literal["pca", "tsne"]


def main_genres(genres: Sequence[Sequence[str]], top: int = 12) -> list[str]:
    """One genre per movie: its most specific genre (the rarest in ``genres``) among the ``top`` most common.

    Movies whose genres are all outside the top are ``other``; movies without a genre ``(none)``.
    """
    freq = Counter(g for gs in genres for g in gs)
    keep = {g for g, _ in freq.most_common(top)}
    out = []
    for gs in genres:
        if not gs:
            out.append("(none)")
            continue
        kept = [g for g in gs if g in keep]
        out.append(min(kept, key=lambda g: (freq[g], g)) if kept else "other")
    return out


def project(movies: np.ndarray, users: np.ndarray | None = None, method: Projection = "pca",
            seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """2-D coordinates of movie (and user) vectors in ONE space.

    PCA is fitted on movies and applied to users; t-SNE (cosine) embeds both together.
    """
    movies = np.asarray(movies, dtype=np.float64)
    both = movies if users is None or len(users) == 0 else np.vstack([movies, np.asarray(users, float)])
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed).fit(movies)
        xy = pca.transform(both)
    elif method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(2, (len(both) - 1) // 3)))
        xy = TSNE(n_components=2, metric="cosine", init="pca", perplexity=perplexity,
                  random_state=seed).fit_transform(both)
    else:
        raise ValueError(f"unknown projection {method!r} (pca or tsne)")
    n = len(movies)
    return xy[:n], (xy[n:] if len(xy) > n else None)


def cluster(vectors: np.ndarray, n_clusters: int = 8, seed: int = 0) -> np.ndarray:
    """KMeans labels (0..n_clusters-1) of L2-normalised vectors."""
    from sklearn.cluster import KMeans

    v = np.asarray(vectors, dtype=np.float64)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    k = max(1, min(n_clusters, len(v)))
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(v)


def cluster_genre_table(labels: np.ndarray, genres: Sequence[Sequence[str]]) -> dict[int, Counter[str]]:
    """Per cluster, how many of its movies carry each genre."""
    table: dict[int, Counter[str]] = {}
    for lab, gs in zip(labels.tolist(), genres, strict=True):
        table.setdefault(int(lab), Counter()).update(gs)
    return dict(sorted(table.items()))


def cluster_names(table: dict[int, Counter[str]], labels: np.ndarray, top: int = 2) -> dict[int, str]:
    """``"3: Horror/Thriller"``: each cluster's dominant genres by lift over the catalogue share."""
    sizes = Counter(labels.tolist())
    total = Counter[str]()
    for c in table.values():
        total.update(c)
    n = len(labels)
    names = {}
    for lab, counts in table.items():
        lift = {g: (k / sizes[lab]) / (total[g] / n) for g, k in counts.items() if k >= 2 or sizes[lab] < 5}
        best = sorted(lift, key=lambda g: (-lift[g], g))[:top]
        names[lab] = f"{lab}: " + ("/".join(best) if best else "-")
    return names


def plot_embedding_map(movie_xy: np.ndarray, movie_genre: Sequence[str], labels: np.ndarray,
                       names: dict[int, str], path: Path, *, user_xy: np.ndarray | None = None,
                       user_segment: Sequence[str] | None = None, titles: Sequence[str] | None = None,
                       method: str = "pca") -> Path:
    """Two panels: movies coloured by main genre (users overlaid by segment), and by KMeans cluster."""
    plt = pyplot()
    colours = genre_colours(sorted(set(movie_genre)))
    fig, axes = plt.subplots(1, 2, figsize=(17, 7.5))
    ax = axes[0]
    mg = np.asarray(movie_genre, dtype=object)
    for g in sorted(set(movie_genre), key=lambda g: -int((mg == g).sum())):
        sel = mg == g
        ax.scatter(movie_xy[sel, 0], movie_xy[sel, 1], s=10, alpha=0.7, color=colours[g],
                   label=f"{g} ({int(sel.sum())})")
    if user_xy is not None and len(user_xy):
        seg = np.asarray(user_segment if user_segment is not None else ["user"] * len(user_xy), dtype=object)
        markers = {"very-low": ("v", "tab:orange"), "normal": ("x", "black"), "power": ("*", "tab:red")}
        for s in sorted(set(seg)):
            mk, col = markers.get(s, ("+", "black"))
            sel = seg == s
            ax.scatter(user_xy[sel, 0], user_xy[sel, 1], s=28, marker=mk, color=col, alpha=0.8,
                       label=f"users: {s} ({int(sel.sum())})")
    if titles is not None:
        for i in range(min(12, len(titles))):  # the most rated movies come first
            ax.annotate(str(titles[i])[:28], movie_xy[i], fontsize=6, alpha=0.8)
    ax.legend(fontsize=7, markerscale=1.5, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set(title=f"movies by main genre, users by activity segment ({method.upper()})")
    ax2 = axes[1]
    cmap = plt.get_cmap("tab10")
    for lab in sorted(set(labels.tolist())):
        sel = labels == lab
        ax2.scatter(movie_xy[sel, 0], movie_xy[sel, 1], s=10, alpha=0.7, color=cmap(lab % 10),
                    label=f"{names.get(lab, lab)} ({int(sel.sum())})")
        cx, cy = movie_xy[sel].mean(axis=0)
        ax2.text(cx, cy, str(lab), fontsize=13, weight="bold", ha="center", va="center",
                 bbox={"boxstyle": "circle", "fc": "white", "alpha": 0.7})
    ax2.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="cluster: dominant genres")
    ax2.set(title="KMeans clusters of movie vectors")
    fig.tight_layout()
    save(fig, path)
    return path


def plot_cluster_genres(table: dict[int, Counter[str]], names: dict[int, str], path: Path,
                        top_genres: int = 15) -> Path:
    """Stacked bars: the genre mix (share of genre tags) of each cluster."""
    plt = pyplot()
    total = Counter[str]()
    for c in table.values():
        total.update(c)
    genres = [g for g, _ in total.most_common(top_genres)]
    colours = genre_colours(genres)
    clusters = list(table)
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(clusters) + 4), 5.5))
    bottom = np.zeros(len(clusters))
    for g in genres:
        vals = np.array([table[c][g] / max(1, sum(table[c].values())) for c in clusters])
        ax.bar([names.get(c, str(c)) for c in clusters], vals, bottom=bottom, color=colours[g], label=g)
        bottom += vals
    ax.set(title="genre distribution per cluster", ylabel="share of the cluster's genre tags")
    ax.tick_params(axis="x", rotation=30)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    save(fig, path)
    return path
