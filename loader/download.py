"""Fetch GroupLens MovieLens zips into a cache directory, verified by md5.

Only the CLI calls this; tests and CI never touch the network (they use local files,
``file://`` URLs or a patched opener). A download goes to ``<name>.zip.part`` with a
tqdm progress bar, is checked against the known md5, then renamed atomically, so a
half-written file is never mistaken for a release.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Final

from tqdm import tqdm

from engine.errors import ReelGraphError
from loader.source import file_md5

log = logging.getLogger(__name__)

BASE_URL: Final = "https://files.grouplens.org/datasets/movielens/"

#: Release name -> (zip URL, md5). ``None``: the md5 changes with each release of the
#: file and is read from the ``.md5`` file GroupLens publishes next to the zip.
KNOWN: Final[dict[str, tuple[str, str | None]]] = {
    "ml-100k": (BASE_URL + "ml-100k.zip", "0e33842e24a9c977be4e0107933c0723"),
    "ml-1m": (BASE_URL + "ml-1m.zip", "c4d9eecfca2ab87c1945afe126590906"),
    "ml-10m": (BASE_URL + "ml-10m.zip", "ce571fd55effeba0271552578f2648bd"),
    "ml-20m": (BASE_URL + "ml-20m.zip", "cd245b17a1ae2cc31bb14903e1204af3"),
    "ml-25m": (BASE_URL + "ml-25m.zip", "6b51fb2759a8657d3bfcbfc42b592ada"),
    "ml-32m": (BASE_URL + "ml-32m.zip", None),
    "ml-latest-small": (BASE_URL + "ml-latest-small.zip", "31a303aabbc519bd33d025e44d6c2570"),
    "ml-latest": (BASE_URL + "ml-latest.zip", None),
}

Opener = Callable[..., IO[bytes]]
_MD5_RE: Final = re.compile(r"\b[0-9a-fA-F]{32}\b")
_CHUNK: Final = 1 << 20
_TIMEOUT: Final = 60.0


class DownloadError(ReelGraphError):
    """A release could not be fetched or did not match its checksum."""


def _urlopen(url: str, timeout: float = _TIMEOUT) -> IO[bytes]:
    """``urllib.request.urlopen``; a module attribute so tests can replace it."""
    response: IO[bytes] = urllib.request.urlopen(url, timeout=timeout)
    return response


def _offline(url: str, exc: BaseException) -> DownloadError:
    return DownloadError(
        f"cannot reach files.grouplens.org ({url}: {exc}); "
        "download the zip yourself and pass --path FILE"
    )


def published_md5(url: str) -> str:
    """Read the md5 GroupLens publishes at ``url + '.md5'``."""
    try:
        with _urlopen(url + ".md5") as response:
            text = response.read(4096).decode("ascii", errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        raise _offline(url + ".md5", exc) from exc
    match = _MD5_RE.search(text)
    if match is None:
        raise DownloadError(f"no md5 found in {url}.md5: {text[:100]!r}")
    return match.group(0).lower()


def fetch(name: str, cache_dir: str | Path, *, progress: bool = True) -> Path:
    """Return ``cache_dir/<name>.zip``, downloading and verifying it if needed.

    A cached zip whose md5 matches is returned without network access (for ml-32m and
    ml-latest, whose md5 must be fetched, a cached zip is trusted with a warning when
    the network is unreachable).

    Raises:
        KeyError: unknown release name.
        DownloadError: network failure (with advice to pass ``--path``) or md5 mismatch.
    """
    if name not in KNOWN:
        raise KeyError(f"unknown MovieLens release {name!r}; known: {', '.join(KNOWN)}")
    url, md5 = KNOWN[name]
    cache = Path(cache_dir)
    target = cache / f"{name}.zip"
    if md5 is None:
        try:
            md5 = published_md5(url)
        except DownloadError:
            if target.exists():
                log.warning("cannot fetch %s.md5; using cached %s unverified", url, target)
                return target
            raise
    if target.exists():
        if file_md5(target) == md5:
            log.info("using cached %s", target)
            return target
        log.warning("cached %s does not match md5 %s; downloading again", target, md5)
    cache.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        got = _download(url, part, progress)
    except (urllib.error.URLError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise _offline(url, exc) from exc
    if got != md5:
        part.unlink(missing_ok=True)
        raise DownloadError(f"md5 mismatch for {url}: got {got}, expected {md5}")
    os.replace(part, target)
    log.info("downloaded %s (md5 %s)", target, md5)
    return target


def _download(url: str, part: Path, progress: bool) -> str:
    """Stream ``url`` into ``part``; return the md5 of what was written."""
    h = hashlib.md5(usedforsecurity=False)
    with _urlopen(url) as response, part.open("wb") as out:
        length = getattr(response, "headers", {}).get("Content-Length")
        total = int(length) if length and str(length).isdigit() else None
        with tqdm(total=total, unit="B", unit_scale=True, desc=part.name.removesuffix(".part"),
                  disable=not progress) as bar:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                h.update(chunk)
                bar.update(len(chunk))
    return h.hexdigest()
