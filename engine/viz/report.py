"""``engine viz``: read from Neo4j (and a run directory), draw every figure, write ``index.html``.

Every section either writes its files or says in ``index.html`` why it was skipped (no
vectors in the graph, no ``--run``, not a rating model, no recommendations after the filters).
"""

from __future__ import annotations

import html
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.evaluate.segments import SEGMENTS, THRESHOLDS, Thresholds, segment_users
from engine.graphdb.reader import Reader
from engine.viz import activity, data, embedding, subgraph, training

log = logging.getLogger(__name__)


@dataclass
class Options:
    """What ``engine viz`` draws and for whom."""

    out: Path
    user_id: int = 1
    run_dir: Path | None = None
    genres: list[str] | None = None
    year_min: int | None = None
    year_max: int | None = None
    min_score: float | None = None
    k: int = 10
    segments: Thresholds = THRESHOLDS
    projection: embedding.Projection = "pca"
    clusters: int = 8
    max_movies: int = 3000
    max_users: int = 300
    seed: int = 0


@dataclass
class Section:
    """One block of index.html: its figures/links, a note, or the reason it was skipped."""

    title: str
    files: list[str] = field(default_factory=list)
    note: str = ""
    skipped: str = ""


def _is_rating_model(config: dict[str, Any]) -> bool:
    from engine.models import MODELS

    cls = MODELS.get(str(config.get("model")))
    return cls is not None and cls.task == "rating"


def _embedding_sections(reader: Reader, opts: Options, users: list[dict[str, Any]],
                        segments: np.ndarray) -> list[Section]:
    movies = data.movies(reader, limit=opts.max_movies)
    why = "the current model run stored no movie vectors in the graph (or no run was written back)"
    if len(movies) < 3:
        return [Section("Embedding map", skipped=why), Section("Genres per cluster", skipped=why)]
    mv = np.array([m["embedding"] for m in movies], dtype=np.float64)
    genres = [m["genres"] or [] for m in movies]
    with_vec = [i for i, u in enumerate(users) if u.get("embedding") is not None
                and len(u["embedding"]) == mv.shape[1]]
    rng = np.random.default_rng(opts.seed)
    picked = sorted(rng.choice(with_vec, size=min(opts.max_users, len(with_vec)), replace=False).tolist()) \
        if with_vec else []
    uv = np.array([users[i]["embedding"] for i in picked], dtype=np.float64) if picked else None
    movie_xy, user_xy = embedding.project(mv, uv, opts.projection, seed=opts.seed)
    labels = embedding.cluster(mv, opts.clusters, seed=opts.seed)
    table = embedding.cluster_genre_table(labels, genres)
    names = embedding.cluster_names(table, labels)
    embedding.plot_embedding_map(
        movie_xy, embedding.main_genres(genres), labels, names, opts.out / "embedding_map.png",
        user_xy=user_xy, user_segment=[segments[i] for i in picked], titles=[m["title"] for m in movies],
        method=opts.projection)
    embedding.plot_cluster_genres(table, names, opts.out / "cluster_genres.png")
    note = (f"{len(movies)} most-rated movies with vectors, {len(picked)} users overlaid "
            f"({opts.projection.upper()}); clusters: " + "; ".join(names.values()))
    return [Section("Embedding map", ["embedding_map.png"], note),
            Section("Genres per cluster", ["cluster_genres.png"])]


def _run_sections(reader: Reader, opts: Options) -> list[Section]:
    if opts.run_dir is None:
        why = "no --run RUN_DIR given"
        return [Section("Training curves", skipped=why), Section("Evaluation", skipped=why)]
    run_dir = opts.run_dir
    out: list[Section] = []
    history_file = run_dir / "history.json"
    if history_file.is_file():
        training.plot_history(json.loads(history_file.read_text()), opts.out / "training_curves.png",
                              title=run_dir.name)
        files = ["training_curves.png"]
        if (run_dir / "curves.png").is_file():
            shutil.copyfile(run_dir / "curves.png", opts.out / "run_curves.png")
            files.append("run_curves.png")
        out.append(Section("Training curves", files, f"from {history_file}"))
    else:
        out.append(Section("Training curves", skipped=f"{history_file} does not exist"))
    config_file, metrics_file = run_dir / "config.json", run_dir / "metrics.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    if not _is_rating_model(config):
        out.append(Section(
            "Evaluation",
            note=f"validation metrics: {json.dumps(metrics.get('valid', metrics), default=str)[:600]}",
            skipped=f"model {config.get('model', '?')!r} ranks items and predicts no ratings: "
                    "predicted-vs-true, error and confusion plots apply to rating models only"))
        return out
    from engine.training.checkpoint import load_run  # torch: only for rating models

    _, model, idmap = load_run(run_dir)
    rows = data.rating_sample(reader)
    users = np.array([r["userId"] for r in rows], dtype=np.int64)
    movies = np.array([r["movieId"] for r in rows], dtype=np.int64)
    u_known, m_known = np.isin(users, idmap.users), np.isin(movies, idmap.movies)
    keep = u_known & m_known
    if not keep.any():
        out.append(Section("Evaluation", skipped="no sampled rating has both ids in the run's id map"))
        return out
    pred = model.predict(idmap.user_index(users[keep]), idmap.movie_index(movies[keep]))
    true = np.array([r["rating"] for r in rows], dtype=float)[keep]
    training.plot_rating_eval(true, pred, opts.out / "rating_eval.png")
    out.append(Section("Evaluation", ["rating_eval.png"],
                       f"{int(keep.sum())} ratings of every 5th user "
                       "(in-sample: the run was refit on all ratings)"))
    return out


def build(reader: Reader, opts: Options) -> list[Section]:
    """Write every figure and ``index.html`` into ``opts.out``; the sections, in order."""
    opts.out.mkdir(parents=True, exist_ok=True)
    run = data.current_run(reader)
    sub = data.subgraph(reader, opts.user_id, k=opts.k, genres=opts.genres, year_min=opts.year_min,
                        year_max=opts.year_max, min_score=opts.min_score)
    users = data.users(reader, with_embeddings=True)
    counts = np.array([u["ratings"] for u in users])
    segs = segment_users(counts, opts.segments)
    sections: list[Section] = []
    if sub.recs:
        g = subgraph.build_graph(sub.user_id, sub.recs, sub.paths, sub.similar_users)
        title = (f"User {opts.user_id}: top {len(sub.recs)} recommendations and why "
                 f"({run.get('runId') or 'no run'})")
        subgraph.draw_png(g, opts.out / "subgraph.png", title=title)
        subgraph.write_html(g, opts.out / "subgraph.html", title=title)
        sections.append(Section("Recommendation subgraph", ["subgraph.png", "subgraph.html"],
                                f"{title}; {json.dumps(subgraph.graph_summary(g))}"))
    else:
        sections.append(Section("Recommendation subgraph",
                                skipped=f"no recommendation for user {opts.user_id} passes the filters"))
    sections += _embedding_sections(reader, opts, users, segs)
    if len(users):
        activity.plot_activity(counts, [u["meanRating"] for u in users], segs, opts.out / "activity.png",
                               thresholds=opts.segments)
        sizes = {s: int((segs == s).sum()) for s in SEGMENTS}
        sections.append(Section("User activity", ["activity.png"], f"segments: {sizes}"))
        rows = data.genre_by_segment(reader, opts.segments)
        if rows:
            activity.plot_genre_heatmap(rows, opts.out / "genre_segments.png")
            sections.append(Section("Genre preference by segment", ["genre_segments.png"]))
        else:
            sections.append(Section("Genre preference by segment", skipped="no rated movie has a genre"))
    else:
        sections.append(Section("User activity", skipped="no ratings in the graph"))
    sections += _run_sections(reader, opts)
    write_index(opts, run, sections)
    return sections


def write_index(opts: Options, run: dict[str, Any], sections: list[Section]) -> Path:
    """``index.html`` linking every figure, with the filters used and what was skipped and why."""
    filters = {"user": opts.user_id, "genres": opts.genres, "years": [opts.year_min, opts.year_max],
               "min_score": opts.min_score, "k": opts.k, "segments": [opts.segments.low, opts.segments.power]}
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>ReelGraph visual exploration</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1400px} img{max-width:100%;"
             "border:1px solid #ddd} .skip{color:#a33}</style></head><body>",
             "<h1>ReelGraph visual exploration</h1>",
             f"<p>Run: <b>{html.escape(str(run.get('runId')))}</b> ({html.escape(str(run.get('model')))}); "
             f"filters: <code>{html.escape(json.dumps(filters))}</code></p>"]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>")
        if s.skipped:
            parts.append(f"<p class='skip'>Skipped: {html.escape(s.skipped)}</p>")
        if s.note:
            parts.append(f"<p>{html.escape(s.note)}</p>")
        for f in s.files:
            if f.endswith(".html"):
                parts.append(f"<p><a href='{f}'>{f}</a> (interactive: pan, zoom, hover for scores)</p>")
            else:
                parts.append(f"<p><img src='{f}' alt='{html.escape(s.title)}'></p>")
    parts.append("</body></html>")
    path = opts.out / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
