"""The explanation graph of the explore page as Cytoscape.js elements (pure: rows in, elements out).

Read left to right, like ``engine viz``'s subgraph (:mod:`engine.viz.subgraph`): the user |
the recommendations by rank | the reasons: the user's most recent ratings, the favourites
closest to each recommendation (``viz/explain_paths``), the similar users who rated it 4 or
more. A clicked movie adds a fourth column, its SIMILAR neighbours (``recommend/similar_movies``).
Every node and edge carries its numbers in ``hover`` (shown on hover and click); positions
are fixed (Cytoscape's ``preset`` layout), one row per node, so 20 recommendations stay
readable: the canvas grows with the rows instead of shrinking the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["COLUMN_X", "ROW_PX", "STYLESHEET", "canvas_height", "elements", "focus", "neighbour_elements",
           "without_neighbours"]

#: x of each column's node centres: user, recommendations, reasons, a clicked movie's neighbours.
COLUMN_X: Final = (55.0, 305.0, 600.0, 865.0)
#: Vertical distance between two rows, and the first row's centre.
ROW_PX: Final = 46.0
TOP_PX: Final = 30.0
RECENT = 3  # most recent ratings shown as reasons
COLOURS: Final = {"user": "#d62728", "rec": "#1f77b4", "favourite": "#2ca02c", "recent": "#8c564b",
                  "similar": "#9467bd", "neighbour": "#7f7f7f"}  # a recent favourite is drawn as recent
MARK_SIGN: Final = {"up": "▲ ", "down": "▼ ", "new": "✚ ", "same": "", None: ""}


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _num(x: Any, digits: int = 3) -> str:
    return "?" if x is None else f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _when(stamp: Any) -> str:
    try:
        return datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%d")
    except (TypeError, ValueError, OverflowError, OSError):
        return "?"


def _node(nid: str, kind: str, label: str, hover: str, **data: Any) -> dict[str, Any]:
    return {"data": {"id": nid, "kind": kind, "label": label, "hover": hover, **data},
            "classes": kind, "grabbable": False}


def _edge(a: str, b: str, rel: str, label: str, hover: str, width: float = 1.5) -> dict[str, Any]:
    return {"data": {"id": f"{a}>{b}:{rel}", "source": a, "target": b, "rel": rel, "label": label,
                     "hover": hover, "width": round(width, 2)}, "classes": rel.lower()}


def elements(user_id: int, recs: Sequence[dict[str, Any]], paths: Sequence[dict[str, Any]] = (),
             similar_users: Sequence[dict[str, Any]] = (), history: Sequence[dict[str, Any]] = ()
             ) -> list[dict[str, Any]]:
    """Nodes and edges with preset positions.

    ``recs``: ``recommend/for_user`` rows (optionally with ``change``); ``paths``:
    ``viz/explain_paths`` rows; ``similar_users``: ``recommend/similar_users`` rows;
    ``history``: the user's ratings (``movieId``, ``title``, ``rating``, ``timestamp``), newest first.
    """
    me = f"u:{user_id}"
    nodes: dict[str, dict[str, Any]] = {
        me: _node(me, "user", f"User {user_id}", f"User {user_id}: {len(history)} ratings", userId=user_id)}
    edges: list[dict[str, Any]] = []
    top = max((abs(r["score"]) for r in recs if isinstance(r.get("score"), int | float)), default=1.0) or 1.0
    for r in recs:
        rid = f"m:{r['movieId']}"
        sign = MARK_SIGN.get(r.get("change"), "")
        was = f" (was #{r['was']})" if r.get("change") in ("up", "down") else ""
        shared = " · ".join(r.get("sharedGenres") or [])
        nodes[rid] = _node(
            rid, "rec", f"{sign}#{r['rank']} {_short(r['title'], 30)}  {_num(r.get('score'))}"
            + (f"\n{shared}" if shared else ""),
            f"#{r['rank']}{was} {r['title']} | score {_num(r.get('score'), 5)} | {r.get('source')} | "
            f"{', '.join(r.get('genres') or [])} | {r.get('explanation') or ''}",
            movieId=r["movieId"], rank=r["rank"], score=r.get("score"), change=r.get("change"))
        if r.get("change") in ("up", "down", "new"):
            nodes[rid]["classes"] += f" {r['change']}"
        score = float(r["score"]) if isinstance(r.get("score"), int | float) else 0.0
        edges.append(_edge(me, rid, "RECOMMENDED", f"#{r['rank']}",
                           f"RECOMMENDED rank {r['rank']}, score {_num(r.get('score'), 5)}",
                           1.0 + 4.0 * abs(score) / top))
    by_title = {h["title"]: h for h in history}
    recent = list(history[:RECENT])
    for r in recs:  # a sequence-aware run names the recent rating that leads to a recommendation
        h = by_title.get(r.get("becauseYouRecentlyRated") or "")
        if h is not None and h not in recent:
            recent.append(h)
    for h in recent:
        hid = f"m:{h['movieId']}"
        nodes[hid] = _node(hid, "recent", f"★{_num(h['rating'])} {_short(h['title'], 30)}",
                           f"recently rated: {h['title']} ★{_num(h['rating'])} "
                           f"on {_when(h.get('timestamp'))}",
                           movieId=h["movieId"], rating=h["rating"])
    for r in recs:
        h = by_title.get(r.get("becauseYouRecentlyRated") or "")
        if h is not None:
            edges.append(_edge(f"m:{h['movieId']}", f"m:{r['movieId']}", "RECENT", "recent",
                               f"because you recently rated {h['title']} (★{_num(h['rating'])})"))
    _reasons(nodes, edges, recs, paths, similar_users)
    return _place(nodes, edges)


def _reasons(nodes: dict[str, dict[str, Any]], edges: list[dict[str, Any]], recs: Sequence[dict[str, Any]],
             paths: Sequence[dict[str, Any]], similar_users: Sequence[dict[str, Any]]) -> None:
    """Favourites close to each recommendation and similar users who loved it (``engine viz``'s reasons)."""
    shown = {f"m:{r['movieId']}" for r in recs}
    scores = {s["userId"]: s.get("score") for s in similar_users}
    for p in paths:
        rid = f"m:{p['movieId']}"
        if rid not in shown:
            continue
        for b in p.get("because") or []:
            fid = f"m:{b['movieId']}"
            if fid not in nodes:
                nodes[fid] = _node(fid, "favourite", f"★{_num(b['rating'])} {_short(b['title'], 30)}",
                                   f"favourite: {b['title']}, rated ★{_num(b['rating'])}",
                                   movieId=b["movieId"], rating=b["rating"])
            elif nodes[fid]["data"]["kind"] == "recent":
                nodes[fid]["classes"] += " favourite"
            sim = b.get("similarity")
            genres = ", ".join(b.get("sharedGenres") or [])
            edges.append(_edge(fid, rid, "SIMILAR", _num(sim, 2) if sim is not None else "genres",
                               (f"SIMILAR: cosine {sim:.3f}" if sim is not None else "SIMILAR: shared genres")
                               + (f" | shared genres {genres}" if genres else ""),
                               1.0 + 2.0 * max(0.0, float(sim or 0.0))))
        for fan in p.get("fans") or []:
            sid = f"su:{fan['userId']}"
            if sid not in nodes:
                sc = scores.get(fan["userId"])
                nodes[sid] = _node(sid, "similar", f"User {fan['userId']}  sim {_num(sc, 2)}",
                                   f"similar user {fan['userId']} (similarity {_num(sc, 4)})",
                                   userId=fan["userId"], score=sc)
            edges.append(_edge(sid, rid, "RATED", f"★{_num(fan['rating'])}",
                               f"user {fan['userId']} rated it ★{_num(fan['rating'])}"))


def _place(nodes: dict[str, dict[str, Any]], edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Preset positions: user | recommendations by rank | reasons, ordered by the rows they explain."""
    recs = sorted((n for n in nodes.values() if n["data"]["kind"] == "rec"), key=lambda n: n["data"]["rank"])
    row = {n["data"]["id"]: i for i, n in enumerate(recs)}
    targets: dict[str, list[int]] = {}
    for e in edges:
        if e["data"]["target"] in row and e["data"]["source"] not in row:
            targets.setdefault(e["data"]["source"], []).append(row[e["data"]["target"]])
    reasons = []
    for kind in ("recent", "favourite", "similar"):
        group = [n for n in nodes.values() if n["data"]["kind"] == kind]
        reasons += sorted(group, key=lambda n: (sum(targets.get(n["data"]["id"], [-1])) /
                                                len(targets.get(n["data"]["id"], [-1])), n["data"]["label"]))
    height = max(len(recs), len(reasons), 1) - 1
    for column, group in ((1, recs), (2, reasons)):
        step = height / (len(group) - 1) if len(group) > 1 else 0.0
        for i, n in enumerate(group):
            y = i * step if len(group) > 1 else height / 2
            n["position"] = {"x": COLUMN_X[column], "y": round(TOP_PX + y * ROW_PX, 1)}
    for n in nodes.values():
        if n["data"]["kind"] == "user":
            n["position"] = {"x": COLUMN_X[0], "y": round(TOP_PX + height / 2 * ROW_PX, 1)}
    return [*nodes.values(), *edges]


def canvas_height(items: Sequence[dict[str, Any]]) -> int:
    """Pixels the graph needs at zoom 1 (at least 420)."""
    ys = [e["position"]["y"] for e in items if "position" in e]
    return int(max(420.0, (max(ys) if ys else 0.0) + 60.0))


def without_neighbours(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` less a clicked movie's neighbour column."""
    return [e for e in items if "neighbour" not in e.get("classes", "").split()]


def neighbour_elements(items: Sequence[dict[str, Any]], movie_id: int, title: str,
                       similar: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` with the SIMILAR neighbours of movie ``movie_id`` in the fourth column, beside it."""
    base = without_neighbours(items)
    mid = f"m:{movie_id}"
    at = next((e["position"]["y"] for e in base if e["data"].get("id") == mid and "position" in e), TOP_PX)
    added: list[dict[str, Any]] = []
    if not any(e["data"].get("id") == mid for e in base):  # not drawn yet (e.g. a least relevant movie)
        node = _node(mid, "neighbour", _short(title, 30), f"{title} (clicked)", movieId=movie_id)
        node["position"] = {"x": COLUMN_X[2], "y": at}
        added.append(node)
    first = max(TOP_PX, at - (len(similar) - 1) / 2 * ROW_PX)
    for i, s in enumerate(similar):
        nid = f"n:{s['movieId']}"
        node = _node(nid, "neighbour", f"{_short(s['title'], 30)}  {_num(s.get('score'), 2)}",
                     f"similar to {title}: {s['title']} | score {_num(s.get('score'), 4)} "
                     f"({s.get('source')}) | {', '.join(s.get('genres') or [])}",
                     movieId=s["movieId"], score=s.get("score"))
        node["position"] = {"x": COLUMN_X[3], "y": round(first + i * ROW_PX, 1)}
        added.append(node)
        edge = _edge(mid, nid, "SIMILAR", _num(s.get("score"), 2),
                     f"SIMILAR {title} - {s['title']}: {_num(s.get('score'), 4)} ({s.get('source')})")
        edge["classes"] += " neighbour"
        added.append(edge)
    return [*base, *added]


def focus(node_id: str) -> list[dict[str, Any]]:
    """:data:`STYLESHEET` with one node's edges brought forward and every other edge faded."""
    edges = f'edge[source = "{node_id}"], edge[target = "{node_id}"]'
    return [*STYLESHEET, _rule("edge", opacity=0.12), _rule(edges, opacity=1.0, z_index=10),
            _rule(f'node[id = "{node_id}"]', border_width="4px", border_color="#000")]


def _rule(selector: str, **style: Any) -> dict[str, Any]:
    return {"selector": selector, "style": {k.replace("_", "-"): v for k, v in style.items()}}


#: Cytoscape.js style: boxes with their text inside, one colour per kind, edge width = strength.
STYLESHEET: Final = [
    _rule("node", shape="round-rectangle", label="data(label)", text_wrap="wrap", text_valign="center",
          text_halign="center", font_size="11px", height="34px", width="250px", text_max_width="240px",
          border_width="1.5px", color="#111", font_family="system-ui, sans-serif"),
    *[_rule(f"node.{kind}", background_color=colour, background_opacity=0.16, border_color=colour)
      for kind, colour in COLOURS.items()],
    _rule("node.user", width="100px", font_weight="bold", background_opacity=0.3),
    _rule("node.rec", width="270px", text_max_width="262px"),
    _rule("node.recent, node.favourite, node.similar", width="230px", text_max_width="222px"),
    _rule("node.neighbour", width="220px", text_max_width="212px"),
    _rule("node.up", border_color="#2ca02c", border_width="3px"),
    _rule("node.down", border_color="#ff7f0e", border_width="3px"),
    _rule("node.new", border_color="#9467bd", border_width="3px", border_style="double"),
    _rule("edge", curve_style="bezier", target_arrow_shape="triangle", arrow_scale=0.7, width="data(width)",
          line_color="#aaa", target_arrow_color="#aaa", label="data(label)", font_size="9px",
          text_background_color="#fff", text_background_opacity=0.8, text_rotation="autorotate",
          opacity=0.55),
    _rule("edge.recommended", line_color="#1f77b4", target_arrow_color="#1f77b4", label=""),
    _rule("edge.similar, edge.recent", label=""),
    _rule("edge.similar", line_color="#2ca02c", target_arrow_color="#2ca02c", line_style="dashed"),
    _rule("edge.rated", line_color="#9467bd", target_arrow_color="#9467bd", line_style="dashed"),
    _rule("edge.recent", line_color="#8c564b", target_arrow_color="#8c564b"),
    _rule("edge.neighbour", line_color="#7f7f7f", target_arrow_color="#7f7f7f"),
]
