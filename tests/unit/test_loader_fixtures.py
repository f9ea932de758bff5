"""Every hand-made fixture release parses to exact, typed tables; inputs may be zips or dirs."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from loader import MovieLensData, read_movielens
from loader.dataset import SCHEMA

FIXTURES = Path(__file__).parents[1] / "fixtures" / "movielens"

EXPECTED = {  # release: (layout, users, movies, genres, ratings, tags)
    "ml-100k": ("100k", 8, 12, 18, 35, 0),
    "ml-1m": ("dat", 8, 12, 18, 35, 0),
    "ml-10m": ("dat", 7, 12, 18, 35, 5),
    "ml-latest-small": ("csv", 8, 12, 18, 35, 7),
}
DTYPES = {"int64": "int64", "Int64": "Int64", "float64": "float64", "text": "object",
          "list": "object"}


def check_schema(data: MovieLensData) -> None:
    for table, columns in SCHEMA.items():
        frame = getattr(data, table)
        assert list(frame.columns) == list(columns), table
        for col, kind in columns.items():
            assert str(frame[col].dtype) == DTYPES[kind], (table, col, frame[col].dtype)
        for col, kind in columns.items():
            if kind == "text":
                assert all(v is None or isinstance(v, str) for v in frame[col]), (table, col)
            if kind == "list":
                assert all(isinstance(v, list) for v in frame[col]), (table, col)


@pytest.mark.parametrize("release", sorted(EXPECTED))
def test_fixture_counts_and_schema(release: str) -> None:
    layout, users, movies, genres, ratings, tags = EXPECTED[release]
    data = read_movielens(FIXTURES / release)
    assert (data.name, data.layout, data.md5, data.synthetic) == (release, layout, None, False)
    assert data.counts() == {"users": users, "movies": movies, "genres": genres,
                             "ratings": ratings, "tags": tags}
    assert data.rejects == []
    check_schema(data)
    assert not data.ratings.duplicated(["userId", "movieId"]).any()
    assert data.ratings.movieId.isin(data.movies.movieId).all()
    assert data.ratings.userId.isin(data.users.userId).all()
    assert data.tags.userId.isin(data.users.userId).all()
    assert repr(data).startswith(f"MovieLensData(name='{release}'")


@pytest.mark.parametrize("release", sorted(EXPECTED))
def test_fixture_movie_quirks(release: str) -> None:
    movies = read_movielens(FIXTURES / release).movies.set_index("movieId")
    assert movies.loc[3, "title"] == "Le Café des Étoiles (1996)"  # latin-1 in 100k/1m
    assert movies.loc[4, "title"] == "Midnight, Rain and Tea (1998)"
    assert movies.loc[12, "title"] == 'The "Lucky" Seven (2000)'
    assert movies.loc[3, "year"] == 1996
    assert movies.loc[9, "title"] == "Untitled Harbor Project"
    assert movies.loc[9, "year"] is pd.NA
    assert movies.loc[10, "genres"] == []  # "(no genres listed)" / 100k "unknown" flag
    assert movies.loc[2, "genres"] == ["Adventure", "Children", "Sci-Fi"]  # one spelling
    assert movies.loc[6, "genres"] == ["Animation", "Fantasy", "Musical"]


def test_csv_extras() -> None:
    data = read_movielens(FIXTURES / "ml-latest-small")
    movies = data.movies.set_index("movieId")
    assert movies.loc[1, "imdbId"] == 1100001 and movies.loc[1, "tmdbId"] == 90001
    assert movies.loc[9, "tmdbId"] is pd.NA
    assert list(data.tags.tag) == ["funny", "dark, moody", "café noir", "slow burn", "NA",
                                   "Paris", 'a "classic"']
    assert list(data.users.userId) == [1, 2, 3, 4, 5, 6, 7, 9]  # 9 only tagged
    assert data.users.gender.isna().all() and data.users.age.isna().all()
    assert set(data.ratings.rating) <= {x / 2 for x in range(1, 11)}
    assert 3.5 in set(data.ratings.rating)


def test_dat_extras() -> None:
    tags = read_movielens(FIXTURES / "ml-10m").tags
    assert "time::travel" in set(tags.tag) and "café noir" in set(tags.tag)
    users = read_movielens(FIXTURES / "ml-1m").users.set_index("userId")
    assert users.loc[1].to_dict() == {"gender": "M", "age": 18,
                                      "occupation": "technician/engineer", "zip": "85711"}
    assert users.loc[2, "occupation"] == "other"


def test_100k_extras() -> None:
    data = read_movielens(FIXTURES / "ml-100k")
    users = data.users.set_index("userId")
    assert users.loc[6].to_dict() == {"gender": "F", "age": 19, "occupation": "student",
                                      "zip": "T8H1N"}
    assert set(data.ratings.rating) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert data.movies.imdbId.isna().all()
    assert len(data.tags) == 0


def test_zip_input_gets_md5_and_name(tmp_path: Path) -> None:
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted((FIXTURES / "ml-latest-small").iterdir()):
            zf.write(f, f"ml-latest-small/{f.name}")
    data = read_movielens(archive)
    assert data.md5 == hashlib.md5(archive.read_bytes()).hexdigest()
    assert data.source == str(archive) and data.name == "ml-latest-small"
    assert data.counts() == read_movielens(FIXTURES / "ml-latest-small").counts()


def test_flat_zip_and_name_override(tmp_path: Path) -> None:
    archive = tmp_path / "ml-10m.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted((FIXTURES / "ml-10m").iterdir()):
            zf.write(f, f.name)
    assert read_movielens(archive).name == "ml-10m"
    assert read_movielens(archive, name="my-sample").name == "my-sample"


def test_folder_holding_one_release(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "ml-1m", tmp_path / "ml-1m")
    (tmp_path / "notes").mkdir()
    data = read_movielens(tmp_path)
    assert data.name == "ml-1m" and len(data.ratings) == 35


def test_unrecognised_directory_name_still_detects_layout(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "ml-latest-small", tmp_path / "my-export")
    data = read_movielens(tmp_path / "my-export")
    assert (data.name, data.layout) == ("ml-latest", "csv")


def test_crlf_and_bom_are_accepted(tmp_path: Path) -> None:
    target = tmp_path / "ml-latest-small"
    shutil.copytree(FIXTURES / "ml-latest-small", target)
    for f in target.iterdir():
        f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes().replace(b"\n", b"\r\n"))
    data = read_movielens(target)
    assert data.counts() == read_movielens(FIXTURES / "ml-latest-small").counts()
    assert data.movies.title.iloc[0] == "The Quiet Harbor (1995)"
