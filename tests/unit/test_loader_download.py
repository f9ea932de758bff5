"""fetch(): cache hits, file:// downloads, md5 checks, offline message. No network."""

from __future__ import annotations

import hashlib
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from loader import download
from loader.download import KNOWN, DownloadError, fetch

PAYLOAD = b"PK\x05\x06" + b"\x00" * 18  # an empty zip is enough: fetch never opens it
MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    folder = tmp_path / "remote"
    folder.mkdir()
    (folder / "ml-latest-small.zip").write_bytes(PAYLOAD)
    return folder


def offline(*args: Any, **kwargs: Any) -> Any:
    raise urllib.error.URLError("Temporary failure in name resolution")


def test_known_releases_and_checksums() -> None:
    assert KNOWN["ml-100k"] == ("https://files.grouplens.org/datasets/movielens/ml-100k.zip",
                                "0e33842e24a9c977be4e0107933c0723")
    assert KNOWN["ml-10m"][0].endswith("/ml-10m.zip")
    assert KNOWN["ml-latest-small"][1] == "31a303aabbc519bd33d025e44d6c2570"
    assert KNOWN["ml-25m"][1] == "6b51fb2759a8657d3bfcbfc42b592ada"
    assert KNOWN["ml-32m"][1] is None and KNOWN["ml-latest"][1] is None
    assert set(KNOWN) == {"ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m",
                          "ml-latest-small", "ml-latest"}


def test_download_from_file_url_then_cache(
    tmp_path: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = (remote / "ml-latest-small.zip").as_uri()
    monkeypatch.setitem(KNOWN, "ml-latest-small", (url, MD5))
    cache = tmp_path / "cache"
    got = fetch("ml-latest-small", cache, progress=False)
    assert got == cache / "ml-latest-small.zip" and got.read_bytes() == PAYLOAD
    assert not (cache / "ml-latest-small.zip.part").exists()
    monkeypatch.setattr(download, "_urlopen", offline)  # a cache hit needs no network
    assert fetch("ml-latest-small", cache, progress=False) == got


def test_md5_mismatch_removes_part_file(
    tmp_path: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = (remote / "ml-latest-small.zip").as_uri()
    monkeypatch.setitem(KNOWN, "ml-latest-small", (url, "0" * 32))
    with pytest.raises(DownloadError, match="md5 mismatch"):
        fetch("ml-latest-small", tmp_path / "cache", progress=False)
    assert list((tmp_path / "cache").iterdir()) == []


def test_corrupt_cache_is_downloaded_again(
    tmp_path: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = (remote / "ml-latest-small.zip").as_uri()
    monkeypatch.setitem(KNOWN, "ml-latest-small", (url, MD5))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "ml-latest-small.zip").write_bytes(b"truncated")
    assert fetch("ml-latest-small", cache, progress=False).read_bytes() == PAYLOAD


def test_offline_error_tells_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "_urlopen", offline)
    with pytest.raises(DownloadError) as err:
        fetch("ml-100k", tmp_path, progress=False)
    message = str(err.value)
    assert "cannot reach files.grouplens.org" in message and "--path FILE" in message
    assert not (tmp_path / "ml-100k.zip.part").exists()


def test_published_md5_for_rolling_releases(
    tmp_path: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (remote / "ml-32m.zip").write_bytes(PAYLOAD)
    (remote / "ml-32m.zip.md5").write_text(f"MD5 (ml-32m.zip) = {MD5}\n")
    monkeypatch.setitem(KNOWN, "ml-32m", ((remote / "ml-32m.zip").as_uri(), None))
    got = fetch("ml-32m", tmp_path / "cache", progress=False)
    assert got.read_bytes() == PAYLOAD
    monkeypatch.setattr(download, "_urlopen", offline)  # cached, md5 unreachable: trusted
    assert fetch("ml-32m", tmp_path / "cache", progress=False) == got
    with pytest.raises(DownloadError, match="cannot reach"):
        fetch("ml-32m", tmp_path / "empty", progress=False)


def test_unknown_release() -> None:
    with pytest.raises(KeyError, match="ml-5m"):
        fetch("ml-5m", ".")
