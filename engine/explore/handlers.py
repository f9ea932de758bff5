"""What each control of the explore page does, as plain functions: control values in, a :class:`Page` out.

The Dash callbacks (:mod:`engine.explore.app`) only call these and render the result, so
everything here is tested without a browser or a database (a fake reader). No handler
raises: bad input (an unknown user, filters that leave nothing, a rating off the scale)
and a database that went away become a :class:`Message` on the page, nothing is written,
and the server keeps serving.

The page's memory between callbacks is ``session`` (a ``dcc.Store``, JSON): the user shown,
the new user's id, the filters and the rows on screen, which a what-if rating compares with
the rows after it to mark each one moved up, moved down, new or gone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.errors import InputError, ReelGraphError
from engine.explore.graph import neighbour_elements
from engine.explore.rows import (
    NEW_USER,
    Filters,
    change_counts,
    change_text,
    mark_changes,
    parse_filters,
    parse_rating,
    parse_user,
)
from engine.explore.service import Explorer

__all__ = ["Message", "Page", "describe", "movie_detail", "movie_options", "show", "user_options", "what_if"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """A line at the top of the page: an error (nothing was written), a hint, or what a rating did."""

    kind: Literal["error", "info", "ok"]
    text: str


@dataclass
class Page:
    """What a callback shows; a field left ``None`` stays as it is on the page."""

    message: Message | None
    top: list[dict[str, Any]] | None = None
    gone: list[dict[str, Any]] | None = None
    least: list[dict[str, Any]] | None = None
    elements: list[dict[str, Any]] | None = None
    session: dict[str, Any] | None = None
    heading: str | None = None
    seconds: float | None = None  # click to new list, in the handler (what-if only)
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def cleared(cls, message: Message, session: dict[str, Any], heading: str = "") -> Page:
        """Empty lists and graph: what was on screen belongs to another user or other filters."""
        return cls(message, [], [], [], [], {**session, "top": [], "least": []}, heading)


def describe(exc: BaseException) -> str:
    """One line a person can act on, for any error a handler met."""
    if isinstance(exc, ReelGraphError):
        return str(exc)
    from engine.graphdb import translate

    translated = translate(exc)
    if translated is not None:
        return str(translated)
    log.exception("unexpected error in the explore app")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no detail"
    return f"unexpected error ({type(exc).__name__}: {first}); the server log has the traceback"


def _filters_key(filters: Filters) -> list[Any]:
    """The filters as the session keeps them (JSON: a list, genres a list)."""
    return [list(filters.genres), filters.year_min, filters.year_max, filters.min_score, filters.k]


def _user(explorer: Explorer, picked: int | str, session: dict[str, Any], fresh: bool) -> int:
    """The userId behind the picker: a new user gets (and keeps) the next free id."""
    if picked != NEW_USER:
        return int(picked)
    if fresh or not session.get("newUser"):
        session["newUser"] = explorer.new_user_id()
    return int(session["newUser"])


def _nothing_passes(filters: Filters) -> str:
    parts = [f"genres {', '.join(filters.genres)}" if filters.genres else "",
             f"years {filters.year_min}-{filters.year_max}" if filters.year_min is not None else "",
             f"minimum score {filters.min_score:g}" if filters.min_score is not None else ""]
    return f"no movie passes the filters ({'; '.join(p for p in parts if p) or 'none'}): widen them"


def show(explorer: Explorer, user_value: Any, genres: Any, years: Any, min_score: Any, k: Any,
         session: dict[str, Any] | None, *, fresh_user: bool = False) -> Page:
    """A user or filter changed: both lists and the graph, read again."""
    session = dict(session or {})
    try:
        picked = parse_user(user_value)
        if picked is None:
            return Page.cleared(Message("info", "Pick a user: type a userId, or choose 'a new user'."),
                                session)
        filters = parse_filters(genres, years, min_score, k, explorer.catalogue.years)
        uid = _user(explorer, picked, session, fresh_user)
        session.update(user=uid, filters=_filters_key(filters))
        if picked == NEW_USER and not explorer.user_exists(uid):
            hint = (f"New user {uid}: rate a few movies under 'What if you rated…'; the lists are "
                    "personalised from the first rating.")
            return Page.cleared(Message("info", hint), session, f"New user {uid}")
        lists = explorer.read(uid, filters)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message; the server keeps running
        return Page.cleared(Message("error", describe(exc)), session)
    message = None if lists.top else Message("info", _nothing_passes(filters))
    session.update(top=lists.top, least=lists.least)
    return Page(message, lists.top, [], lists.least, lists.elements, session, f"User {uid}",
                timings={"read": lists.seconds})


def what_if(explorer: Explorer, user_value: Any, movie_value: Any, rating_value: Any, genres: Any, years: Any,
            min_score: Any, k: Any, session: dict[str, Any] | None) -> Page:
    """A what-if rating: written through the checked path, the list refreshed, every change marked."""
    session = dict(session or {})
    try:
        picked = parse_user(user_value)
        if picked is None:
            raise InputError("pick a user first (or 'a new user'); nothing was written")
        if movie_value in (None, ""):
            raise InputError("pick a movie to rate (type a title, or click a row's 'why'); "
                             "nothing was written")
        movie_id = int(movie_value)
        rating = parse_rating(rating_value)
        filters = parse_filters(genres, years, min_score, k, explorer.catalogue.years)
        uid = _user(explorer, picked, session, False)
        if picked != NEW_USER and not explorer.user_exists(uid):
            raise InputError(f"unknown user {uid}: no (:User {{userId: {uid}}}) in the graph; choose "
                             "'a new user' to create one; nothing was written")
        t0 = time.perf_counter()
        refreshed = explorer.rate(uid, movie_id, rating)
        t1 = time.perf_counter()
        lists = explorer.read(uid, filters)
        t2 = time.perf_counter()
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message; the server keeps running
        return Page(Message("error", describe(exc)), session=session)
    same = session.get("user") == uid and session.get("filters") == _filters_key(filters)
    top, gone = mark_changes(session.get("top") or [] if same else [], lists.top)
    least, _ = mark_changes(session.get("least") or [] if same else [], lists.least)
    movie = explorer.catalogue.movies.get(movie_id)
    refresh_s = refreshed.seconds if refreshed else 0.0
    if refreshed is None:
        problem = explorer.live.problem if explorer.live else "no refresher"
        how = f"this app cannot refresh lists ({problem}); the list changes at the next engine refresh"
    elif refreshed.mode == "fold-in":
        how = f"fold-in here {refresh_s:.2f} s"
    else:
        how = f"switched by the running engine refresh --watch after {refresh_s:.2f} s"
    text = (f"Rated {movie.title if movie else f'movie {movie_id}'} ★{rating:g} as user {uid}: new list in "
            f"{t2 - t0:.2f} s ({how}): {change_text(change_counts(top, gone))}.")
    session.update(user=uid, filters=_filters_key(filters), top=lists.top, least=lists.least)
    timings = {"write": t1 - t0 - refresh_s, "refresh": refresh_s, "read": t2 - t1}
    return Page(Message("ok", text), top, gone, least, lists.elements, session, f"User {uid}", t2 - t0,
                timings)


def user_options(explorer: Explorer, search: str | None, value: Any, session: dict[str, Any] | None
                 ) -> list[dict[str, Any]]:
    """The picker's choices: 'a new user', userIds starting with what was typed, the typed id itself."""
    options: list[dict[str, Any]] = [{"label": "a new user", "value": NEW_USER}]
    text = (search or "").strip()
    ids = explorer.catalogue.search_users(text) if text.isdigit() or not text else []
    if text.lstrip("-").isdigit() and int(text) not in ids:
        ids.insert(0, int(text))  # an unknown id can be picked: the page then says it is unknown
    if isinstance(value, int) and value not in ids:
        ids.insert(0, value)
    new = (session or {}).get("newUser")
    options += [{"label": f"user {u}" + (" (new)" if u == new else ""), "value": u} for u in ids]
    return options


def movie_options(explorer: Explorer, search: str | None, value: Any, session: dict[str, Any] | None
                  ) -> list[dict[str, Any]]:
    """Movies to rate: title search over the catalogue, else the movies on screen."""
    cat = explorer.catalogue
    found = cat.search_movies(search or "")
    ids = [m.movie_id for m in found] or [r["movieId"] for r in [*(session or {}).get("top", []),
                                                                  *(session or {}).get("least", [])]]
    if value not in (None, "") and int(value) not in ids:
        ids.insert(0, int(value))
    return [{"label": cat.movies[i].title if i in cat.movies else f"movie {i}", "value": i}
            for i in dict.fromkeys(ids)]


def movie_detail(explorer: Explorer, session: dict[str, Any] | None, movie_id: int,
                 items: list[dict[str, Any]] | None
                 ) -> tuple[dict[str, Any] | Message, list[dict[str, Any]] | None]:
    """A clicked movie: why it is (not) recommended to the user, its SIMILAR neighbours added to the graph."""
    user = (session or {}).get("user")
    try:
        if user is not None and not explorer.user_exists(int(user)):
            user = None  # a new user before their first rating
        why, similar = explorer.detail(user, int(movie_id))
    except Exception as exc:  # noqa: BLE001 - shown in the page
        return Message("error", describe(exc)), None
    movie = explorer.catalogue.movies.get(int(movie_id))
    title = movie.title if movie else (why or {}).get("title") or f"movie {movie_id}"
    detail = {"movieId": int(movie_id), "title": title, "user": user, "why": why, "similar": similar}
    return detail, neighbour_elements(items or [], int(movie_id), title, similar)
