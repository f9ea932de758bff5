"""The explore page's components: the layout and what each handler result looks like (Dash, no callbacks).

Plain HTML tables (no grid library), one dash-cytoscape graph, the controls of ``dash.dcc``;
the CSS is inline in :data:`INDEX` (system fonts only), so the page needs nothing but this
server. Rows and graph nodes carry ``data-*`` attributes (movieId, year, genres, change) that
the browser test reads.
"""

from __future__ import annotations

from typing import Any, Final

import dash_cytoscape as cyto
from dash import dcc, html

from engine.explore.graph import STYLESHEET
from engine.explore.handlers import Message
from engine.explore.rows import MAX_K, NEW_USER
from engine.explore.service import Catalogue

__all__ = ["DETAIL_HINT", "INDEX", "detail_panel", "layout", "message", "scope", "table"]

#: What the movie panel says before a movie is clicked.
DETAIL_HINT: Final = html.P("Click a movie (in the graph, or a row's 'why') to see why it is recommended and "
                            "its SIMILAR neighbours; it is also picked for rating.", className="hint")
CHANGE_TEXT: Final = {"up": "▲ up", "down": "▼ down", "new": "✚ new", "gone": "✖ gone", "same": ""}

INDEX: Final = """<!DOCTYPE html>
<html lang="en"><head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #222;
       background: #fafafa; font-size: 14px; }
.page { display: flex; gap: 16px; padding: 12px; align-items: flex-start; }
.side { width: 300px; flex: none; position: sticky; top: 8px; background: #fff; border: 1px solid #ddd;
        border-radius: 6px; padding: 10px 12px; max-height: calc(100vh - 40px); overflow-y: auto; }
.side label { display: block; font-weight: 600; margin: 10px 0 4px; }
.side .hint { color: #666; font-size: 12px; margin: 2px 0 0; }
.main { flex: 1; min-width: 0; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px;
        margin-bottom: 12px; }
h1 { font-size: 18px; margin: 0; } h2 { font-size: 16px; margin: 4px 0 8px; }
h3 { font-size: 14px; margin: 6px 0; }
.run { color: #555; font-size: 12px; margin-top: 2px; }
.message { padding: 8px 12px; border-radius: 6px; margin-bottom: 12px; }
.message.error { background: #fde8e8; border: 1px solid #d62728; }
.message.info { background: #eef4fb; border: 1px solid #1f77b4; }
.message.ok { background: #eaf6ea; border: 1px solid #2ca02c; }
table.list { border-collapse: collapse; width: 100%; }
table.list th { text-align: left; font-size: 12px; color: #555; border-bottom: 1px solid #ccc;
                padding: 3px 6px; }
table.list td { border-bottom: 1px solid #eee; padding: 3px 6px; vertical-align: top; }
td.why { color: #444; font-size: 12px; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.up td.mark { color: #2ca02c; } tr.down td.mark { color: #ff7f0e; } tr.new td.mark { color: #9467bd; }
tr.gone td { color: #999; text-decoration: line-through; }
tr.gone td.mark { text-decoration: none; color: #d62728; }
td.mark { white-space: nowrap; font-weight: 600; font-size: 12px; }
button.pick { font-size: 11px; padding: 0 4px; margin-left: 4px; cursor: pointer; }
.stars button { font-size: 22px; background: none; border: none; cursor: pointer; color: #e6a100;
                padding: 0 1px; }
.rate { margin-top: 8px; width: 100%; padding: 6px; font-weight: 600; cursor: pointer; }
.hover-info { min-height: 20px; font-size: 12px; color: #333; padding: 4px 0; }
.detail { font-size: 13px; }
.detail ul { padding-left: 18px; margin: 4px 0; }
.legend span { margin-right: 12px; font-size: 12px; }
</style></head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body></html>"""


def _field(label: str, control: Any, hint: str = "") -> list[Any]:
    return [html.Label(label), control, *([html.P(hint, className="hint")] if hint else [])]


def layout(cat: Catalogue, problem: str | None = None) -> html.Div:
    """The whole page: controls on the left; message, lists, graph and detail on the right."""
    run = cat.run or {}
    lo, hi = cat.years
    run_text = (f"run {run.get('runId')} ({run.get('model')}, top-{run.get('k')}) on {cat.dataset}"
                if run.get("runId") else "no model run written back yet: engine train first")
    side = html.Div(className="side", children=[
        html.H1("ReelGraph explore"), html.Div(run_text, className="run", id="run-info"),
        *_field("User", dcc.Dropdown(id="user", options=[{"label": "a new user", "value": NEW_USER}],
                                     searchable=True, placeholder="type a userId…", clearable=False),
                "Type a userId, or pick 'a new user'."),
        *_field("Genres", dcc.Dropdown(id="genres", options=cat.genres, multi=True, placeholder="all genres"),
                "A movie in any of them is kept."),
        *_field("Years", dcc.RangeSlider(id="years", min=lo, max=hi, step=1, value=[lo, hi],
                                         marks={y: str(y) for y in range(lo - lo % 20 + 20, hi + 1, 20)},
                                         tooltip={"placement": "bottom"}, updatemode="mouseup")),
        *_field("Minimum score", dcc.Input(id="min-score", type="number", placeholder="none", debounce=True),
                "Top list only: the model's score, as shown."),
        *_field("Top-K", dcc.Input(id="k", type="number", value=10, min=1, max=MAX_K, step=1, debounce=True)),
        html.Hr(),
        html.H3("What if you rated…"),
        dcc.Dropdown(id="wi-movie", searchable=True, placeholder="type a title…"),
        html.Div(className="stars", children=[
            html.Button("☆", id={"type": "star", "n": n}, n_clicks=0, title=f"{n} stars")
            for n in range(1, 6)]),
        *_field(f"Rating ({cat.scale.describe()})",
                dcc.Input(id="wi-rating", type="number", placeholder="stars", debounce=False)),
        html.Button("Rate and refresh the list", id="wi-rate", n_clicks=0, className="rate"),
        html.P(problem or "The rating is written like engine rate does; the list is refreshed by fold-in.",
               className="hint", id="wi-note"),
        html.Hr(),
        html.Div(id="hover", className="hover-info", children="Hover over a box or an edge: its numbers."),
        html.Div(id="detail", className="detail", children=DETAIL_HINT),
    ])
    graph = cyto.Cytoscape(id="graph", elements=[], layout={"name": "preset", "fit": False, "padding": 10},
                           stylesheet=STYLESHEET, style={"width": "100%", "height": "420px"},
                           userZoomingEnabled=False, boxSelectionEnabled=False, autoungrabify=True,
                           autounselectify=True, clearOnUnhover=True)
    legend = html.Div(className="legend", children=[
        html.Span("red: the user"), html.Span("blue: recommendations (▲ up ▼ down ✚ new)"),
        html.Span("brown: recent ratings"), html.Span("green: favourites (dashed: SIMILAR)"),
        html.Span("purple: similar users (dashed: RATED ≥ 4)"),
        html.Span("grey: a clicked movie's neighbours")])
    main = html.Div(className="main", children=[
        html.Div(id="message"),
        html.Div(className="card", children=[html.H2(id="heading", children="Top recommendations"),
                                             html.Div(id="top-table")]),
        html.Div(className="card", children=[
            html.H2("Why: the user, the recommendations and their reasons"), legend,
            graph]),
        html.Div(className="card", children=[html.H2("Least relevant"), html.Div(id="least-table")]),
        dcc.Store(id="session", data={}),
    ])
    return html.Div(className="page", children=[side, main])


def message(msg: Message | None) -> Any:
    """The message bar (nothing when there is no message)."""
    if msg is None:
        return None
    return html.Div(msg.text, className=f"message {msg.kind}",
                    role="alert" if msg.kind == "error" else "status")


def _tagged(component: Any, data: dict[str, Any], **props: Any) -> Any:
    """``component`` with ``data-*`` attributes (the browser test reads them)."""
    return component(**props, **{f"data-{k}": str(v) for k, v in data.items()})


def _score(value: Any) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def scope(session: dict[str, Any] | None) -> dict[str, Any]:
    """What a list is for (user and filters), as its ``data-*`` attributes: a test waits on them."""
    session = session or {}
    genres, low, high, min_score, k = session.get("filters") or ([], None, None, None, None)
    return {"user": session.get("user", ""), "genres": ",".join(genres or []),
            "years": "" if low is None else f"{low}-{high}",
            "min-score": "" if min_score is None else min_score, "k": k or ""}


def table(rows: list[dict[str, Any]], gone: list[dict[str, Any]] | None = None, *, kind: str = "top",
          session: dict[str, Any] | None = None) -> Any:
    """A ranked list: change mark, rank, title (with a 'why' button), year, genres, score, explanation."""
    if not rows and not gone:
        return _tagged(html.P, scope(session), children="(no rows)", className="hint")
    header = html.Tr([html.Th(t) for t in ("", "#", "title", "year", "genres", "score", "why")])
    body = []
    for r in [*rows, *(gone or [])]:
        change = r.get("change") or "same"
        mark = CHANGE_TEXT.get(change, "")
        if change in ("up", "down") and r.get("was"):
            mark += f" (was {r['was']})"
        data = {"movie": r["movieId"], "year": r.get("year") or "", "genres": "|".join(r.get("genres") or []),
                "change": change, "list": kind,
                "score": "" if r.get("score") is None else repr(r.get("score"))}
        pick = {"type": "pick", "list": "gone" if change == "gone" else kind, "movie": int(r["movieId"])}
        body.append(_tagged(html.Tr, data, className=change, children=[
            html.Td(mark, className="mark"), html.Td("" if change == "gone" else str(r.get("rank", ""))),
            html.Td([r["title"], html.Button("why", id=pick, n_clicks=0, className="pick")]),
            html.Td(str(r.get("year") or "")), html.Td(", ".join(r.get("genres") or [])),
            html.Td(_score(r.get("score")), className="num"),
            html.Td(r.get("explanation") or "", className="why"),
        ]))
    return _tagged(html.Table, scope(session), className=f"list {kind}",
                   children=[html.Thead(header), html.Tbody(body)])


def detail_panel(detail: dict[str, Any] | Message) -> Any:
    """A clicked movie: ``explain``'s sentence and numbers, and its SIMILAR neighbours."""
    if isinstance(detail, Message):
        return message(detail)
    why = detail.get("why") or {}
    items: list[Any] = []
    if why:
        items.append(html.P(why.get("explanation") or "", className="explanation"))
        numbers = [("source", why.get("source")), ("rank", why.get("rank")), ("score", why.get("score")),
                   ("vector similarity", why.get("vectorSimilarity")),
                   ("embedding dot", why.get("embeddingDot")),
                   ("similar users who loved it", why.get("similarUsersWhoLovedIt"))]
        items.append(html.Ul([html.Li(f"{k}: {_score(v)}") for k, v in numbers if v is not None]))
        favs = why.get("nearestFavourites") or []
        if favs:
            items.append(html.Div("closest favourites: " + "; ".join(
                f"{f['title']} (★{f['yourRating']:g}, similarity {f['similarity']})" for f in favs)))
    else:
        items.append(html.P("Pick a user with ratings to see why it would be recommended.", className="hint"))
    similar = detail.get("similar") or []
    items += [html.H3(f"SIMILAR neighbours ({len(similar)})"),
              html.Ul(className="similar", children=[
                  _tagged(html.Li, {"movie": s["movieId"]},
                          children=f"{s['title']}: {_score(s.get('score'))} ({s.get('source')})")
                  for s in similar])]
    return _tagged(html.Div, {"movie": detail["movieId"]},
                   children=[html.H3(f"Why {detail['title']}?"), *items])
