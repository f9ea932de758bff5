"""The GroupLens MovieLens file formats: which files each release has and how to read them.

Three layouts exist (detected from member names by :func:`detect_release`):

``"100k"``  ml-100k: ``u.data`` (tab separated), ``u.item``/``u.user``/``u.genre``
            (``|`` separated). Genres are 19 0/1 flags named by ``u.genre``.
``"dat"``   ml-1m and ml-10m: ``::`` separated ``ratings.dat``, ``movies.dat``, plus
            ``users.dat`` (ml-1m) or ``tags.dat`` (ml-10m).
``"csv"``   ml-latest(-small), ml-20m/25m/32m: UTF-8 CSV with a header row
            (``ratings.csv``, ``movies.csv``, ``tags.csv``, ``links.csv``;
            ``genome-*`` files are ignored).

Text files of the 100k and dat layouts are decoded as UTF-8 when the whole file is valid
UTF-8, else as latin-1 (the GroupLens ml-100k ``u.item`` and ml-1m ``movies.dat`` are
latin-1; an edited copy saved as UTF-8 must not turn "Café" into "CafÃ©"); the reader logs
which. A UTF-8 byte order mark at the start of any file is dropped. The numeric ratings
files are ASCII.

Rating scales: ml-100k and ml-1m use whole stars 1..5; all others 0.5..5.0 in 0.5 steps.
A rating's timestamp is epoch seconds, 0 to 2^35 (``engine.schema.MAX_TIMESTAMP``): a value in
micro- or nanoseconds is a bad line.

Genre names are unified across releases: ml-100k/ml-1m's ``"Children's"`` becomes
``"Children"`` (the ml-latest spelling), ml-latest's ``"(no genres listed)"`` and
ml-100k's ``"unknown"`` flag mean *no genres* (an empty list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["int", "optint", "float", "str", "optstr"]
Layout = Literal["100k", "dat", "csv"]

#: Release names this loader knows, most specific first (``ml-10m100k`` is ml-10m).
RELEASES: Final = (
    "ml-latest-small", "ml-latest", "ml-100k", "ml-10m", "ml-1m", "ml-20m", "ml-25m", "ml-32m",
)
_RELEASE_RE: Final = re.compile(r"ml-(latest-small|latest|100k|10m|1m|20m|25m|32m)")

#: The 19 ml-100k genres in flag order (used when ``u.genre`` is absent).
GENRES_100K: Final = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
#: Genre spellings unified across releases; ``None`` means "no genre".
GENRE_ALIASES: Final[dict[str, str | None]] = {
    "Children's": "Children",
    "(no genres listed)": None,
    "unknown": None,
}

#: ml-1m ``users.dat`` occupation codes (from the ml-1m README).
OCCUPATIONS_1M: Final = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)
#: ml-1m ``users.dat`` age codes (lower bound of the age band).
AGES_1M: Final = (1, 18, 25, 35, 45, 50, 56)


def normalise_genre(name: str) -> str | None:
    """One spelling per genre across releases; ``None`` for the "no genre" markers."""
    name = name.strip()
    return GENRE_ALIASES.get(name, name) if name else None


@dataclass(frozen=True)
class Col:
    """One field of a delimited file: its name, kind, and the reject wording if bad.

    Kinds: ``int``; ``optint`` (empty -> null); ``float``; ``str`` (text; an empty
    field sends its block to the strict parser, which tells it from a missing one);
    ``optstr`` (text that may be empty).
    """

    name: str
    kind: Kind
    problem: str = ""
    expected: str = ""

    @property
    def bad_problem(self) -> str:
        """Problem text when the field does not parse as its kind."""
        if self.problem:
            return self.problem
        return f"{self.name} not a number" if self.kind == "float" else f"non-numeric {self.name}"

    @property
    def bad_expected(self) -> str:
        """Expected-form text when the field does not parse as its kind."""
        if self.expected:
            return self.expected
        return {"int": "an integer", "optint": "an integer or empty", "float": "a number"}.get(
            self.kind, "text"
        )


@dataclass(frozen=True)
class TableSpec:
    """How to read one member: separator, columns, header, encoding, quoting.

    ``absorb`` names the one free-text column of a ``::`` file; a line with extra
    separators is read with them kept inside that column. ``blocked`` files are
    streamed in blocks (only for files that cannot hold quoted newlines).
    """

    member: str
    cols: tuple[Col, ...]
    sep: str
    header: bool = False
    encoding: Literal["utf-8", "latin-1", "auto"] = "utf-8"
    quoted: bool = False
    absorb: str | None = None
    blocked: bool = False

    @property
    def names(self) -> list[str]:
        """Column names in file order."""
        return [c.name for c in self.cols]

    @property
    def expected_fields(self) -> str:
        """Human description of a well-formed line."""
        return f"{len(self.cols)} fields separated by {self.sep!r}: {self.sep.join(self.names)}"


def _ids(*names: str) -> tuple[Col, ...]:
    return tuple(Col(n, "int") for n in names)


_RATING_HALF: Final = Col("rating", "float", "rating not a number",
                          "a number of stars 0.5 to 5.0, e.g. 4 or 3.5")
_RATING_WHOLE: Final = Col("rating", "float", "rating not a number",
                           "a whole number of stars 1 to 5, e.g. 4")
_TS: Final = Col("timestamp", "int", "timestamp not an integer", "seconds since 1970 (integer)")
#: The expected form of a rating timestamp out of range (see ``engine.schema.MAX_TIMESTAMP``).
TIMESTAMP_RANGE: Final = "seconds since 1970, 0 to 2^35 (not milli-, micro- or nanoseconds)"


def ratings_spec(layout: Layout, half_stars: bool | None = None) -> TableSpec:
    """``u.data`` / ``ratings.dat`` / ``ratings.csv``.

    ``half_stars`` (default: every layout but 100k) picks the wording of a bad rating, so
    a whole-star release never suggests "3.5".
    """
    half = layout != "100k" if half_stars is None else half_stars
    cols = (*_ids("userId", "movieId"), _RATING_HALF if half else _RATING_WHOLE, _TS)
    if layout == "100k":
        return TableSpec("u.data", cols, "\t", encoding="latin-1", blocked=True)
    if layout == "dat":
        return TableSpec("ratings.dat", cols, "::", encoding="latin-1", blocked=True)
    return TableSpec("ratings.csv", cols, ",", header=True, quoted=True, blocked=True)


def tags_spec(layout: Layout) -> TableSpec:
    """``tags.dat`` / ``tags.csv`` (ml-100k has no tags)."""
    cols = (*_ids("userId", "movieId"), Col("tag", "optstr"), _TS)
    if layout == "dat":
        return TableSpec("tags.dat", cols, "::", encoding="auto", absorb="tag")
    return TableSpec("tags.csv", cols, ",", header=True, quoted=True)


def movies_spec(layout: Layout) -> TableSpec:
    """``u.item`` / ``movies.dat`` / ``movies.csv``."""
    if layout == "100k":
        text = tuple(Col(n, "optstr") for n in ("releaseDate", "videoDate", "url"))
        flags = tuple(Col(f"g{i}", "int", "bad genre flag", "0 or 1") for i in range(19))
        cols = (Col("movieId", "int"), Col("title", "str"), *text, *flags)
        return TableSpec("u.item", cols, "|", encoding="auto")
    cols = (Col("movieId", "int"), Col("title", "str"), Col("genres", "str"))
    if layout == "dat":
        return TableSpec("movies.dat", cols, "::", encoding="auto", absorb="title")
    return TableSpec("movies.csv", cols, ",", header=True, quoted=True)


def users_spec(layout: Layout) -> TableSpec:
    """``u.user`` (100k) / ``users.dat`` (ml-1m)."""
    if layout == "100k":
        cols = (Col("userId", "int"), Col("age", "int"), Col("gender", "str"),
                Col("occupation", "str"), Col("zip", "str"))
        return TableSpec("u.user", cols, "|", encoding="auto")
    cols = (Col("userId", "int"), Col("gender", "str"), Col("age", "int"),
            Col("occupation", "int", "non-numeric occupation", "an occupation code 0..20"),
            Col("zip", "str"))
    return TableSpec("users.dat", cols, "::", encoding="auto")


GENRE_SPEC: Final = TableSpec(
    "u.genre", (Col("name", "str"), Col("index", "int")), "|", encoding="auto"
)
LINKS_SPEC: Final = TableSpec(
    "links.csv",
    (Col("movieId", "int"), Col("imdbId", "optint"), Col("tmdbId", "optint")),
    ",", header=True, quoted=True,
)


#: The member names that mark each layout (one folder must hold files of one layout only).
LAYOUT_FILES: Final[dict[Layout, frozenset[str]]] = {
    "100k": frozenset({"u.data", "u.item", "u.user"}),
    "dat": frozenset({"ratings.dat", "movies.dat", "users.dat", "tags.dat"}),
    "csv": frozenset({"ratings.csv", "movies.csv", "tags.csv", "links.csv"}),
}
#: How messages name each layout.
LAYOUT_NAMES: Final[dict[Layout, str]] = {
    "100k": "ml-100k files", "dat": "ml-1m/ml-10m .dat files", "csv": "CSV files of the ml-latest family",
}


def layouts_found(files: set[str] | frozenset[str]) -> dict[Layout, list[str]]:
    """The layouts whose marker files are among ``files``, each with its members found (sorted)."""
    return {layout: sorted(files & marks) for layout, marks in LAYOUT_FILES.items() if files & marks}


@dataclass(frozen=True)
class Release:
    """What :func:`detect_release` found: name, layout, scale and files."""

    name: str
    layout: Layout
    half_stars: bool
    required: tuple[str, ...]
    has_users: bool

    @property
    def scale(self) -> str:
        """Human description of the rating scale."""
        return "0.5 to 5.0 in steps of 0.5" if self.half_stars else "a whole number 1 to 5"


def release_name(hint: str) -> str | None:
    """The GroupLens release a file or directory name refers to, if any."""
    m = _RELEASE_RE.match(hint.lower())
    return f"ml-{m.group(1)}" if m else None


def detect_release(files: set[str] | frozenset[str], hint: str) -> Release:
    """Identify the release from its member names (``hint``: directory or zip name).

    Raises ``ValueError`` if no layout matches; callers turn that into a LoadError.
    """
    named = release_name(hint)
    if files & LAYOUT_FILES["100k"]:
        return Release("ml-100k", "100k", False, ("u.data", "u.item", "u.user"), True)
    if files & LAYOUT_FILES["dat"]:
        if "users.dat" in files or named == "ml-1m":
            return Release("ml-1m", "dat", False, ("ratings.dat", "movies.dat", "users.dat"), True)
        return Release("ml-10m", "dat", True, ("ratings.dat", "movies.dat"), False)
    if files & LAYOUT_FILES["csv"]:
        name = named if named in {"ml-latest-small", "ml-latest", "ml-20m", "ml-25m", "ml-32m"} \
            else "ml-latest"
        return Release(name, "csv", True, ("ratings.csv", "movies.csv"), False)
    raise ValueError(f"no MovieLens layout matches files {sorted(files)}")
