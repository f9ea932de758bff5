"""A user's recommendation subgraph with its explanation paths: networkx graph, PNG and interactive HTML.

Nodes (``kind``): the ``user``, their recommended movies (``rec``), movies they rated highly that
explain a recommendation (``favourite``), ``genre`` nodes, and ``similar`` users. Edges
(``rel``): RECOMMENDED {score, rank}, RATED {rating}, SIMILAR {similarity} (favourite -> rec),
IN_GENRE, SIMILAR_USER {score}. Pure: rows in, files out.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import networkx as nx

from engine.viz._mpl import pyplot, save

COLOURS = {
    "user": "#d62728", "rec": "#1f77b4", "favourite": "#2ca02c", "genre": "#ff7f0e", "similar": "#9467bd",
}
SHAPES = {"user": "star", "rec": "dot", "favourite": "dot", "genre": "diamond", "similar": "triangle"}
_REMOTE_TAG = re.compile(
    r"<link[^>]*href=\"https?://[^\"]*\"[^>]*/?>|<script[^>]*src=\"https?://[^\"]*\"[^>]*>\s*</script>",
    re.IGNORECASE | re.DOTALL,
)


def _short(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def build_graph(user_id: int, recs: Sequence[dict[str, Any]], paths: Sequence[dict[str, Any]],
                similar_users: Sequence[dict[str, Any]] = ()) -> nx.DiGraph:
    """The subgraph from ``recommend/for_user`` rows, ``viz/explain_paths`` rows and similar users."""
    g = nx.DiGraph()
    me = f"u:{user_id}"
    g.add_node(me, kind="user", label=f"User {user_id}", hover=f"User {user_id} (the user recommended for)")
    for r in recs:
        node = f"m:{r['movieId']}"
        score = r.get("score")
        g.add_node(node, kind="rec", label=_short(r["title"]), full=r["title"],
                   hover=f"{r['title']} | recommended #{r.get('rank')} | score {score:.4g} | "
                         f"{r.get('source', '')} | {', '.join(r.get('genres') or [])}"
                   if score is not None else r["title"])
        g.add_edge(me, node, rel="RECOMMENDED", score=score, rank=r.get("rank"),
                   hover=f"RECOMMENDED score {score:.4g}" if score is not None else "RECOMMENDED")
    by_movie = {p["movieId"]: p for p in paths}
    similar_scores = {s["userId"]: s.get("score") for s in similar_users}
    for r in recs:
        node = f"m:{r['movieId']}"
        p = by_movie.get(r["movieId"], {})
        shared = set(r.get("sharedGenres") or [])
        for b in p.get("because") or []:
            fav = f"m:{b['movieId']}"
            if fav not in g:
                g.add_node(fav, kind="favourite", label=_short(b["title"]), full=b["title"],
                           hover=f"{b['title']} | rated {b['rating']} by user {user_id}")
                g.add_edge(me, fav, rel="RATED", rating=b["rating"], hover=f"RATED {b['rating']}")
            sim = b.get("similarity")
            g.add_edge(fav, node, rel="SIMILAR", similarity=sim,
                       hover=(f"similar: cosine {sim:.3f}" if sim is not None else "similar: shared genres")
                       + (f" | shared genres {', '.join(b.get('sharedGenres') or [])}"
                          if b.get("sharedGenres") else ""))
            shared.update(b.get("sharedGenres") or [])
        for genre in (p.get("genres") or r.get("genres") or []):
            if genre in shared:
                gn = f"g:{genre}"
                g.add_node(gn, kind="genre", label=genre, hover=f"Genre {genre}")
                g.add_edge(node, gn, rel="IN_GENRE", hover="IN_GENRE")
        for fan in p.get("fans") or []:
            other = f"su:{fan['userId']}"
            if other not in g:
                sc = similar_scores.get(fan["userId"])
                g.add_node(other, kind="similar", label=f"User {fan['userId']}",
                           hover=f"User {fan['userId']} | similar to user {user_id}"
                                 + (f" (score {sc:.3f})" if sc is not None else ""))
                g.add_edge(me, other, rel="SIMILAR_USER", score=sc, hover="SIMILAR_USER")
            g.add_edge(other, node, rel="RATED", rating=fan["rating"], hover=f"RATED {fan['rating']}")
    return g


def layout(g: nx.DiGraph, seed: int = 0) -> dict[str, tuple[float, float]]:
    """Positions: the user in the centre, recommendations around, explanations outside."""
    shells = [[n for n, d in g.nodes(data=True) if d["kind"] == k] for k in ("user", "rec")]
    outer = [n for n, d in g.nodes(data=True) if d["kind"] not in ("user", "rec")]
    fixed = nx.shell_layout(g.subgraph(shells[0] + shells[1] + outer), [s for s in (*shells, outer) if s])
    pos = nx.spring_layout(g.to_undirected(), pos=fixed, fixed=shells[0] + shells[1] if outer else None,
                           seed=seed, k=0.6, iterations=60) if outer else fixed
    return {n: (float(x), float(y)) for n, (x, y) in pos.items()}


def draw_png(g: nx.DiGraph, path: Path, *, title: str = "") -> Path:
    """The subgraph as a static picture (networkx + matplotlib)."""
    plt = pyplot()
    pos = layout(g)
    fig, ax = plt.subplots(figsize=(14, 11))
    edge_style = {"RECOMMENDED": ("#1f77b4", "solid", 2.2), "RATED": ("#2ca02c", "dashed", 1.0),
                  "SIMILAR": ("#555555", "dotted", 1.4), "IN_GENRE": ("#ff7f0e", "solid", 0.8),
                  "SIMILAR_USER": ("#9467bd", "dashed", 1.0)}
    for rel, (colour, style, width) in edge_style.items():
        edges = [(a, b) for a, b, d in g.edges(data=True) if d["rel"] == rel]
        nx.draw_networkx_edges(g, pos, edgelist=edges, edge_color=colour, style=style, width=width,
                               arrows=True, arrowsize=10, ax=ax, alpha=0.8)
    for kind, colour in COLOURS.items():
        nodes = [n for n, d in g.nodes(data=True) if d["kind"] == kind]
        shape = {"user": "*", "genre": "D", "similar": "^"}.get(kind, "o")
        nx.draw_networkx_nodes(g, pos, nodelist=nodes, node_color=colour, node_shape=shape,
                               node_size=900 if kind == "user" else 320, ax=ax, label=kind)
    nx.draw_networkx_labels(g, pos, {n: d["label"] for n, d in g.nodes(data=True)}, font_size=7, ax=ax)
    scores = {(a, b): f"{d['score']:.2f}" for a, b, d in g.edges(data=True)
              if d["rel"] == "RECOMMENDED" and d.get("score") is not None}
    nx.draw_networkx_edge_labels(g, pos, scores, font_size=6, ax=ax)
    ax.legend(scatterpoints=1, fontsize=8, loc="lower left")
    ax.set_title(title or "recommendation subgraph")
    ax.set_axis_off()
    fig.tight_layout()
    save(fig, path)
    return path


def write_html(g: nx.DiGraph, path: Path, *, title: str = "", scale: float = 420.0) -> Path:
    """Interactive graph (pyvis / vis-network, JavaScript inlined: works offline). Hover shows scores."""
    from pyvis.network import Network

    net = Network(height="780px", width="100%", directed=True, cdn_resources="in_line", bgcolor="#ffffff")
    for n, (x, y) in layout(g).items():
        d = g.nodes[n]
        net.add_node(n, label=d["label"], title=d.get("hover", d["label"]), color=COLOURS[d["kind"]],
                     shape=SHAPES[d["kind"]], size=28 if d["kind"] == "user" else 16,
                     x=x * scale, y=-y * scale, kind=d["kind"])
    for a, b, d in g.edges(data=True):
        label = f"{d['score']:.2f}" if d["rel"] == "RECOMMENDED" and d.get("score") is not None else ""
        net.add_edge(a, b, title=d.get("hover", d["rel"]), label=label,
                     color=COLOURS.get(g.nodes[a]["kind"], "#888888"),
                     dashes=d["rel"] != "RECOMMENDED", width=2.5 if d["rel"] == "RECOMMENDED" else 1)
    net.toggle_physics(False)
    page = _REMOTE_TAG.sub("", net.generate_html())
    legend = " ".join(f'<span style="color:{c}">&#9679; {k}</span>' for k, c in COLOURS.items())
    caption = (f'<div style="font-family:sans-serif;margin:6px"><b>{html.escape(title)}</b> '
               f"&nbsp; {legend} &nbsp; (drag to pan, wheel to zoom, hover for scores)</div>")
    page = page.replace("<body>", "<body>\n" + caption, 1)
    path.write_text(page, encoding="utf-8")
    return path


def graph_summary(g: nx.DiGraph) -> dict[str, Any]:
    """Counts per node kind and relationship (for index.html and tests)."""
    kinds: dict[str, int] = {}
    for _, d in g.nodes(data=True):
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    rels: dict[str, int] = {}
    for _, _, d in g.edges(data=True):
        rels[d["rel"]] = rels.get(d["rel"], 0) + 1
    return json.loads(json.dumps({"nodes": kinds, "edges": rels}))
