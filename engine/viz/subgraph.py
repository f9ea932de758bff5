"""A user's recommendation subgraph with its explanation paths: networkx graph, PNG and interactive HTML.

Nodes (``kind``): the ``user``, their recommended movies (``rec``), movies they rated highly that
explain a recommendation (``favourite``), ``genre`` nodes, and ``similar`` users. Edges
(``rel``): RECOMMENDED {score, rank}, RATED {rating}, SIMILAR {similarity} (favourite -> rec),
IN_GENRE, SIMILAR_USER {score}. Pure: rows in, files out.

Both pictures use one layered layout, read left to right: the user | the recommendations, by
rank | the reasons (favourites, then similar users, each group ordered to follow the
recommendations it explains). Every node is a box with its text inside, so titles never
overlap; the edges drawn are the ones between neighbouring columns, each style in the legend.
A recommendation's box also lists the genres it shares with the user's favourites (its
IN_GENRE edges), and the user's own links to the reasons (RATED a favourite, SIMILAR_USER)
are in the reason boxes' text and hover: neither is drawn as a line across the picture.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from engine.viz._mpl import PLAIN_TEXT, pyplot, save

COLOURS = {"user": "#d62728", "rec": "#1f77b4", "favourite": "#2ca02c", "similar": "#9467bd"}
GENRE_COLOUR = "#ff7f0e"
KIND_TEXT = {
    "user": "the user", "rec": "recommended movie: #rank, title, model score, genres shared with favourites",
    "favourite": "favourite: a movie the user rated >= 4 (★ their rating)",
    "similar": "similar user: among the user's nearest by the run's vectors (similarity)",
}
REASON_KINDS = ("favourite", "similar")  # genre nodes are written into the recommendation boxes


@dataclass(frozen=True)
class EdgeStyle:
    """How one kind of drawn edge looks, in the PNG and in the HTML, and its legend text."""

    colour: str
    dash: tuple[float, ...]   # on/off lengths in points; () = solid
    width: float
    text: str


EDGE_STYLES = {
    "RECOMMENDED": EdgeStyle("#1f77b4", (), 2.0, "RECOMMENDED: user → recommendation"),
    "SIMILAR": EdgeStyle("#444444", (1.5, 2.0), 1.5,
                         "SIMILAR: favourite → recommendation (close in the run's vectors, or same genres)"),
    "RATED": EdgeStyle("#9467bd", (6.0, 3.0), 1.3, "RATED ≥ 4: similar user → recommendation"),
}


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
        g.add_node(node, kind="rec", label=_short(r["title"]), full=r["title"], rank=r.get("rank"),
                   score=score, hover=f"{r['title']} | recommended #{r.get('rank')} | score {score:.4g} | "
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
                           rating=b["rating"], hover=f"{b['title']} | rated {b['rating']} by user {user_id}")
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
                g.add_node(other, kind="similar", label=f"User {fan['userId']}", score=sc,
                           hover=f"User {fan['userId']} | similar to user {user_id}"
                                 + (f" (score {sc:.3f})" if sc is not None else ""))
                g.add_edge(me, other, rel="SIMILAR_USER", score=sc, hover="SIMILAR_USER")
            g.add_edge(other, node, rel="RATED", rating=fan["rating"], hover=f"RATED {fan['rating']}")
    return g


def shared_genres(g: nx.DiGraph, n: str) -> list[str]:
    """The genres a recommendation shares with the user's favourites (its IN_GENRE edges)."""
    return sorted(str(g.nodes[m]["label"]) for m in g.successors(n) if g.nodes[m]["kind"] == "genre")


def box_text(g: nx.DiGraph, n: str, width: int = 44) -> str:
    """What a node's box says: ``#1  Title (1994)  4.52``, ``★5  Title``, ``User 7  sim 0.93``."""
    d = g.nodes[n]
    if d["kind"] == "rec":
        score = f"  {d['score']:.3g}" if d.get("score") is not None else ""
        return f"#{d.get('rank') or '?'}  {_short(d.get('full', d['label']), width - len(score) - 5)}{score}"
    if d["kind"] == "favourite":
        return f"★{d['rating']:g}  {_short(d.get('full', d['label']), width - 6)}"
    if d["kind"] == "similar" and d.get("score") is not None:
        return f"{d['label']}  sim {d['score']:.2f}"
    return str(d["label"])


def drawn_edges(g: nx.DiGraph) -> list[tuple[str, str, str]]:
    """``(a, b, style)`` of the edges between neighbouring columns, the ones the pictures draw."""
    out = []
    for a, b, d in g.edges(data=True):
        ka, kb = g.nodes[a]["kind"], g.nodes[b]["kind"]
        if d["rel"] == "RECOMMENDED" or (d["rel"] == "SIMILAR" and "rec" in (ka, kb)):
            out.append((a, b, d["rel"]))
        elif d["rel"] == "RATED" and ka == "similar" and kb == "rec":
            out.append((a, b, "RATED"))
    return out


def layout(g: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Layered positions ``(column, row)``: user 0 | recommendations 1 (by rank) | reasons 2.

    Rows grow downwards and both busy columns span the same height; each reason group is
    ordered by the mean row of the recommendations it explains (fewer crossings).
    """
    recs = sorted((n for n, d in g.nodes(data=True) if d["kind"] == "rec"),
                  key=lambda n: (g.nodes[n].get("rank") or 10**9, n))
    rec_row = {n: i for i, n in enumerate(recs)}
    reasons: list[str] = []
    for kind in REASON_KINDS:
        group = [n for n, d in g.nodes(data=True) if d["kind"] == kind]

        def centre(n: str) -> float:
            rows = [rec_row[m] for m in (*g.successors(n), *g.predecessors(n)) if m in rec_row]
            return sum(rows) / len(rows) if rows else float(len(recs))

        reasons += sorted(group, key=lambda n: (centre(n), str(g.nodes[n]["label"])))
    height = max(len(recs), len(reasons), 1) - 1

    def spread(nodes: Sequence[str], x: float) -> dict[str, tuple[float, float]]:
        if len(nodes) == 1:
            return {nodes[0]: (x, height / 2)}
        step = height / (len(nodes) - 1) if len(nodes) > 1 else 0.0
        return {n: (x, i * step) for i, n in enumerate(nodes)}

    pos = {n: (0.0, height / 2) for n, d in g.nodes(data=True) if d["kind"] == "user"}
    pos.update(spread(recs, 1.0))
    pos.update(spread(reasons, 2.0))
    return pos


# Column geometry of the PNG in data units: (left edge, width) of the boxes of each column.
_COLUMNS = {0.0: (0.0, 0.40), 1.0: (0.60, 1.30), 2.0: (2.45, 0.85)}


def draw_png(g: nx.DiGraph, path: Path, *, title: str = "") -> Path:
    """The subgraph as a static picture: boxes in three columns, styled edges, a legend below."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    plt = pyplot()
    pos = layout(g)
    rows = max(y for _, y in pos.values()) + 1
    fig, ax = plt.subplots(figsize=(16, max(6.0, 0.42 * rows + 2.6)), layout="constrained")
    half = 0.36

    def anchor(n: str, side: str) -> tuple[float, float]:
        x, y = pos[n]
        left, width = _COLUMNS[x]
        return (left + width if side == "right" else left), y

    for a, b, rel in drawn_edges(g):
        style = EDGE_STYLES[rel]
        west, east = (a, b) if pos[a][0] < pos[b][0] else (b, a)
        start, end = anchor(west, "right"), anchor(east, "left")
        tail, tip = (start, end) if west == a else (end, start)
        ax.add_patch(FancyArrowPatch(tail, tip, arrowstyle="-|>", mutation_scale=9, color=style.colour,
                                     lw=style.width, linestyle=(0, style.dash) if style.dash else "solid",
                                     shrinkA=1, shrinkB=1, alpha=0.85, zorder=1))
    for n, (x, y) in pos.items():
        kind = g.nodes[n]["kind"]
        left, width = _COLUMNS[x]
        ax.add_patch(FancyBboxPatch((left, y - half), width, 2 * half,
                                    boxstyle="round,pad=0,rounding_size=0.08", fc=_tint(COLOURS[kind]),
                                    ec=COLOURS[kind], lw=1.4, zorder=2))
        ax.text(left + 0.03, y, box_text(g, n, 26 if x == 0.0 else 52 if x == 1.0 else 40), ha="left",
                va="center", zorder=3, fontsize=9 if kind in ("user", "rec") else 8.5,
                weight="bold" if kind == "user" else "normal", **PLAIN_TEXT)
        if kind == "rec" and shared_genres(g, n):
            ax.text(left + width - 0.03, y, " · ".join(shared_genres(g, n)), ha="right", va="center",
                    fontsize=8, color=GENRE_COLOUR, weight="bold", zorder=3, **PLAIN_TEXT)
    ax.set_xlim(-0.05, 3.35)
    ax.set_ylim(rows - 0.5, -1.3)
    ax.set_axis_off()
    for x, head in ((0.0, "user"), (1.0, "recommendations: rank, title, score, shared genres"),
                    (2.0, "why: favourites, similar users")):
        left, width = _COLUMNS[x]
        ax.text(left + width / 2, -0.75, head, ha="center", va="bottom", fontsize=10, color="0.3")
    handles: list[Any] = [Line2D([], [], color=s.colour, lw=s.width + 0.4, label=s.text,
                                 linestyle=(0, s.dash) if s.dash else "solid") for s in EDGE_STYLES.values()]
    handles += [Patch(fc=_tint(COLOURS[k]), ec=COLOURS[k], label=KIND_TEXT[k]) for k in COLOURS]
    handles.append(Patch(fc=_tint(GENRE_COLOUR), ec=GENRE_COLOUR,
                         label="orange text in a box: genres it shares with the favourites (IN_GENRE)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8.5, frameon=False)
    ax.set_title(title or "recommendation subgraph", fontsize=12, **PLAIN_TEXT)
    save(fig, path)
    return path


def _tint(hex_colour: str, amount: float = 0.82) -> str:
    """A light version of ``#rrggbb`` (mixed with white) for box backgrounds."""
    r, g_, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    mix = [round(c + (255 - c) * amount) for c in (r, g_, b)]
    return "#" + "".join(f"{c:02x}" for c in mix)


def caption(g: nx.DiGraph, user_id: int, run_text: str) -> str:
    """One human sentence on what the subgraph shows."""
    kinds = graph_summary(g)["nodes"]
    return (f"User {user_id}'s top {kinds.get('rec', 0)} recommendations from {run_text}, read left to "
            f"right: the user, the recommendations by rank with the model's score, then why: "
            f"{kinds.get('favourite', 0)} of the user's favourites close to them, {kinds.get('similar', 0)} "
            f"similar users who rated them 4 or more, and (in orange, in the boxes) the "
            f"{kinds.get('genre', 0)} genres they share with the favourites. Every edge style is in the "
            "legend.")


def graph_summary(g: nx.DiGraph) -> dict[str, Any]:
    """Counts per node kind and relationship (for index.html and tests)."""
    kinds: dict[str, int] = {}
    for _, d in g.nodes(data=True):
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    rels: dict[str, int] = {}
    for _, _, d in g.edges(data=True):
        rels[d["rel"]] = rels.get(d["rel"], 0) + 1
    return json.loads(json.dumps({"nodes": kinds, "edges": rels}))

