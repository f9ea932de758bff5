"""The recommendation subgraph as an interactive page (pyvis / vis-network inlined: works offline).

Same layered layout, boxes and edge styles as ``subgraph.png`` (:mod:`engine.viz.subgraph`),
physics off. The page has a real ``<title>``, one heading and a legend for every node kind and
edge style; pyvis's two empty ``<h1>`` and its CDN links (Bootstrap) are removed. Boxes are
large hover targets, so the tooltip under the pointer is the box's rather than an edge's.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import networkx as nx

from engine.viz.subgraph import (
    COLOURS,
    EDGE_STYLES,
    GENRE_COLOUR,
    KIND_TEXT,
    _tint,
    box_text,
    drawn_edges,
    layout,
    shared_genres,
)

_REMOTE_TAG = re.compile(
    r"<link[^>]*href=\"https?://[^\"]*\"[^>]*/?>|<script[^>]*src=\"https?://[^\"]*\"[^>]*>\s*</script>",
    re.IGNORECASE | re.DOTALL,
)
_EMPTY_HEADING = re.compile(r"<center>\s*<h1>\s*</h1>\s*</center>", re.IGNORECASE)
_COLUMN_X = {0.0: -420.0, 1.0: 0.0, 2.0: 640.0}   # box centres (px) of the three columns
_BOX_WIDTH = {0.0: 120, 1.0: 480, 2.0: 330}
_ROW_PX = 46.0
_PORT_OUT = 9.0   # the box's margin: ports sit on its border
_OPTIONS = {
    "physics": {"enabled": False},
    "interaction": {"hover": True, "tooltipDelay": 80, "hoverConnectedEdges": False, "dragNodes": False},
    "edges": {"smooth": False, "hoverWidth": 0.5, "selectionWidth": 1},
}


def _legend() -> str:
    edges = []
    for s in EDGE_STYLES.values():
        dash = f' stroke-dasharray="{" ".join(f"{d:g}" for d in s.dash)}"' if s.dash else ""
        edges.append(f'<span class="item"><svg width="46" height="10"><line x1="2" y1="5" x2="44" y2="5" '
                     f'stroke="{s.colour}" stroke-width="{s.width + 0.6:g}"{dash}/></svg>'
                     f'{html.escape(s.text)}</span>')
    boxes = [f'<span class="item"><span class="box" style="background:{_tint(c)};border-color:{c}"></span>'
             f'{html.escape(KIND_TEXT[k])}</span>' for k, c in COLOURS.items()]
    boxes.append(f'<span class="item"><b style="color:{GENRE_COLOUR}">Genre · Genre</b> after a title: the '
                 "genres it shares with the favourites (IN_GENRE)</span>")
    return "<div class='legend'>" + "".join(edges) + "<br>" + "".join(boxes) + "</div>"


def vis_text(text: str) -> str:
    """``text`` for a vis-network label in ``multi: "html"`` mode, escaped exactly once.

    That mode reads ``<b>``/``<i>``/``<code>`` tags and decodes only ``&lt;`` and ``&amp;``:
    ``html.escape`` would show a title's ``>`` as a literal ``&gt;``, so only ``&`` and
    ``<`` are escaped.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _port(n: str, side: str) -> str:
    return f"{n}|{side}"


def write_html(g: nx.DiGraph, path: Path, *, title: str = "") -> Path:
    """Write the interactive page; hover a box or an edge for its numbers.

    vis-network aims an edge at a node's centre; so that edges leave and enter boxes at their
    sides, as in the PNG, each box has two tiny port nodes on its left and right borders and
    the edges join ports. Nodes are not draggable (a box would leave its ports behind).
    """
    from pyvis.network import Network

    pos = layout(g)
    rows = max(y for _, y in pos.values()) + 1
    height = int(max(520, rows * _ROW_PX + 80))
    net = Network(height=f"{height}px", width="100%", directed=True, cdn_resources="in_line",
                  bgcolor="#ffffff")
    for n, (x, y) in pos.items():
        d = g.nodes[n]
        colour = COLOURS[d["kind"]]
        label = vis_text(box_text(g, n, 24 if x == 0.0 else 52 if x == 1.0 else 44))
        if d["kind"] == "rec" and shared_genres(g, n):
            label += "   <b>" + vis_text(" · ".join(shared_genres(g, n))) + "</b>"
        net.add_node(n, label=label, title=d.get("hover", d["label"]),
                     shape="box", x=_COLUMN_X[x], y=y * _ROW_PX, kind=d["kind"], physics=False,
                     color={"background": _tint(colour), "border": colour,
                            "hover": {"background": "#ffffff", "border": colour},
                            "highlight": {"background": "#ffffff", "border": colour}},
                     borderWidth=1.5, margin=8,
                     font={"size": 13, "face": "sans-serif", "align": "left", "multi": "html",
                           "bold": {"color": GENRE_COLOUR, "size": 12}},
                     widthConstraint={"minimum": _BOX_WIDTH[x], "maximum": _BOX_WIDTH[x]})
    edges = drawn_edges(g)
    used = {(a, "R" if pos[a][0] < pos[b][0] else "L") for a, b, _ in edges}
    used |= {(b, "L" if pos[a][0] < pos[b][0] else "R") for a, b, _ in edges}
    for n, side in sorted(used):
        (x, y), d = pos[n], g.nodes[n]
        half = _BOX_WIDTH[x] / 2 + _PORT_OUT
        net.add_node(_port(n, side), label=" ", title=d.get("hover", d["label"]), shape="dot", size=2,
                     x=_COLUMN_X[x] + (half if side == "R" else -half), y=y * _ROW_PX, physics=False,
                     kind="port", color={"background": COLOURS[d["kind"]], "border": COLOURS[d["kind"]]})
    for a, b, rel in edges:
        style = EDGE_STYLES[rel]
        west_to_east = pos[a][0] < pos[b][0]
        tail, tip = (_port(a, "R"), _port(b, "L")) if west_to_east else (_port(a, "L"), _port(b, "R"))
        net.add_edge(tail, tip, title=g.edges[a, b].get("hover", rel), color=style.colour, width=style.width,
                     dashes=[d * 2 for d in style.dash] if style.dash else False,
                     arrows={"to": {"enabled": True, "scaleFactor": 0.6}})
    net.set_options(json.dumps(_OPTIONS))
    page = _EMPTY_HEADING.sub("", _REMOTE_TAG.sub("", net.generate_html()))
    heading = html.escape(title or "recommendation subgraph")
    page = page.replace("<head>", f"<head>\n<title>{heading}</title>", 1)
    header = (
        "<style>body{font-family:sans-serif;margin:8px 14px} h1{font-size:20px;margin:4px 0 6px}"
        ".legend{font-size:13px;line-height:22px;margin-bottom:6px}"
        ".item{margin-right:18px;white-space:nowrap}"
        ".item svg{vertical-align:middle;margin-right:5px} .box{display:inline-block;width:22px;height:12px;"
        "border:2px solid;border-radius:3px;vertical-align:middle;margin-right:5px} .hint{color:#666}</style>"
        f"<h1>{heading}</h1>{_legend()}<div class='hint'>Left to right: the user, the recommendations by "
        "rank with the model's score, the reasons. Drag to pan, wheel to zoom, hover a box or an edge for "
        "its numbers.</div>")
    page = page.replace("<body>", "<body>\n" + header, 1)
    path.write_text(page, encoding="utf-8")
    return path
