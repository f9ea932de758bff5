"""``engine viz``: read from Neo4j (and a run directory), draw every figure, write ``index.html``.

Every section either writes its files or says in ``index.html`` why it was skipped (no
vectors in the graph, no ``--run``, not a rating model, no recommendations after the filters).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.evaluate.segments import SEGMENTS, THRESHOLDS, Thresholds, segment_users
from engine.graphdb.reader import Reader
from engine.viz import activity, data, embedding, subgraph, subgraph_html, training
from engine.viz.index import Section, filters_text, metric_rows, write_index

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
    projection: embedding.Projection = "auto"
    clusters: int = 8
    max_movies: int = 3000
    max_users: int = 300
    seed: int = 0


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
    labels = embedding.cluster(mv, opts.clusters, seed=opts.seed)
    proj = embedding.choose_projection(mv, uv, labels, opts.projection, seed=opts.seed)
    lift = embedding.genre_lift(labels, genres)
    names = lift.names()
    embedding.plot_embedding_map(
        proj, embedding.main_genres(genres), labels, names, opts.out / "embedding_map.png",
        user_segment=[segments[i] for i in picked], titles=[m["title"] for m in movies])
    embedding.plot_cluster_genres(lift, names, opts.out / "cluster_genres.png")
    note = (f"The {len(movies):,} most-rated movies with a vector in the current run, in 2-D by "
            f"{proj.reason}. "
            f"Left: each movie coloured by its most specific common genre, {len(picked)} users overlaid by "
            f"activity segment, the {min(12, len(movies))} most-rated titles labelled. Right: {len(names)} "
            "KMeans clusters of the normalised vectors (cosine, as the vector index), each named by its "
            "highest-lift genres, computed exactly as in the genre chart below: "
            + "; ".join(names.values()) + ".")
    genre_note = ("Each cluster's genres. Colour: lift, the share of the cluster's movies in the genre "
                  f"divided by its share of all {len(movies):,} mapped movies (the catalogue share is "
                  "printed under each genre); text: share of the cluster's movies. The boxed cells are "
                  "the genres that name the cluster: the highest lift among genres on at least "
                  f"{embedding.MIN_SHARE:.0%} of its movies, and a second one when its lift is at least "
                  f"{embedding.SECOND_MIN_LIFT:g} or when two clusters would otherwise share a name.")
    return [Section("Embedding map", ["embedding_map.png"], note),
            Section("Genres per cluster", ["cluster_genres.png"], genre_note)]


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
        out.append(Section("Training curves", files,
                           f"Training loss per epoch and the validation metric of run {run_dir.name} "
                           "(redrawn from its history.json), then the picture the run saved itself."))
    else:
        out.append(Section("Training curves", skipped=f"{history_file} does not exist"))
    config_file, metrics_file = run_dir / "config.json", run_dir / "metrics.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    if not _is_rating_model(config):
        rows = metric_rows(metrics)
        out.append(Section(
            "Evaluation", note="The run's validation metrics (held-out ratings, full-catalogue ranking):"
            if rows else "", table=rows,
            skipped=f"model {config.get('model', '?')!r} ranks items and predicts no ratings: "
                    "predicted-vs-true, error and confusion plots apply to rating models only"))
        return out
    from engine.training.checkpoint import load_run  # torch: only for rating models

    _, model, idmap = load_run(run_dir)
    rows_ = data.rating_sample(reader)
    users = np.array([r["userId"] for r in rows_], dtype=np.int64)
    movies = np.array([r["movieId"] for r in rows_], dtype=np.int64)
    u_known, m_known = np.isin(users, idmap.users), np.isin(movies, idmap.movies)
    keep = u_known & m_known
    if not keep.any():
        out.append(Section("Evaluation", skipped="no sampled rating has both ids in the run's id map"))
        return out
    pred = model.predict(idmap.user_index(users[keep]), idmap.movie_index(movies[keep]))
    true = np.array([r["rating"] for r in rows_], dtype=float)[keep]
    training.plot_rating_eval(true, pred, opts.out / "rating_eval.png")
    out.append(Section("Evaluation", ["rating_eval.png"],
                       f"Predicted against true stars for {int(keep.sum()):,} ratings of every 5th user "
                       "(in-sample: the run was refit on all ratings), the error histogram and the "
                       "confusion of rounded stars.", table=metric_rows(metrics)))
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
    run_text = f"{run.get('model')} run {run.get('runId')}" if run.get("runId") else "no model run"
    sections: list[Section] = []
    if sub.recs:
        g = subgraph.build_graph(sub.user_id, sub.recs, sub.paths, sub.similar_users)
        title = f"User {opts.user_id}: top {len(sub.recs)} recommendations and why ({run_text})"
        subgraph.draw_png(g, opts.out / "subgraph.png", title=title)
        subgraph_html.write_html(g, opts.out / "subgraph.html", title=title)
        sections.append(Section("Recommendation subgraph", ["subgraph.png", "subgraph.html"],
                                subgraph.caption(g, opts.user_id, run_text)))
    else:
        sections.append(Section("Recommendation subgraph",
                                skipped=f"no recommendation for user {opts.user_id} passes the filters"))
    sections += _embedding_sections(reader, opts, users, segs)
    if len(users):
        activity.plot_activity(counts, [u["meanRating"] for u in users], segs, opts.out / "activity.png",
                               thresholds=opts.segments)
        sizes = {s: int((segs == s).sum()) for s in SEGMENTS}
        sections.append(Section("User activity", ["activity.png"], (
            f"{len(users):,} users by number of ratings (log scale): "
            + ", ".join(f"{n:,} {opts.segments.label(s)}" for s, n in sizes.items())
            + "; the segments engine evaluate reports metrics for. Then ratings and mean rating per "
              "user within each segment, and the segment sizes.")))
        rows = data.genre_by_segment(reader, opts.segments)
        if rows:
            activity.plot_genre_heatmap(rows, opts.out / "genre_segments.png")
            sections.append(Section("Genre preference by segment", ["genre_segments.png"],
                                    "Share of each segment's ratings that fall in each genre (colour) and "
                                    "the segment's average rating of the genre (text)."))
        else:
            sections.append(Section("Genre preference by segment", skipped="no rated movie has a genre"))
    else:
        sections.append(Section("User activity", skipped="no ratings in the graph"))
    sections += _run_sections(reader, opts)
    seg = opts.segments
    intro = (f"Drawn from {run_text} for "
             + filters_text(opts.user_id, opts.k, opts.genres, (opts.year_min, opts.year_max), opts.min_score)
             + f"; activity segments very-low < {seg.low} ≤ normal < {seg.power} ≤ power.")
    write_index(opts.out / "index.html", intro=intro, sections=sections,
                title=f"ReelGraph visual exploration: user {opts.user_id}, {run_text}")
    return sections
