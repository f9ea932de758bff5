"""The bulk (neo4j-admin import) path: when it is chosen, and the files it writes."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from loader import read_movielens
from loader.bulk import (
    BULK_MIN_RATINGS,
    BulkImportError,
    decide,
    has_multiline_text,
    import_args,
    write_import_files,
)
from loader.dataset import MovieLensData, conform

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "movielens"
BIG = BULK_MIN_RATINGS


@pytest.mark.parametrize(
    ("mode", "local", "empty", "ratings", "expected"),
    [
        ("auto", True, True, BIG, True),
        ("auto", True, True, BIG - 1, False),  # small: the restart costs more than it saves
        ("auto", False, True, BIG, False),  # remote / Docker: no store on disk
        ("auto", True, False, BIG, False),  # never over existing data
        ("never", True, True, BIG, False),
        ("always", True, True, 10, True),
    ],
)
def test_decide(mode: str, local: bool, empty: bool, ratings: int, expected: bool) -> None:
    use, reason = decide(mode, local=local, empty=empty, ratings=ratings, interrupted=False)  # type: ignore[arg-type]
    assert use is expected
    assert reason


@pytest.mark.parametrize(
    ("local", "empty", "why"), [(False, True, "not the local"), (True, False, "not empty")])
def test_always_refuses_with_the_reason(local: bool, empty: bool, why: str) -> None:
    with pytest.raises(BulkImportError, match=why):
        decide("always", local=local, empty=empty, ratings=BIG, interrupted=False)


def test_an_interrupted_import_is_redone_even_when_small() -> None:
    use, reason = decide("auto", local=True, empty=False, ratings=5, interrupted=True)
    assert use and "interrupted" in reason
    assert decide("never", local=True, empty=False, ratings=5, interrupted=True)[0] is False


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_import_files_round_trip_the_data(tmp_path: Path) -> None:
    data = read_movielens(FIXTURES / "ml-1m")  # demographics, latin-1 titles
    files = {f.name: f for f in write_import_files(data, tmp_path)}
    assert set(files) == {"User", "Movie", "Genre", "RATED", "IN_GENRE", "TAGGED"}
    assert _read(files["User"].header) == [["userId:ID(User)", "gender", "age:long", "occupation", "zip"]]
    users = _read(files["User"].data)
    assert len(users) == files["User"].rows == len(data.users)
    first = data.users.iloc[0]
    assert users[0] == [str(first.userId), first.gender, str(first.age), first.occupation, first.zip]

    movies = {int(r[0]): r for r in _read(files["Movie"].data)}
    for m in data.movies.itertuples():
        assert movies[m.movieId][1] == m.title  # commas/quotes survive the CSV quoting
        assert movies[m.movieId][2] == ("" if pd.isna(m.year) else str(m.year))

    rated = _read(files["RATED"].data)
    assert len(rated) == len(data.ratings)
    got = sorted((int(u), int(m), float(r), int(t)) for u, m, r, t in rated)
    want = sorted(data.ratings.itertuples(index=False, name=None))
    assert got == want
    genres = {r[0]: r[1] for r in _read(files["Genre"].data)}
    in_genre = _read(files["IN_GENRE"].data)
    assert len(in_genre) == sum(len(g) for g in data.movies["genres"])
    assert all(g in genres for _, g in in_genre)


def test_titles_with_quotes_commas_and_tags_are_quoted(tmp_path: Path) -> None:
    movies = conform("movies", pd.DataFrame({
        "movieId": [1, 2], "title": ['Say "Hi", Bob (1999)', "Plain (2000)"],
        "year": [1999, 2000], "genres": [["Comedy"], []],
    }))
    users = conform("users", pd.DataFrame({"userId": [7]}))
    ratings = conform("ratings", pd.DataFrame(
        {"userId": [7], "movieId": [1], "rating": [4.5], "timestamp": [5]}))
    tags = conform("tags", pd.DataFrame({"userId": [7, 7], "movieId": [1, 1], "tag": ['a, "b"', 'a, "b"'],
                                         "timestamp": [1, 2]}))
    data = MovieLensData("t", "ml-latest", "test", None, users, movies, ratings, tags)
    files = {f.name: f for f in write_import_files(data, tmp_path)}
    assert _read(files["Movie"].data)[0][1] == 'Say "Hi", Bob (1999)'
    assert _read(files["TAGGED"].data) == [["7", "1", 'a, "b"', "1"]]  # duplicates dropped, like online
    assert _read(files["RATED"].data) == [["7", "1", "4.5", "5"]]
    assert not has_multiline_text(data)


def test_import_args(tmp_path: Path) -> None:
    data = read_movielens(FIXTURES / "ml-latest-small")
    files = write_import_files(data, tmp_path)
    args = import_args(files, database="neo4j", threads=2, multiline=False, report=tmp_path / "r")
    assert args[:4] == ["database", "import", "full", "neo4j"]
    assert "--overwrite-destination=true" in args and "--id-type=integer" in args
    assert f"--relationships=RATED={tmp_path / 'rated.header.csv'},{tmp_path / 'rated.csv'}" in args
    assert sum(a.startswith("--nodes=") for a in args) == 3
