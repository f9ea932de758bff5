"""engine.viz plotting modules: each writes a valid, non-trivial PNG (or HTML) from plain data."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("pyvis")

from engine.evaluate.segments import SEGMENTS, segment_users  # noqa: E402
from engine.viz import activity, embedding, subgraph, training  # noqa: E402

GENRES = ["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi"]


def assert_png(path: Path, min_kb: float = 8.0) -> None:
    import matplotlib.image as mpimg

    assert path.is_file(), path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert path.stat().st_size > min_kb * 1024, f"{path} is only {path.stat().st_size} bytes"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200
    assert float(img[..., :3].std()) > 0.02, f"{path} is (almost) uniform"
    assert len(np.unique(img[..., :3].reshape(-1, 3), axis=0)) > 50, f"{path} has too few colours"


@pytest.fixture(scope="module")
def toy() -> dict:
    rng = np.random.default_rng(0)
    n, d = 240, 16
    centres = rng.normal(size=(len(GENRES), d)) * 3
    main = rng.integers(0, len(GENRES), n)
    vectors = centres[main] + rng.normal(size=(n, d))
    genres = [[GENRES[m]] + ([GENRES[(m + 1) % len(GENRES)]] if i % 3 == 0 else [])
              for i, m in enumerate(main)]
    users = centres[rng.integers(0, len(GENRES), 60)] + rng.normal(size=(60, d))
    counts = np.concatenate([rng.integers(1, 20, 20), rng.integers(21, 199, 30), rng.integers(200, 2000, 10)])
    return {"vectors": vectors, "genres": genres, "users": users, "counts": counts,
            "means": rng.uniform(2.0, 4.8, 60), "titles": [f"Movie {i} (1999)" for i in range(n)]}


def test_main_genres() -> None:
    assert embedding.main_genres([["Drama", "Horror"], ["Drama"], [], ["Drama", "Comedy"]], top=3) == [
        "Horror", "Drama", "(none)", "Comedy"]


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_embedding_map_and_clusters(toy: dict, tmp_path: Path, method: str) -> None:
    movie_xy, user_xy = embedding.project(toy["vectors"], toy["users"], method)  # type: ignore[arg-type]
    assert movie_xy.shape == (240, 2) and user_xy is not None and user_xy.shape == (60, 2)
    labels = embedding.cluster(toy["vectors"], 6)
    table = embedding.cluster_genre_table(labels, toy["genres"])
    names = embedding.cluster_names(table, labels)
    assert len(names) == 6 and all(":" in v for v in names.values())
    # well-separated toy clusters: each cluster is dominated by one genre
    assert all(c.most_common(1)[0][1] >= 0.6 * sum(1 for lab in labels if lab == k) for k, c in table.items())
    segs = segment_users(toy["counts"])
    embedding.plot_embedding_map(movie_xy, embedding.main_genres(toy["genres"]), labels, names,
                                 tmp_path / "map.png", user_xy=user_xy, user_segment=segs,
                                 titles=toy["titles"], method=method)
    assert_png(tmp_path / "map.png")
    embedding.plot_cluster_genres(table, names, tmp_path / "clusters.png")
    assert_png(tmp_path / "clusters.png")


def test_activity_and_genre_heatmap(toy: dict, tmp_path: Path) -> None:
    segs = segment_users(toy["counts"])
    activity.plot_activity(toy["counts"], toy["means"], segs, tmp_path / "activity.png")
    assert_png(tmp_path / "activity.png")
    rows = [{"segment": s, "genre": g, "ratings": 10 + 7 * i + 3 * j, "avgRating": 3.0 + 0.1 * j}
            for i, s in enumerate(SEGMENTS) for j, g in enumerate(GENRES)]
    activity.plot_genre_heatmap(rows, tmp_path / "heat.png")
    assert_png(tmp_path / "heat.png")


def test_training_curves_and_rating_eval(tmp_path: Path) -> None:
    history = {"loss": [1.0 / (e + 1) for e in range(20)],
               "valid": [[e, 0.1 + 0.01 * e] for e in range(1, 21, 2)], "best_epoch": 15}
    training.plot_history(history, tmp_path / "curves.png", title="toy run")
    assert_png(tmp_path / "curves.png")
    training.plot_history({}, tmp_path / "closed.png")  # closed-form model: no epochs
    assert_png(tmp_path / "closed.png", min_kb=4)
    rng = np.random.default_rng(1)
    true = rng.choice(np.arange(0.5, 5.01, 0.5), 2000)
    training.plot_rating_eval(true, np.clip(true + rng.normal(0, 0.7, 2000), 0.5, 5), tmp_path / "eval.png")
    assert_png(tmp_path / "eval.png")


RECS = [{"rank": i + 1, "movieId": 100 + i, "title": f"Recommended Film {i} (2001)", "year": 2001,
         "genres": ["Drama", "Sci-Fi"], "score": 0.9 - 0.05 * i, "source": "model", "sharedGenres": ["Drama"]}
        for i in range(6)]
PATHS = [{"movieId": 100 + i, "genres": ["Drama", "Sci-Fi"],
          "because": [{"movieId": 10 + i % 3, "title": f"Loved Film {i % 3}", "rating": 5.0,
                       "similarity": 0.8, "sharedGenres": ["Drama"]}],
          "fans": [{"userId": 7, "rating": 4.5}] if i % 2 else []} for i in range(6)]


def test_subgraph_png_and_offline_html(tmp_path: Path) -> None:
    g = subgraph.build_graph(1, RECS, PATHS, [{"userId": 7, "score": 0.93}])
    summary = subgraph.graph_summary(g)
    assert summary["nodes"] == {"user": 1, "rec": 6, "favourite": 3, "genre": 1, "similar": 1}
    assert summary["edges"]["RECOMMENDED"] == 6 and summary["edges"]["SIMILAR"] == 6
    subgraph.draw_png(g, tmp_path / "sub.png", title="toy")
    assert_png(tmp_path / "sub.png")
    subgraph.write_html(g, tmp_path / "sub.html", title="toy")
    page = (tmp_path / "sub.html").read_text()
    assert "User 1" in page and "Recommended Film 3 (2001)" in page and "score 0.75" in page
    assert "new vis.Network" in page and len(page) > 300_000  # vis-network inlined
    assert not re.search(r"(src|href)=\"https?://", page), "the page must not load anything from a CDN"
