"""The real GroupLens files in the shared data folder parse with the published counts.

The folder is ``<repo>/../shared/data/movielens`` (override with REELGRAPH_SHARED_DATA,
either that folder or its parent ``data`` folder); tests skip when it is absent.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from loader import LoadError, read_movielens


def shared_movielens() -> Path:
    override = os.environ.get("REELGRAPH_SHARED_DATA")
    if override:
        base = Path(override)
        return base / "movielens" if (base / "movielens").is_dir() else base
    return Path(__file__).parents[2] / ".." / "shared" / "data" / "movielens"


SHARED = shared_movielens()


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"shared MovieLens data not found: {path} (set REELGRAPH_SHARED_DATA)")
    return path


def test_ml_latest_small_zip() -> None:
    data = read_movielens(shared("ml-latest-small.zip"))
    assert (data.name, data.layout) == ("ml-latest-small", "csv")
    assert data.md5 == "31a303aabbc519bd33d025e44d6c2570"
    assert data.counts() == {"users": 610, "movies": 9742, "genres": 19, "ratings": 100_836,
                             "tags": 3683}
    assert data.rejects == []
    movies = data.movies.set_index("movieId")
    assert movies.loc[1, "title"] == "Toy Story (1995)" and movies.loc[1, "tmdbId"] == 862
    assert movies.loc[1, "genres"] == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert movies.year.isna().sum() == 12  # e.g. "Babylon 5": no "(YYYY)", not an error
    assert movies.loc[movies.title == "Death Note: Desu nôto (2006–2007)", "year"].iloc[0] == 2006


def test_ml_100k_zip() -> None:
    data = read_movielens(shared("ml-100k.zip"))
    assert (data.name, data.layout) == ("ml-100k", "100k")
    assert data.counts() == {"users": 943, "movies": 1682, "genres": 18, "ratings": 100_000,
                             "tags": 0}
    assert data.rejects == []
    titles = set(data.movies.title)
    assert "Misérables, Les (1995)" in titles  # latin-1 decoded
    genres = {g for gs in data.movies.genres for g in gs}
    assert "Children" in genres and "Children's" not in genres and "unknown" not in genres
    assert data.users.set_index("userId").loc[1].to_dict() == {
        "gender": "M", "age": 24, "occupation": "technician", "zip": "85711"}


def test_ml_1m_partial_has_no_ratings() -> None:
    with pytest.raises(LoadError) as err:
        read_movielens(shared("ml-1m-partial"))
    assert str(err.value).startswith("ratings.dat:0: missing required file")
    assert "ratings.dat missing" in str(err.value)


def test_ml_1m_movies_and_users_with_invented_ratings(tmp_path: Path) -> None:
    folder = shared("ml-1m-partial")
    target = tmp_path / "ml-1m"
    target.mkdir()
    for name in ("movies.dat", "users.dat"):
        shutil.copyfile(folder / name, target / name)
    (target / "ratings.dat").write_text("1::1::5::978300760\n6040::3952::1::956703954\n")
    data = read_movielens(target)
    assert data.counts() == {"users": 6040, "movies": 3883, "genres": 18, "ratings": 2,
                             "tags": 0}
    assert "Misérables, Les (1995)" in set(data.movies.title)
    assert set(data.users.occupation) <= {
        "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
        "customer service", "doctor/health care", "executive/managerial", "farmer",
        "homemaker", "K-12 student", "lawyer", "programmer", "retired", "sales/marketing",
        "scientist", "self-employed", "technician/engineer", "tradesman/craftsman",
        "unemployed", "writer"}
    assert set(data.users.age) == {1, 18, 25, 35, 45, 50, 56}
