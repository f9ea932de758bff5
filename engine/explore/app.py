"""``engine explore``: the Dash app, its callbacks, and the local server that runs it.

Each callback calls one handler (:mod:`engine.explore.handlers`) and renders its result
(:mod:`engine.explore.view`). Every script and style is served by this server (Dash's
``serve_locally``, no external stylesheet, script or font), so the page works offline; the
database settings stay in this process: the browser only ever sees rows. The server binds
127.0.0.1 only.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update

from engine.explore import handlers, view
from engine.explore.graph import STYLESHEET, canvas_height, focus
from engine.explore.service import Explorer
from engine.settings import Neo4jSettings

__all__ = ["LocalApp", "create_app", "open_app"]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


def _or_keep(value: Any) -> Any:
    return no_update if value is None else value


def create_app(explorer: Explorer) -> dash.Dash:
    """The Dash app over ``explorer`` (a fake one in unit tests)."""
    app = dash.Dash(__name__, title="ReelGraph explore", serve_locally=True, external_stylesheets=[],
                    external_scripts=[], update_title="", compress=False,
                    assets_folder=str(Path(__file__).parent / "assets"))
    app.index_string = view.INDEX
    app.layout = view.layout(explorer.catalogue, explorer.live.problem if explorer.live else None)

    @app.callback(Output("user", "options"), Input("user", "search_value"), Input("user", "value"),
                  State("session", "data"))
    def user_options(search: str | None, value: Any, session: dict[str, Any] | None) -> list[dict[str, Any]]:
        return handlers.user_options(explorer, search, value, session)

    @app.callback(Output("wi-movie", "options"), Input("wi-movie", "search_value"),
                  Input("wi-movie", "value"), State("session", "data"))
    def movie_options(search: str | None, value: Any, session: dict[str, Any] | None) -> list[dict[str, Any]]:
        return handlers.movie_options(explorer, search, value, session)

    @app.callback(
        Output("message", "children"), Output("heading", "children"), Output("top-table", "children"),
        Output("least-table", "children"), Output("graph", "elements"), Output("graph", "style"),
        Output("graph", "stylesheet", allow_duplicate=True),
        Output("detail", "children", allow_duplicate=True), Output("session", "data"),
        Input("user", "value"), Input("genres", "value"), Input("years", "value"),
        Input("min-score", "value"), Input("k", "value"), Input("wi-rate", "n_clicks"),
        State("wi-movie", "value"), State("wi-rating", "value"), State("session", "data"),
        prevent_initial_call=True)
    def update(user: Any, genres: Any, years: Any, min_score: Any, k: Any, rate_clicks: int | None,
               movie: Any, rating: Any, session: dict[str, Any] | None) -> tuple[Any, ...]:
        if ctx.triggered_id == "wi-rate":
            if not rate_clicks:
                return (no_update,) * 9
            page = handlers.what_if(explorer, user, movie, rating, genres, years, min_score, k, session)
        else:
            page = handlers.show(explorer, user, genres, years, min_score, k, session,
                                 fresh_user=ctx.triggered_id == "user")
        return render(page)

    @app.callback(Output("wi-rating", "value"), Input({"type": "star", "n": ALL}, "n_clicks"),
                  prevent_initial_call=True)
    def star(clicks: list[int | None]) -> Any:
        picked = ctx.triggered_id
        return picked["n"] if isinstance(picked, dict) and any(clicks) else no_update

    @app.callback(Output({"type": "star", "n": ALL}, "children"), Input("wi-rating", "value"))
    def stars(value: Any) -> list[str]:
        try:
            rating = float(value)
        except (TypeError, ValueError):
            rating = 0.0
        return ["★" if n <= rating else "⯪" if n - 0.5 <= rating else "☆" for n in range(1, 6)]

    @app.callback(
        Output("wi-movie", "value"), Output("wi-movie", "options", allow_duplicate=True),
        Output("detail", "children"), Output("graph", "elements", allow_duplicate=True),
        Output("graph", "stylesheet"),
        Input({"type": "pick", "list": ALL, "movie": ALL}, "n_clicks"), Input("graph", "tapNodeData"),
        State("graph", "elements"), State("session", "data"), prevent_initial_call=True)
    def pick(clicks: list[int | None], tapped: dict[str, Any] | None, items: list[dict[str, Any]] | None,
             session: dict[str, Any] | None) -> tuple[Any, ...]:
        movie = None
        if isinstance(ctx.triggered_id, dict) and ctx.triggered_id.get("type") == "pick":
            if ctx.triggered and ctx.triggered[0].get("value"):
                movie = ctx.triggered_id["movie"]
        elif ctx.triggered_id == "graph" and tapped and tapped.get("movieId") is not None:
            movie = tapped["movieId"]
        if movie is None:
            return (no_update,) * 5
        detail, new_items = handlers.movie_detail(explorer, session, int(movie), items)
        options = handlers.movie_options(explorer, None, int(movie), None)
        return (int(movie), options, view.detail_panel(detail), _or_keep(new_items),
                focus(f"m:{int(movie)}") if new_items is not None else no_update)

    @app.callback(Output("hover", "children"), Input("graph", "mouseoverNodeData"),
                  Input("graph", "mouseoverEdgeData"), prevent_initial_call=True)
    def hover(node: dict[str, Any] | None, edge: dict[str, Any] | None) -> str:
        prop = next(iter(ctx.triggered_prop_ids), "")
        data = edge if prop.endswith("mouseoverEdgeData") else node
        return str((data or {}).get("hover", ""))

    return app


def render(page: handlers.Page) -> tuple[Any, ...]:
    """A handler's :class:`~engine.explore.handlers.Page` as the main callback's outputs."""
    top = no_update if page.top is None else view.table(page.top, page.gone, kind="top", session=page.session)
    least = no_update if page.least is None else view.table(page.least, kind="least", session=page.session)
    if page.elements is None:
        graph: tuple[Any, ...] = (no_update,) * 4
    else:  # a new graph: its own height, no focus, no clicked movie
        height = {"width": "100%", "height": f"{canvas_height(page.elements)}px"}
        graph = (page.elements, height, STYLESHEET, view.DETAIL_HINT)
    return (view.message(page.message), _or_keep(page.heading and f"{page.heading}: top recommendations"),
            top, least, *graph, _or_keep(page.session))


@dataclass
class LocalApp:
    """A running app: its URL and the explorer behind it."""

    url: str
    explorer: Explorer
    server: Any

    def stop(self) -> None:
        self.server.shutdown()


@contextmanager
def open_app(settings: Neo4jSettings, runs_dir: Path, *, port: int = 8050) -> Iterator[LocalApp]:
    """Connect, load the catalogue and the run's model, serve the app on 127.0.0.1:``port``.

    The server runs in a thread while the ``with`` block runs; port 0 takes a free port.
    """
    from werkzeug.serving import make_server

    from engine.explore.live import WhatIfRefresh
    from engine.graphdb import Runner, connect
    from engine.graphdb.reader import Reader
    from engine.jobs.rate import rate

    if logging.getLogger("werkzeug").level == logging.NOTSET:  # no line per request unless asked for
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    driver = connect(settings)
    explorer = None
    try:
        db = Runner(driver, settings.database)
        live = WhatIfRefresh(db, runs_dir)
        explorer = Explorer(Reader(driver, settings.database), rate=functools.partial(rate, settings),
                            live=live)
        users = explorer.catalogue.users
        live.warm(users[0] if users else None)
        server = make_server(HOST, port, create_app(explorer).server, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="explore-http", daemon=True)
        thread.start()
        try:
            yield LocalApp(f"http://{HOST}:{server.server_port}/", explorer, server)
        finally:
            server.shutdown()
            thread.join(timeout=10)
    finally:
        if explorer is not None:
            explorer.close()
        driver.close()
