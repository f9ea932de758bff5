"""Issue 11 item 9: ML-100K / ML-1M text files in UTF-8 or latin-1, and a BOM on any file."""

from __future__ import annotations

import logging
import shutil
import zipfile
from pathlib import Path

import pytest

from loader import LoadError, read_movielens
from loader.encoding import BOM

FIXTURES = Path(__file__).parents[1] / "fixtures" / "movielens"
TITLE = "Le Café des Étoiles (1996)"
MEMBERS = {
    "ml-100k": ["u.data", "u.item", "u.user", "u.genre"],
    "ml-1m": ["ratings.dat", "movies.dat", "users.dat"],
    "ml-10m": ["ratings.dat", "movies.dat", "tags.dat"],
    "ml-latest-small": ["ratings.csv", "movies.csv", "tags.csv", "links.csv"],
}


def _copy(tmp_path: Path, release: str) -> Path:
    target = tmp_path / release
    shutil.copytree(FIXTURES / release, target)
    return target


def test_ml100k_item_in_utf8_is_decoded_as_utf8_and_logged(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    latin = read_movielens(FIXTURES / "ml-100k")
    assert latin.movies.loc[latin.movies.movieId == 3, "title"].item() == TITLE
    folder = _copy(tmp_path, "ml-100k")
    item = folder / "u.item"
    item.write_bytes(item.read_bytes().decode("latin-1").encode("utf-8"))
    with caplog.at_level(logging.INFO, logger="loader.reader"):
        utf8 = read_movielens(folder)
    assert utf8.movies.loc[utf8.movies.movieId == 3, "title"].item() == TITLE  # not "CafÃ©"
    assert "u.item: decoded as utf-8" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="loader.reader"):
        read_movielens(FIXTURES / "ml-100k")
    assert "u.item: decoded as latin-1 (not valid UTF-8)" in caplog.text


def test_ml1m_movies_in_either_encoding(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "ml-1m")
    movies = folder / "movies.dat"
    text = movies.read_bytes().decode("latin-1").replace("Salt Road", "Crème Brûlée")
    for encoding in ("latin-1", "utf-8"):
        movies.write_bytes(text.encode(encoding))
        titles = read_movielens(folder).movies["title"].tolist()
        assert any("Crème Brûlée" in t for t in titles), encoding


@pytest.mark.parametrize("release", sorted(MEMBERS))
def test_a_bom_on_any_file_of_any_layout_is_stripped(release: str, tmp_path: Path) -> None:
    plain = read_movielens(FIXTURES / release)
    for member in MEMBERS[release]:
        folder = _copy(tmp_path / member, release)
        path = folder / member
        path.write_bytes(BOM + path.read_bytes())
        data = read_movielens(folder)
        assert data.counts() == plain.counts(), member
        assert data.movies["title"].tolist() == plain.movies["title"].tolist(), member
        assert not data.rejects


def test_a_bom_inside_a_zip_is_stripped(tmp_path: Path) -> None:
    archive = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((FIXTURES / "ml-100k").iterdir()):
            data = path.read_bytes()
            zf.writestr(f"ml-100k/{path.name}", BOM + data if path.name == "u.data" else data)
    assert read_movielens(archive).counts() == read_movielens(FIXTURES / "ml-100k").counts()


@pytest.mark.parametrize(("release", "member", "line", "half"), [
    ("ml-100k", "u.data", 1, False), ("ml-1m", "ratings.dat", 1, False),
    ("ml-10m", "ratings.dat", 1, True), ("ml-latest-small", "ratings.csv", 2, True),
])
def test_rating_not_a_number_suggests_only_the_release_scale(release: str, member: str, line: int,
                                                             half: bool, tmp_path: Path) -> None:
    folder = _copy(tmp_path, release)
    path = folder / member
    lines = path.read_bytes().split(b"\n")
    sep = {"u.data": b"\t", "ratings.csv": b","}.get(member, b"::")
    fields = lines[line - 1].split(sep)
    fields[2] = b"good"
    lines[line - 1] = sep.join(fields)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(LoadError, match="rating not a number") as info:
        read_movielens(folder)
    message = str(info.value)
    assert ("3.5" in message) == half, message
    assert ("whole number of stars 1 to 5" in message) == (not half), message


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_zip_member_with_a_bad_crc_is_one_load_error(method: int, tmp_path: Path) -> None:
    archive = tmp_path / "ml-latest-small.zip"
    ratings = (FIXTURES / "ml-latest-small" / "ratings.csv").read_bytes()
    with zipfile.ZipFile(archive, "w", method) as zf:
        for path in sorted((FIXTURES / "ml-latest-small").iterdir()):
            zf.writestr(f"ml-latest-small/{path.name}", path.read_bytes())
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("ml-latest-small/ratings.csv")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    pos = start + min(info.compress_size, len(ratings)) // 2
    raw[pos] ^= 0x55  # damage the member's data, not the directory
    archive.write_bytes(bytes(raw))
    with pytest.raises(LoadError, match=r"ratings.csv:0: corrupt zip member .*download or copy it again"):
        read_movielens(archive)
