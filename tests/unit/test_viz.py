"""engine.viz plotting modules: each writes a valid, non-trivial PNG (or HTML) from plain data."""

from __future__ import annotations

import html
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("pyvis")

from engine.evaluate.segments import SEGMENTS, segment_users  # noqa: E402
from engine.viz import activity, embedding, subgraph, subgraph_html, training  # noqa: E402
from engine.viz.index import Section, filters_text, metric_rows, write_index  # noqa: E402

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


@pytest.mark.parametrize("method", ["pca", "tsne", "auto"])
def test_embedding_map_and_clusters(toy: dict, tmp_path: Path, method: str) -> None:
    labels = embedding.cluster(toy["vectors"], 6)
    proj = embedding.choose_projection(toy["vectors"], toy["users"], labels, method)  # type: ignore[arg-type]
    assert proj.movies.shape == (240, 2) and proj.users is not None and proj.users.shape == (60, 2)
    assert proj.method in ("pca", "tsne") and proj.method in proj.silhouettes and proj.reason
    lift = embedding.genre_lift(labels, toy["genres"])
    names = lift.names()
    assert len(names) == 6 and all(":" in v for v in names.values())
    # well-separated toy clusters: each is named first by the genre most of its movies carry
    for i, c in enumerate(lift.clusters):
        assert lift.naming()[c][0] == lift.genres[int(np.argmax(lift.share[i]))]
    segs = segment_users(toy["counts"])
    embedding.plot_embedding_map(proj, embedding.main_genres(toy["genres"]), labels, names,
                                 tmp_path / "map.png", user_segment=segs, titles=toy["titles"])
    assert_png(tmp_path / "map.png")
    embedding.plot_cluster_genres(lift, names, tmp_path / "clusters.png")
    assert_png(tmp_path / "clusters.png")


def test_auto_projection_keeps_pca_only_when_the_clusters_separate_in_it() -> None:
    rng = np.random.default_rng(3)
    line = np.repeat(np.array([[1.0, 0, 0, 0], [1.0, 1.0, 0, 0], [1.0, 2.0, 0, 0]]), 60, axis=0)
    line += rng.normal(scale=0.05, size=line.shape)
    labels = embedding.cluster(line, 3)
    assert embedding.choose_projection(line, None, labels, "auto").method == "pca"
    # 12 orthogonal clusters: no 2-D linear view keeps them apart, t-SNE does
    corners = np.repeat(np.eye(12), 20, axis=0) + rng.normal(scale=0.15, size=(240, 12))
    labels = embedding.cluster(corners, 12)
    chosen = embedding.choose_projection(corners, None, labels, "auto")
    assert chosen.method == "tsne", chosen.reason
    assert chosen.silhouettes["tsne"] > chosen.silhouettes["pca"] and "PCA" in chosen.reason


def test_a_rare_genre_cannot_name_a_cluster() -> None:
    # cluster 0: 48 dramas, 2 of them also Film-Noir (4% of the cluster, lift 25 over a 50-movie catalogue)
    genres = [["Drama"]] * 46 + [["Drama", "Film-Noir"]] * 2 + [["Drama", "Crime"]] * 2 + [["Comedy"]] * 50
    labels = np.array([0] * 50 + [1] * 50)
    lift = embedding.genre_lift(labels, genres)
    assert lift.naming()[0][0] == "Drama" and "Film-Noir" not in lift.naming()[0]
    assert lift.names() == {0: "0: Drama", 1: "1: Comedy"}
    assert lift.lift[0, lift.genres.index("Film-Noir")] == pytest.approx(2.0)


def test_labels_do_not_overlap() -> None:
    from engine.viz._mpl import pyplot
    from engine.viz.labels import boxes_overlap, place_labels

    fig, ax = pyplot().subplots(figsize=(5, 4))
    xy = np.random.default_rng(0).normal(scale=0.05, size=(40, 2))
    ax.scatter(xy[:, 0], xy[:, 1])
    ax.set(xlim=(-1, 1), ylim=(-1, 1))
    fig.canvas.draw()
    placed = place_labels(ax, xy, [f"A long movie title {i} (1999)" for i in range(40)])
    assert 3 <= len(placed) < 40  # a crowd: some are left out rather than piled up
    assert not boxes_overlap(placed)


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
    pos = subgraph.layout(g)
    assert {pos[n][0] for n, d in g.nodes(data=True) if d["kind"] == "user"} == {0.0}
    recs = sorted((n for n, d in g.nodes(data=True) if d["kind"] == "rec"), key=lambda n: pos[n][1])
    assert [g.nodes[n]["rank"] for n in recs] == [1, 2, 3, 4, 5, 6] and {pos[n][0] for n in recs} == {1.0}
    for column in (1.0, 2.0):  # boxes in one column never overlap: rows at least one apart
        ys = sorted(y for x, y in pos.values() if x == column)
        assert all(b - a >= 0.999 for a, b in zip(ys, ys[1:], strict=False))
    assert {rel for _, _, rel in subgraph.drawn_edges(g)} <= set(subgraph.EDGE_STYLES)
    subgraph.draw_png(g, tmp_path / "sub.png", title="toy")
    assert_png(tmp_path / "sub.png")
    subgraph_html.write_html(g, tmp_path / "sub.html", title="toy graph")
    page = (tmp_path / "sub.html").read_text()
    assert "User 1" in page and "Recommended Film 3 (2001)" in page and "score 0.75" in page
    assert "new vis.Network" in page and len(page) > 300_000  # vis-network inlined
    assert not re.search(r"(src|href)=\"https?://", page), "the page must not load anything from a CDN"
    assert "<title>toy graph</title>" in page and page.count("<h1>") == 1
    assert not re.search(r"<h1>\s*</h1>", page)
    for style in subgraph.EDGE_STYLES.values():  # a legend entry for every edge style
        assert html.escape(style.text) in page


def test_index_has_a_title_and_human_captions(tmp_path: Path) -> None:
    rows = metric_rows({"valid": {"ndcg@10": 0.30941, "n_users": 610.0}, "trials": [{"x": 1}]})
    assert rows == [("NDCG@10", "0.3094"), ("users evaluated", "610")]
    assert filters_text(1, 10, None, (None, None), None) == (
        "user 1's top 10, all genres, any year, no minimum score")
    write_index(tmp_path / "index.html", title="ReelGraph: user 1", intro="Drawn for user 1.",
                sections=[Section("Evaluation", note="Validation:", table=rows, skipped="ranks only")])
    page = (tmp_path / "index.html").read_text()
    assert "<title>ReelGraph: user 1</title>" in page and "<h1>ReelGraph: user 1</h1>" in page
    assert "<th>NDCG@10</th><td>0.3094</td>" in page and "{" not in page.split("</style>")[1]


# -- issue 29 item 8: titles are text, never markup ----------------------------------------------------

ODD_TITLE = r"$\badcmd$ Money > Sense & <b>Bold</b> (2001)"


def _odd_graph() -> nx.DiGraph:
    recs = [dict(r, title=ODD_TITLE if i == 0 else r["title"]) for i, r in enumerate(RECS)]
    paths = [dict(p, because=[dict(b, title=r"Cost: $5 \$ $\frac{a}{$") for b in p["because"]])
             for p in PATHS]
    return subgraph.build_graph(1, recs, paths, [{"userId": 7, "score": 0.93}])


def test_subgraph_png_draws_dollar_signs_literally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.text import Text

    drawn: list[str] = []
    real_save = subgraph.save

    def save(fig: object, path: Path) -> None:
        texts = [t for t in fig.findobj(Text) if "$" in t.get_text()]  # type: ignore[attr-defined]
        assert texts and all(not t.get_parse_math() and not t.get_usetex() for t in texts)
        drawn.extend(t.get_text() for t in texts)
        real_save(fig, path)

    monkeypatch.setattr(subgraph, "save", save)
    subgraph.draw_png(_odd_graph(), tmp_path / "odd.png", title=r"user 1 $\badcmd$")
    assert_png(tmp_path / "odd.png")
    assert any(r"$\badcmd$" in t for t in drawn) and any(r"$\frac{a}{$" in t for t in drawn)


def test_embedding_map_labels_dollar_titles_literally(toy: dict, tmp_path: Path) -> None:
    labels = embedding.cluster(toy["vectors"], 6)
    proj = embedding.choose_projection(toy["vectors"], toy["users"], labels, "pca")
    names = embedding.genre_lift(labels, toy["genres"]).names()
    titles = [ODD_TITLE] * len(toy["titles"])
    embedding.plot_embedding_map(proj, embedding.main_genres(toy["genres"]), labels, names,
                                 tmp_path / "map.png", titles=titles)
    assert_png(tmp_path / "map.png")


def _vis_decode(label: str) -> str:
    """What vis-network's ``multi: "html"`` shows: <b>...</b> is markup, &lt; and &amp; the only entities."""
    out, i = [], 0
    while i < len(label):
        for entity, char in (("&lt;", "<"), ("&amp;", "&")):
            if label.startswith(entity, i):
                out.append(char)
                i += len(entity)
                break
        else:
            for tag in ("<b>", "</b>"):
                if label.startswith(tag, i):
                    i += len(tag)
                    break
            else:
                out.append(label[i])
                i += 1
    return "".join(out)


def test_subgraph_html_escapes_titles_exactly_once(tmp_path: Path) -> None:
    import json

    subgraph_html.write_html(_odd_graph(), tmp_path / "odd.html", title="odd > titles")
    page = (tmp_path / "odd.html").read_text()
    nodes = json.loads(re.search(r"nodes = new vis\.DataSet\((.*?)\);\n", page).group(1))  # type: ignore[union-attr]
    (label,) = [n["label"] for n in nodes if n["id"] == "m:100"]
    assert "&gt;" not in label and "&amp;gt;" not in label
    assert _vis_decode(label).startswith("#1  " + ODD_TITLE[:30])
    assert _vis_decode(label).endswith("   Drama")  # the genre markup still is markup
    (hover,) = [n["title"] for n in nodes if n["id"] == "m:100"]
    assert hover.startswith(ODD_TITLE)  # a tooltip string is shown as text (innerText): not escaped
    assert "<title>odd &gt; titles</title>" in page and "<h1>odd &gt; titles</h1>" in page
