"""Issue 11 item 5 (pure part): a release's content fingerprint and the edited-release check."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from loader import read_movielens
from loader.provenance import EditedReleaseError, check_same_content, fingerprint, same_content

FIXTURES = Path(__file__).parents[1] / "fixtures" / "movielens"


def test_fingerprint_is_the_content_not_the_container(tmp_path: Path) -> None:
    folder = read_movielens(FIXTURES / "ml-latest-small")
    archive = tmp_path / "ml-latest-small.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((FIXTURES / "ml-latest-small").iterdir()):
            zf.writestr(f"ml-latest-small/{path.name}", path.read_bytes())
    zipped = read_movielens(archive)
    assert zipped.md5 and folder.md5 is None
    assert fingerprint(zipped) == fingerprint(folder) == fingerprint(read_movielens(archive))

    edited = tmp_path / "edited" / "ml-latest-small"
    shutil.copytree(FIXTURES / "ml-latest-small", edited)
    movies = edited / "movies.csv"
    movies.write_text(movies.read_text().replace("Salt Road", "Salt Roads"))
    assert fingerprint(read_movielens(edited)) != fingerprint(folder)


def test_same_content_prefers_the_fingerprint_then_the_md5() -> None:
    assert same_content({"fingerprint": "a", "md5": "x"}, "a", "y") is True  # re-zipped
    assert same_content({"fingerprint": "a"}, "b", None) is False
    assert same_content({"md5": "x"}, "a", "x") is True  # loaded before fingerprints
    assert same_content({"md5": "x"}, "a", "y") is False
    assert same_content({}, "a", None) is None


def test_an_edited_release_is_refused_naming_replace() -> None:
    data = read_movielens(FIXTURES / "ml-latest-small")
    digest = fingerprint(data)
    check_same_content(None, data, digest)  # nothing loaded yet
    check_same_content({"fingerprint": digest}, data, digest)
    with pytest.raises(EditedReleaseError, match=r"edited release.*nothing was written.*--replace"):
        check_same_content({"fingerprint": "0" * 64, "source": "old.zip", "status": "complete"},
                           data, digest)
