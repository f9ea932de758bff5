"""Embedding map of movies: 2-D projection, KMeans clusters named by genre lift, users overlaid.

Pure: arrays in, PNG files out. scikit-learn is imported inside the functions.

Clusters and projection live in ONE space: vectors are L2-normalised (cosine geometry, what
the vector indexes use) before KMeans and before PCA / t-SNE. ``--projection auto`` keeps PCA
when the KMeans clusters separate in it (silhouette of the 2-D points >= AUTO_MIN_SILHOUETTE)
and uses t-SNE otherwise; :class:`Projected` says which and why.

Cluster names and the genre chart come from the same :class:`GenreLift`: a genre's lift in a
cluster is the share of the cluster's movies carrying it divided by its share of all mapped
movies (the catalogue); a cluster is named by its highest-lift genre among those carried by
at least MIN_SHARE of its movies (so a rare genre on two movies cannot name a cluster), plus
the next one when that is also clearly over-represented (lift >= SECOND_MIN_LIFT) or when
two clusters would otherwise have the same name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from engine.viz._mpl import genre_colours, pyplot, save
from engine.viz.labels import place_labels

Projection = Literal["auto", "pca", "tsne"]
AUTO_MIN_SILHOUETTE = 0.25
MIN_SHARE = 0.10
SECOND_MIN_LIFT = 1.5
_LABEL = {"pca": "PCA", "tsne": "t-SNE"}


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


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    v = np.asarray(vectors, dtype=np.float64)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def project(movies: np.ndarray, users: np.ndarray | None = None, method: str = "pca",
            seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """2-D coordinates of the normalised movie (and user) vectors in ONE space.

    PCA is fitted on movies and applied to users; t-SNE (cosine) embeds both together.
    """
    m = normalise(movies)
    both = m if users is None or len(users) == 0 else np.vstack([m, normalise(users)])
    if method == "pca":
        from sklearn.decomposition import PCA

        xy = PCA(n_components=2, random_state=seed).fit(m).transform(both)
    elif method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(2, (len(both) - 1) // 3)))
        xy = TSNE(n_components=2, metric="cosine", init="pca", perplexity=perplexity,
                  random_state=seed).fit_transform(both)
    else:
        raise ValueError(f"unknown projection {method!r} (auto, pca or tsne)")
    n = len(m)
    return xy[:n], (xy[n:] if len(xy) > n else None)


def separation(xy: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """How well the clusters separate in the 2-D points: silhouette in [-1, 1] (0 with one cluster)."""
    from sklearn.metrics import silhouette_score

    if len(set(labels.tolist())) < 2 or len(xy) < 3:
        return 0.0
    return float(silhouette_score(xy, labels, sample_size=min(len(xy), 2000), random_state=seed))


@dataclass
class Projected:
    """The chosen 2-D projection, the silhouette of every method tried, and why."""

    movies: np.ndarray
    users: np.ndarray | None
    method: str
    silhouettes: dict[str, float]
    reason: str

    @property
    def label(self) -> str:
        return _LABEL[self.method]


def choose_projection(movies: np.ndarray, users: np.ndarray | None, labels: np.ndarray,
                      method: Projection = "auto", seed: int = 0) -> Projected:
    """Project with ``method``; ``auto``: PCA when the clusters separate in it, else t-SNE."""
    tried: dict[str, float] = {}
    first = "pca" if method == "auto" else method
    mxy, uxy = project(movies, users, first, seed)
    tried[first] = separation(mxy, labels, seed)
    if method != "auto":
        return Projected(mxy, uxy, first, tried, f"{_LABEL[first]} as asked (--projection {first}); "
                                                 f"cluster silhouette {tried[first]:.2f}")
    if tried["pca"] >= AUTO_MIN_SILHOUETTE:
        return Projected(mxy, uxy, "pca", tried, f"PCA, chosen automatically: the clusters separate in it "
                                                 f"(silhouette {tried['pca']:.2f} >= {AUTO_MIN_SILHOUETTE})")
    txy, tuxy = project(movies, users, "tsne", seed)
    tried["tsne"] = separation(txy, labels, seed)
    return Projected(txy, tuxy, "tsne", tried,
                     f"t-SNE, chosen automatically: the clusters overlap in PCA (silhouette "
                     f"{tried['pca']:.2f} < {AUTO_MIN_SILHOUETTE}; {tried['tsne']:.2f} in t-SNE)")


def cluster(vectors: np.ndarray, n_clusters: int = 8, seed: int = 0) -> np.ndarray:
    """KMeans labels (0..n_clusters-1) of L2-normalised vectors."""
    from sklearn.cluster import KMeans

    v = normalise(vectors)
    k = max(1, min(n_clusters, len(v)))
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(v)


@dataclass
class GenreLift:
    """Per cluster and genre: share of the cluster's movies in it, and lift over the catalogue."""

    clusters: list[int]
    sizes: list[int]
    genres: list[str]
    share: np.ndarray      # [clusters, genres]
    catalogue: np.ndarray  # [genres]: share of all mapped movies in the genre

    @property
    def lift(self) -> np.ndarray:
        return self.share / np.maximum(self.catalogue, 1e-12)

    def naming(self, top: int = 2) -> dict[int, list[str]]:
        """Each cluster's naming genres: highest lift among genres on >= MIN_SHARE of its movies.

        The next one by lift joins when its lift is >= SECOND_MIN_LIFT, or when clusters
        would otherwise share a name.
        """
        lift = self.lift
        ranked: dict[int, list[str]] = {}
        for i, c in enumerate(self.clusters):
            ok = [j for j in range(len(self.genres)) if self.share[i, j] >= MIN_SHARE]
            if not ok:  # tiny or genre-less cluster: its most common genre, if any
                ok = [int(np.argmax(self.share[i]))] if self.share[i].max() > 0 else []
            ranked[c] = [self.genres[j] for j in sorted(ok, key=lambda j: (-lift[i, j], self.genres[j]))]
        out = {c: gs[:1] for c, gs in ranked.items()}
        firsts = Counter(gs[0] for gs in out.values() if gs)
        for i, c in enumerate(self.clusters):
            for g in ranked[c][1:top]:
                if lift[i, self.genres.index(g)] >= SECOND_MIN_LIFT or firsts[out[c][0]] > 1:
                    out[c].append(g)
        return out

    def names(self, top: int = 2) -> dict[int, str]:
        """``{3: "3: Horror/Thriller"}``."""
        return {c: f"{c}: " + ("/".join(gs) if gs else "-") for c, gs in self.naming(top).items()}


def genre_lift(labels: np.ndarray, genres: Sequence[Sequence[str]]) -> GenreLift:
    """The :class:`GenreLift` of KMeans ``labels`` over the movies' ``genres``."""
    names = sorted({g for gs in genres for g in gs})
    col = {g: j for j, g in enumerate(names)}
    has = np.zeros((len(genres), len(names)), dtype=bool)
    for i, gs in enumerate(genres):
        for g in gs:
            has[i, col[g]] = True
    clusters = sorted(set(labels.tolist()))
    sizes = [int((labels == c).sum()) for c in clusters]
    share = np.array([has[labels == c].mean(axis=0) for c in clusters]) if names else \
        np.zeros((len(clusters), 0))
    catalogue = has.mean(axis=0) if len(genres) else np.zeros(len(names))
    return GenreLift(clusters, sizes, names, share, catalogue)


def _title(title: str, n: int = 32) -> str:
    """``"Shawshank Redemption, The (1994)"`` -> ``"The Shawshank Redemption (1994)"`` (<= ``n`` chars)."""
    import re

    m = re.match(r"^(.*), (The|A|An) (\(\d{4}\))$", title)
    if m:
        title = f"{m.group(2)} {m.group(1)} {m.group(3)}"
    return title if len(title) <= n else title[: n - 1] + "…"


def _medoid(points: np.ndarray) -> np.ndarray:
    """The member point closest to the coordinate-wise median (never an empty spot between lobes)."""
    med = np.median(points, axis=0)
    return np.asarray(points[int(np.argmin(((points - med) ** 2).sum(axis=1)))])


def plot_embedding_map(proj: Projected, movie_genre: Sequence[str], labels: np.ndarray,
                       names: dict[int, str], path: Path, *, user_segment: Sequence[str] | None = None,
                       titles: Sequence[str] | None = None, n_titles: int = 12) -> Path:
    """Two panels: movies by main genre (users overlaid by segment, top titles), and by KMeans cluster."""
    plt = pyplot()
    colours = genre_colours(sorted(set(movie_genre)))
    fig, axes = plt.subplots(1, 2, figsize=(17, 9), layout="constrained")
    xy, ax = proj.movies, axes[0]
    mg = np.asarray(movie_genre, dtype=object)
    for g in sorted(set(movie_genre), key=lambda g: -int((mg == g).sum())):
        sel = mg == g
        ax.scatter(xy[sel, 0], xy[sel, 1], s=9, alpha=0.6, color=colours[g], label=f"{g} ({int(sel.sum())})",
                   linewidths=0)
    if proj.users is not None and len(proj.users):
        seg = np.asarray(user_segment if user_segment is not None else ["user"] * len(proj.users),
                         dtype=object)
        markers = {"very-low": ("v", "tab:orange"), "normal": ("x", "black"), "power": ("*", "tab:red")}
        for s in sorted(set(seg)):
            mk, col = markers.get(s, ("+", "black"))
            sel = seg == s
            ax.scatter(proj.users[sel, 0], proj.users[sel, 1], s=16, marker=mk, color=col, alpha=0.55,
                       linewidths=0.7, label=f"users: {s} ({int(sel.sum())})")
    ax.set_title(f"movies by main genre, users by activity segment ({proj.label})")
    ax.legend(fontsize=7, markerscale=1.6, loc="upper center", bbox_to_anchor=(0.5, -0.04), ncol=5,
              frameon=False)
    ax2 = axes[1]
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    for lab in sorted(set(labels.tolist())):
        sel = labels == lab
        ax2.scatter(xy[sel, 0], xy[sel, 1], s=9, alpha=0.6, color=cmap(lab % cmap.N), linewidths=0,
                    label=f"{names.get(lab, lab)} ({int(sel.sum())})")
    ax2.set_title(f"KMeans clusters of the movie vectors ({proj.label}), named by genre lift")
    ax2.legend(fontsize=7.5, markerscale=1.6, loc="upper center", bbox_to_anchor=(0.5, -0.04), ncol=4,
               frameon=False, title="cluster: highest-lift genres (as in cluster_genres.png)")
    for a in axes:
        a.set_xticks([])
        a.set_yticks([])
    fig.canvas.draw()  # final limits and layout before labels are placed in display space...
    fig.set_layout_engine("none")  # ...and kept: a re-layout at save time would move the points
    if titles is not None:
        k = min(n_titles, len(titles))  # the most rated movies come first
        place_labels(ax, xy[:k], [_title(str(t)) for t in titles[:k]], fontsize=7, color="0.1",
                     bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "0.6", "lw": 0.4,
                           "alpha": 0.85})
    order = sorted(set(labels.tolist()))
    place_labels(ax2, np.array([_medoid(xy[labels == lab]) for lab in order]), [str(lab) for lab in order],
                 fontsize=12, weight="bold",
                 bbox={"boxstyle": "circle,pad=0.25", "fc": "white", "ec": "0.3", "alpha": 0.85})
    save(fig, path)
    return path


def plot_cluster_genres(lift: GenreLift, names: dict[int, str], path: Path, max_genres: int = 18) -> Path:
    """Heatmap cluster x genre: colour = lift over the catalogue, text = share of the cluster's movies.

    Boxed cells are the genres that name the cluster (:meth:`GenreLift.naming`), so the chart and
    the names of the embedding map agree by construction.
    """
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    plt = pyplot()
    naming = lift.naming()
    named = {g for gs in naming.values() for g in gs}
    order = np.argsort(-lift.catalogue, kind="stable")
    cols = [int(j) for j in order if lift.genres[j] in named or lift.catalogue[j] >= 0.01]
    cols = sorted(cols[:max_genres] + [j for j in cols[max_genres:] if lift.genres[j] in named],
                  key=lambda j: -lift.catalogue[j])
    log_lift = np.log2(np.clip(lift.lift[:, cols], 1 / 8, 8))
    fig, ax = plt.subplots(figsize=(max(9.0, 0.62 * len(cols) + 4), 1.6 + 0.55 * len(lift.clusters)),
                           layout="constrained")
    im = ax.imshow(log_lift, cmap="RdBu_r", norm=Normalize(-2, 2), aspect="auto")
    for i in range(len(lift.clusters)):
        for jj, j in enumerate(cols):
            share = lift.share[i, j]
            if share >= 0.005:
                ax.text(jj, i, f"{share:.0%}", ha="center", va="center", fontsize=7,
                        color="white" if abs(log_lift[i, jj]) > 1.3 else "black")
            if lift.genres[j] in naming[lift.clusters[i]]:
                ax.add_patch(Rectangle((jj - 0.5, i - 0.5), 1, 1, fill=False, ec="black", lw=2))
    ax.set_xticks(range(len(cols)), [f"{lift.genres[j]}\n{lift.catalogue[j]:.0%}" for j in cols],
                  rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(lift.clusters)),
                  [f"{names.get(c, c)} ({n})" for c, n in zip(lift.clusters, lift.sizes, strict=True)],
                  fontsize=8)
    bar = fig.colorbar(im, ax=ax, ticks=[-2, -1, 0, 1, 2], shrink=0.9)
    bar.ax.set_yticklabels(["x1/4", "x1/2", "x1", "x2", "x4"])
    bar.set_label("lift over the catalogue")
    ax.set_title("genres per cluster: colour = lift (share in the cluster / share in the catalogue, under "
                 "each genre); text = share of the cluster's movies;\nboxed = the genres naming the cluster: "
                 f"highest lift among genres on >= {MIN_SHARE:.0%} of its movies, a second one if its lift "
                 f">= {SECOND_MIN_LIFT:g} or to tell two clusters apart", fontsize=9)
    save(fig, path)
    return path
