"""``engine explore`` without a database or a browser: the pure parts and every handler, over a fake reader.

The fake reader answers the ``cypher/recommend`` calls the app makes (and records them);
the fake write path runs the real checks of ``engine rate`` (:func:`check_ratings` on the
release's scale) before it records a rating, so "nothing was written" is checked here too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("dash", reason="pip install 'reelgraph[explore]' (the dev extra has it)")
pytest.importorskip("dash_cytoscape")

import neo4j.exceptions  # noqa: E402

from engine.data.new_ratings import HALF_STARS, NewRating, check_ratings  # noqa: E402
from engine.errors import InputError  # noqa: E402
from engine.explore import graph, handlers, rows  # noqa: E402
from engine.explore.live import Refreshed, WhatIfError, WhatIfRefresh  # noqa: E402
from engine.explore.rows import NEW_USER, Filters  # noqa: E402
from engine.explore.service import Explorer  # noqa: E402
from engine.graphdb.reader import UnknownIdError  # noqa: E402

GENRES = ["Action", "Comedy", "Drama", "Sci-Fi"]
MOVIES = {m: (f"Movie {m} ({1950 + m})", 1950 + m, [GENRES[m % 4], GENRES[(m + 1) % 4]])
          for m in range(1, 61)}


def _row(m: int, rank: int, score: float, **extra: Any) -> dict[str, Any]:
    title, year, genres = MOVIES[m]
    return {"rank": rank, "movieId": m, "title": title, "year": year, "genres": genres, "score": score,
            "source": "model", "because": MOVIES[1][0], "becauseYouRecentlyRated": None,
            "sharedGenres": genres[:1], "explanation": f"model rank {rank}, score {score}", **extra}


class FakeReader:
    """The Reader calls of the app, over a small catalogue; ``down = True`` is Neo4j gone away."""

    def __init__(self) -> None:
        self.users = {1, 2, 3, 7}
        self.ratings: dict[int, list[tuple[int, float, int]]] = {1: [(1, 5.0, 100), (2, 4.0, 200)]}
        self.tops: dict[int, list[int]] = {1: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.down = False

    def _check(self, name: str, **params: Any) -> None:
        self.calls.append((name, params))
        if self.down:
            raise neo4j.exceptions.ServiceUnavailable("Couldn't connect to 127.0.0.1:7687")

    def run(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        self._check(name, **params)
        if name == "export/movie_nodes":
            return [{"nodes": list(MOVIES), "movieIds": list(MOVIES)}]
        if name == "export/movies":
            return [{"rows": [[m, *MOVIES[m][:2], MOVIES[m][2]] for m in params["movieIds"]]}]
        if name == "export/user_ids":
            return [{"userIds": sorted(self.users), "degrees": [1] * len(self.users)}]
        if name == "load/dataset_get":
            return [{"name": "ml-latest-small", "props": {}}]
        if name == "admin/genre_names":
            return [{"name": g} for g in GENRES]
        if name == "recommend/lookup":
            return [{"userExists": params["userId"] in self.users, "movieExists": True}]
        if name == "viz/explain_paths":
            return [{"movieId": m, "title": MOVIES[m][0], "year": MOVIES[m][1], "genres": MOVIES[m][2],
                     "because": [{"movieId": 1, "title": MOVIES[1][0], "rating": 5.0, "similarity": 0.8,
                                  "sharedGenres": []}],
                     "fans": [{"userId": 7, "rating": 4.5}]} for m in params["movieIds"]]
        if name == "recommend/explain":
            return [self.explain(params["userId"], params["movieId"])]
        if name == "live/histories":
            u = params["userIds"][0]
            if u not in self.users:
                return []
            r = self.ratings.get(u, [])
            return [{"userId": u, "movies": [x[0] for x in r], "ratings": [x[1] for x in r],
                     "timestamps": [x[2] for x in r]}]
        raise AssertionError(f"unexpected query {name}")

    def lookup(self, user_id: int | None = None, movie_id: int | None = None) -> dict[str, Any]:
        self._check("recommend/lookup", userId=user_id)
        if user_id is not None and user_id not in self.users:
            raise UnknownIdError(f"unknown user {user_id}: no (:User {{userId: {user_id}}}) in the graph")
        return {"userExists": True}

    def recommend(self, user_id: int, k: int = 10, *, genres: Any = None, years: Any = (None, None),
                  min_score: Any = None) -> list[dict[str, Any]]:
        self.lookup(user_id)
        self._check("recommend/for_user", userId=user_id, k=k, genres=genres, yearMin=years[0],
                    yearMax=years[1], minScore=min_score)
        ids = self.tops.get(user_id, [40, 41, 42])
        out = [_row(m, i, 10.0 - i) for i, m in enumerate(ids, 1)]
        out = rows.filter_rows(out, Filters(tuple(genres or ()), years[0], years[1], k=k))
        return [r for r in out if min_score is None or r["score"] >= min_score]

    def least_relevant(self, user_id: int, k: int = 10) -> list[dict[str, Any]]:
        self.lookup(user_id)
        self._check("recommend/least_relevant", userId=user_id, k=k)
        return [{k_: v for k_, v in _row(m, i, 0.0).items() if k_ != "score"} | {"affinity": i / 100 - 1}
                for i, m in enumerate(range(60, 30, -1), 1)][:k]

    def similar_movies(self, movie_id: int, k: int = 10) -> list[dict[str, Any]]:
        self._check("recommend/similar_movies", movieId=movie_id, k=k)
        return [_row(m, i, 1 - i / 10, source="vector") for i, m in enumerate(range(50, 50 + k), 1)]

    def similar_users(self, user_id: int, k: int = 10) -> list[dict[str, Any]]:
        self._check("recommend/similar_users", userId=user_id, k=k)
        return [{"rank": 1, "userId": 7, "score": 0.93, "source": "vector"}]

    def explain(self, user_id: int, movie_id: int) -> dict[str, Any]:
        self._check("recommend/explain", userId=user_id, movieId=movie_id)
        return {"movieId": movie_id, "title": MOVIES[movie_id][0], "source": "not recommended", "rank": None,
                "score": None, "vectorSimilarity": 0.1, "nearestFavourites": [],
                "explanation": f"not in your top 10; explain {user_id}/{movie_id}"}

    def current_run(self) -> dict[str, Any]:
        return {"runId": "run-1", "model": "temporal_filter", "k": 20}


class FakeLive:
    """The what-if refresh: records calls; on refresh the user's list changes like a fold-in would."""

    problem: str | None = None

    def __init__(self, reader: FakeReader) -> None:
        self.reader, self.calls = reader, []  # type: ignore[var-annotated]

    def mark(self) -> str:
        return "2026-01-01T00:00:00Z"

    def refresh(self, user_id: int, since: str) -> Refreshed:
        self.calls.append((user_id, since))
        if user_id == 1:  # 11 moves up to first, 10 drops to third, 12 leaves, 30 enters
            self.reader.tops[1] = [11, 13, 10, 30, *self.reader.tops[1][4:]]
        else:  # a new user: personalised from the first rating
            self.reader.tops[user_id] = [44, 45, 46]
        return Refreshed("fold-in", 0.05, 1)


def make(read_only: bool = False) -> tuple[Explorer, FakeReader, list[NewRating], FakeLive]:
    reader = FakeReader()
    written: list[NewRating] = []
    live = FakeLive(reader)

    def rate(ratings: list[NewRating]) -> int:  # engine rate's checks, then the write
        check_ratings(ratings, HALF_STARS, set(MOVIES))
        if reader.down:
            raise neo4j.exceptions.ServiceUnavailable("Couldn't connect")
        written.extend(ratings)
        for r in ratings:
            reader.users.add(r.user_id)
            reader.ratings.setdefault(r.user_id, []).append((r.movie_id, r.rating, r.timestamp))
        return len(ratings)

    explorer = Explorer(reader, rate=None if read_only else rate, live=live, clock=lambda: 1_700_000_000)
    return explorer, reader, written, live


ALL_YEARS = [1951, 2010]


# ---------------------------------------------------------------------- pure: rows
def test_parse_filters_checks_every_control() -> None:
    f = rows.parse_filters(["Drama", "Comedy", "Drama"], [1960, 1990], "2.5", 20, (1951, 2010))
    assert f == Filters(("Comedy", "Drama"), 1960, 1990, 2.5, 20)
    assert rows.parse_filters(None, ALL_YEARS, None, "10", (1951, 2010)) == Filters(k=10)
    assert rows.parse_filters([], ALL_YEARS, "", 10, (1951, 2010)).min_score is None
    for bad in (0, 51, 2.5, None, "x", "nan"):
        with pytest.raises(InputError, match="top-K"):
            rows.parse_filters(None, None, None, bad)
    with pytest.raises(InputError, match="minimum score"):
        rows.parse_filters(None, None, "inf", 10)
    with pytest.raises(InputError, match="empty"):
        rows.parse_filters(None, [1990, 1960], None, 10)


def test_parse_user_and_rating() -> None:
    assert rows.parse_user("new") == NEW_USER and rows.parse_user(None) is None
    assert rows.parse_user(7) == 7 and rows.parse_user("7") == 7 and rows.parse_user(7.0) == 7
    for bad in ("abc", 1.5, "1e30"):
        with pytest.raises(InputError, match="userId"):
            rows.parse_user(bad)
    assert rows.parse_rating("4.5") == 4.5
    with pytest.raises(InputError, match="give a rating"):
        rows.parse_rating(None)


def test_filter_rows_keeps_any_genre_and_the_year_range_and_ranks_again() -> None:
    least = [_row(m, i, -i) for i, m in enumerate(range(1, 40), 1)]
    kept = rows.filter_rows(least, Filters(("Sci-Fi",), 1960, 1980, k=5))
    assert [r["rank"] for r in kept] == [1, 2, 3, 4, 5]
    assert all("Sci-Fi" in r["genres"] and 1960 <= r["year"] <= 1980 for r in kept)
    assert rows.filter_rows(least, Filters(year_min=2100, k=5)) == []


def test_mark_changes_moved_up_down_new_gone() -> None:
    before = [_row(m, i, 0) for i, m in enumerate([10, 11, 12, 13], 1)]
    after = [_row(m, i, 0) for i, m in enumerate([11, 13, 10, 30], 1)]
    marked, gone = rows.mark_changes(before, after)
    assert [(r["movieId"], r["change"], r["was"]) for r in marked] == [
        (11, "up", 2), (13, "up", 4), (10, "down", 1), (30, "new", None)]
    assert [(r["movieId"], r["change"]) for r in gone] == [(12, "gone")]
    counts = rows.change_counts(marked, gone)
    assert counts == {"up": 2, "down": 1, "new": 1, "gone": 1}
    assert rows.change_text(counts) == "1 new, 1 gone, 2 moved up, 1 moved down"
    assert rows.change_text(rows.change_counts(*rows.mark_changes(before, before))) == "no change"


# ---------------------------------------------------------------------- pure: graph
def test_graph_has_user_recommendations_and_reasons_with_numbers() -> None:
    recs = [_row(m, i, 10.0 - i, becauseYouRecentlyRated=MOVIES[2][0]) for i, m in enumerate([10, 11, 12], 1)]
    because = {"movieId": 1, "title": MOVIES[1][0], "rating": 5.0, "similarity": 0.81,
               "sharedGenres": ["Drama"]}
    paths = [{"movieId": 10, "because": [because], "fans": [{"userId": 7, "rating": 4.5}]}]
    history = [{"movieId": 2, "title": MOVIES[2][0], "rating": 4.0, "timestamp": 200},
               {"movieId": 1, "title": MOVIES[1][0], "rating": 5.0, "timestamp": 100}]
    items = graph.elements(1, recs, paths, [{"userId": 7, "score": 0.93}], history)
    nodes = {e["data"]["id"]: e for e in items if "source" not in e["data"]}
    edges = [e["data"] for e in items if "source" in e["data"]]
    kinds = sorted(n["data"]["kind"] for n in nodes.values())
    assert kinds == ["rec", "rec", "rec", "recent", "recent", "similar", "user"]
    assert "favourite" in nodes["m:1"]["classes"]  # a recent rating that is also a favourite
    assert sum(e["rel"] == "RECOMMENDED" for e in edges) == 3
    assert {e["rel"] for e in edges} == {"RECOMMENDED", "SIMILAR", "RATED", "RECENT"}
    similar = next(e for e in edges if e["rel"] == "SIMILAR")
    assert "0.810" in similar["hover"] and "Drama" in similar["hover"]
    assert "score 9" in nodes["m:10"]["data"]["hover"] and "User 7" in nodes["su:7"]["data"]["label"]
    assert all("position" in n for n in nodes.values())


def test_graph_stays_readable_at_20_recommendations() -> None:
    recs = [_row(m, i, 30.0 - i) for i, m in enumerate(range(10, 30), 1)]
    recs[19] |= {"title": "Austin Powers: The Spy Who Shagged Me (1999)", "score": 6.921234}
    paths = [{"movieId": m, "because": [{"movieId": 40 + m % 7, "title": f"fav {m % 7}", "rating": 5.0,
                                         "similarity": 0.5}], "fans": []} for m in range(10, 30)]
    items = graph.elements(1, recs, paths)
    for kind in ("rec", "favourite"):
        ys = sorted(e["position"]["y"] for e in items if e["data"].get("kind") == kind)
        assert all(b - a >= 40 for a, b in zip(ys, ys[1:], strict=False)), (kind, ys)  # boxes are 34 px tall
    assert graph.canvas_height(items) >= 19 * graph.ROW_PX  # the canvas grows, the text does not shrink
    labels = [e["data"]["label"] for e in items if e["data"].get("kind") == "rec"]
    assert all(len(line) <= 44 for label in labels for line in label.splitlines())  # one line in a 262 px box


def test_clicked_movie_neighbours_are_added_then_replaced() -> None:
    items = graph.elements(1, [_row(10, 1, 9.0)])
    similar = [_row(m, i, 0.9, source="vector") for i, m in enumerate([50, 51], 1)]
    with_n = graph.neighbour_elements(items, 10, MOVIES[10][0], similar)
    added = [e for e in with_n if "neighbour" in e["classes"].split()]
    assert {e["data"]["id"] for e in added} >= {"n:50", "n:51", "m:10>n:50:SIMILAR"}
    again = graph.neighbour_elements(with_n, 10, MOVIES[10][0], similar[:1])
    assert len([e for e in again if "neighbour" in e["classes"].split()]) == 2  # one node, one edge
    assert graph.without_neighbours(again) == items
    assert any('source = "m:10"' in rule["selector"] for rule in graph.focus("m:10"))


# ---------------------------------------------------------------------- handlers
def test_show_reads_both_lists_with_filters_as_cypher_parameters() -> None:
    explorer, reader, _, _ = make()
    page = handlers.show(explorer, 1, ["Comedy"], [1955, 2010], "1", 5, None)
    assert page.message is None, page.message
    call = next(p for n, p in reader.calls if n == "recommend/for_user")
    assert call == {"userId": 1, "k": 5, "genres": ["Comedy"], "yearMin": 1955, "yearMax": 2010,
                    "minScore": 1.0}
    assert page.top and all("Comedy" in r["genres"] and r["year"] >= 1955 for r in page.top)
    # least_relevant has no filter parameters: over-fetched, filtered, and explained by explain.cypher
    assert next(p for n, p in reader.calls if n == "recommend/least_relevant")["k"] == rows.LEAST_FETCH
    assert page.least and len(page.least) == 5
    assert all("Comedy" in r["genres"] and r["year"] >= 1955 for r in page.least)
    assert all(r["explanation"].startswith("not in your top 10; explain 1/") for r in page.least)
    assert [r["score"] for r in page.least] == sorted(r["score"] for r in page.least)
    assert page.elements and page.session and page.session["user"] == 1
    assert len(page.session["top"]) == len(page.top)
    json.dumps(page.session)  # a dcc.Store keeps it as JSON


def test_show_unknown_user_and_empty_filters_give_a_message() -> None:
    explorer, _, _, _ = make()
    page = handlers.show(explorer, 999, None, ALL_YEARS, None, 10, None)
    assert page.message and page.message.kind == "error" and "unknown user 999" in page.message.text
    assert page.top == [] and page.least == [] and page.elements == []  # nothing stale left on screen
    page = handlers.show(explorer, 1, ["Action"], [2008, 2009], None, 10, None)
    assert page.message and page.message.kind == "info" and "no movie passes the filters" in page.message.text
    assert "Action" in page.message.text and "2008-2009" in page.message.text
    page = handlers.show(explorer, 1, None, ALL_YEARS, "abc", 10, None)
    assert page.message and page.message.kind == "error" and "minimum score" in page.message.text
    page = handlers.show(explorer, None, None, ALL_YEARS, None, 10, None)
    assert page.message and page.message.kind == "info" and "Pick a user" in page.message.text


def test_neo4j_gone_is_a_message_not_a_crash() -> None:
    explorer, reader, written, _ = make()
    handlers.show(explorer, 1, None, ALL_YEARS, None, 10, None)  # the catalogue is loaded while up
    reader.down = True
    page = handlers.show(explorer, 1, None, ALL_YEARS, None, 10, None)
    assert page.message and page.message.kind == "error" and "connection to Neo4j" in page.message.text
    page = handlers.what_if(explorer, 1, 20, 4, None, ALL_YEARS, None, 10, {})
    assert page.message and page.message.kind == "error" and "Neo4j" in page.message.text
    assert page.top is None and not written  # the page keeps what it showed
    reader.down = False
    assert handlers.show(explorer, 1, None, ALL_YEARS, None, 10, None).message is None  # and recovers


def test_what_if_writes_through_the_checked_path_refreshes_and_marks_changes() -> None:
    explorer, reader, written, live = make()
    shown = handlers.show(explorer, 1, None, ALL_YEARS, None, 4, None)
    page = handlers.what_if(explorer, 1, 25, "4.5", None, ALL_YEARS, None, 4, shown.session)
    assert page.message and page.message.kind == "ok", page.message
    assert written == [NewRating(1, 25, 4.5, 1_700_000_000, "your rating")]
    assert live.calls == [(1, "2026-01-01T00:00:00Z")]  # the clock read before the write
    assert [(r["movieId"], r["change"]) for r in page.top or []] == [(11, "up"), (13, "up"), (10, "down"),
                                                                      (30, "new")]
    assert [(r["movieId"], r["change"]) for r in page.gone or []] == [(12, "gone")]
    assert "1 new, 1 gone, 2 moved up, 1 moved down" in page.message.text and "fold-in" in page.message.text
    assert page.seconds is not None and set(page.timings) == {"write", "refresh", "read"}
    assert page.session and [r["movieId"] for r in page.session["top"]] == [11, 13, 10, 30]
    recent = [e for e in page.elements or [] if e["data"].get("kind") == "recent"]
    assert any(e["data"]["movieId"] == 25 for e in recent)  # the new rating is a reason in the graph


@pytest.mark.parametrize(("user", "movie", "rating", "needle"), [
    (1, 25, "7", "off the loaded release's scale"),
    (1, 25, "4.25", "off the loaded release's scale"),
    (1, 999, "4", "movieId 999 is not in the graph"),
    (1, 25, None, "give a rating"),
    (1, None, "4", "pick a movie"),
    (999, 25, "4", "unknown user 999"),
    (None, 25, "4", "pick a user"),
])
def test_bad_what_if_writes_nothing(user: Any, movie: Any, rating: Any, needle: str) -> None:
    explorer, _, written, live = make()
    shown = handlers.show(explorer, 1, None, ALL_YEARS, None, 10, None)
    page = handlers.what_if(explorer, user, movie, rating, None, ALL_YEARS, None, 10, shown.session)
    assert page.message and page.message.kind == "error" and needle in page.message.text, page.message
    assert not written and not live.calls and page.top is None and page.elements is None


def test_a_new_user_gets_a_fresh_id_and_a_personal_list_from_the_first_rating() -> None:
    explorer, reader, written, _ = make()
    reader.users.add(8)  # created by someone else since the catalogue was read
    page = handlers.show(explorer, NEW_USER, None, ALL_YEARS, None, 10, None, fresh_user=True)
    uid = page.session["newUser"] if page.session else None
    assert uid == 9, page.session  # above every known id, and not taken in the graph
    assert page.message and "New user 9" in page.message.text and page.top == []
    session = page.session
    for movie in (20, 21, 22):
        page = handlers.what_if(explorer, NEW_USER, movie, 5, None, ALL_YEARS, None, 10, session)
        assert page.message and page.message.kind == "ok", page.message
        session = page.session
    assert [r.user_id for r in written] == [9, 9, 9]
    assert [r["movieId"] for r in page.top or []] == [44, 45, 46]
    again = handlers.show(explorer, NEW_USER, None, ALL_YEARS, None, 10, session)  # a filter changed
    assert again.session and again.session["user"] == 9 and again.top
    assert any(o["value"] == 9 and "(new)" in o["label"]
               for o in handlers.user_options(explorer, "9", None, again.session))
    fresh = handlers.show(explorer, NEW_USER, None, ALL_YEARS, None, 10, session, fresh_user=True)
    assert fresh.session and fresh.session["newUser"] == 10


def test_read_only_explorer_refuses_to_write() -> None:
    explorer, _, written, _ = make(read_only=True)
    page = handlers.what_if(explorer, 1, 25, 4, None, ALL_YEARS, None, 10, {})
    assert page.message and "read-only" in page.message.text and not written


def test_user_and_movie_options_search() -> None:
    explorer, _, _, _ = make()
    options = handlers.user_options(explorer, "", None, None)
    assert options[0] == {"label": "a new user", "value": NEW_USER}
    assert {o["value"] for o in options} >= {1, 2, 7}
    assert [o["value"] for o in handlers.user_options(explorer, "7", None, None)] == [NEW_USER, 7]
    assert 424242 in [o["value"] for o in handlers.user_options(explorer, "424242", None, None)]
    found = handlers.movie_options(explorer, "movie 1", None, None)
    assert found[0]["label"].startswith("Movie 1 ") and all("Movie 1" in o["label"] for o in found)
    assert handlers.movie_options(explorer, "", 33, None) == [{"label": MOVIES[33][0], "value": 33}]


def test_movie_detail_explains_and_adds_neighbours() -> None:
    explorer, reader, _, _ = make()
    shown = handlers.show(explorer, 1, None, ALL_YEARS, None, 10, None)
    detail, items = handlers.movie_detail(explorer, shown.session, 10, shown.elements)
    assert isinstance(detail, dict) and detail["why"]["explanation"].startswith("not in your top 10; explain")
    assert len(detail["similar"]) == 6
    assert ("recommend/similar_movies", {"movieId": 10, "k": 6}) in reader.calls
    assert items and sum("neighbour" in e["classes"].split() for e in items) == 12
    reader.down = True
    detail, items = handlers.movie_detail(explorer, shown.session, 10, shown.elements)
    assert isinstance(detail, handlers.Message) and detail.kind == "error" and items is None


# ---------------------------------------------------------------------- the Dash app
def test_app_serves_everything_locally_and_renders_pages() -> None:
    from dash import no_update

    from engine.explore import app as explore_app
    from engine.explore import view

    explorer, _, _, _ = make()
    dash_app = explore_app.create_app(explorer)
    assert dash_app.config.serve_locally and not dash_app.config.external_stylesheets
    assert not dash_app.config.external_scripts
    with dash_app.server.test_client() as client:
        html_text = client.get("/").get_data(as_text=True)
        layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "http://" not in html_text.replace("http://www.w3.org", "") and "https://" not in html_text
    assert "@import" not in html_text and "fonts.googleapis" not in html_text
    assert "ml-latest-small" in layout and "a new user" in layout
    page = handlers.show(explorer, 1, None, ALL_YEARS, None, 10, None)
    out = explore_app.render(page)
    assert len(out) == 9 and out[0] is None and out[4] == page.elements
    assert out[5]["height"].endswith("px")
    kept = explore_app.render(handlers.Page(handlers.Message("error", "boom")))
    assert all(v is no_update for v in kept[1:])
    table = view.table(page.top or [], kind="top")
    assert "data-movie" in json.dumps(table.to_plotly_json(), default=lambda o: o.to_plotly_json())


# ---------------------------------------------------------------------- the Browser nit of issue 34
def test_the_browser_guide_applies_the_style_first() -> None:
    """Browser captions a styleless :User with a number of its vector: the guide first applies the style."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    guide = (root / "browser" / "guide.md").read_text(encoding="utf-8")
    first = re.search(r"```cypher\n(.*?)```", guide, flags=re.S)
    grass = (root / "browser" / "style.grass").read_text(encoding="utf-8").strip()
    assert first and first.group(1).strip() == ":style " + grass
    assert 'caption: "{userId}"' in grass


# ------------------------------------------------------------- engine.explore.live: the what-if refresh
class FakeRunner:
    """The statements WhatIfRefresh runs; the refresh lease held by ``holder`` (None: free)."""

    def __init__(self, holder: str | None, switched_after: int = 2) -> None:
        self.holder, self.switched_after, self.polls = holder, switched_after, 0
        self.writes: list[str] = []

    def write(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        self.writes.append(name)
        if name == "writeback/lease_acquire":
            free = self.holder is None or self.holder == params["owner"]
            if free:
                self.holder = params["owner"]
            return [{"acquired": free, "owner": self.holder, "acquiredAt": "t", "expiresAt": "t"}]
        if name == "writeback/lease_release":
            self.holder = None
        return [{"renewed": True}]

    def read(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        if name == "admin/now":
            return [{"now": "2026-01-01T00:00:00Z"}]
        if name == "recommend/current_run":
            return [{"runId": "run-1", "k": 10}]
        if name == "live/changed_users":
            self.polls += 1
            return [{"users": [5] if self.polls <= self.switched_after else [], "now": "t"}]
        raise AssertionError(name)


def test_what_if_refresh_folds_in_under_the_lease_and_gives_it_back(tmp_path: Any) -> None:
    from engine.jobs.live import RefreshSummary

    db = FakeRunner(holder=None)
    live = WhatIfRefresh(db, tmp_path)  # type: ignore[arg-type]
    calls = []

    class FakeRefresher:
        lease: Any = None

        def refresh(self, since: str) -> RefreshSummary:
            calls.append((since, self.lease.owner))
            return RefreshSummary(run_id="run-1", users=1)

    live._refresher = FakeRefresher()  # type: ignore[assignment]
    done = live.refresh(5, "2026-01-01T00:00:00Z")
    assert done.mode == "fold-in" and done.users == 1
    assert calls[0][0] == "2026-01-01T00:00:00Z" and db.holder is None  # released after the pass
    assert db.writes.count("writeback/lease_acquire") == 1 and "writeback/lease_release" in db.writes


def test_what_if_refresh_waits_for_a_running_watcher(tmp_path: Any) -> None:
    db = FakeRunner(holder="otherhost:1:abcd", switched_after=2)
    live = WhatIfRefresh(db, tmp_path, poll_s=0.01)  # type: ignore[arg-type]
    done = live.refresh(5, "2026-01-01T00:00:00Z")
    assert done.mode == "watcher" and db.polls == 3 and db.holder == "otherhost:1:abcd"  # never taken over
    never = FakeRunner(holder="otherhost:1:abcd", switched_after=10**9)
    slow = WhatIfRefresh(never, tmp_path, wait_s=0.05, poll_s=0.01)  # type: ignore[arg-type]
    with pytest.raises(WhatIfError, match="has not switched user 5's list"):
        slow.refresh(5, "2026-01-01T00:00:00Z")
