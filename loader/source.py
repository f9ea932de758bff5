"""Where MovieLens files come from: a zip, a release directory, or a folder holding one.

A :class:`Source` maps each member's base name (``ratings.csv``, ``u.data``, ...) to
something it can open as a binary stream, so the parsers never care whether the
input was zipped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import zipfile
from pathlib import Path
from types import TracebackType
from typing import IO, Final

from loader.dataset import LoadError, Reject
from loader.formats import LAYOUT_FILES, LAYOUT_NAMES, layouts_found

log = logging.getLogger(__name__)

#: Base names whose presence marks a directory as a MovieLens release.
MARKERS: Final = frozenset().union(*LAYOUT_FILES.values())


def file_md5(path: Path, chunk: int = 1 << 20) -> str:
    """Hex md5 of a file, read in chunks."""
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _fail(path: Path, problem: str, expected: str) -> LoadError:
    return LoadError(Reject(file=str(path), line=0, text="", problem=problem, expected=expected))


class Source:
    """An opened MovieLens input. Use as a context manager (it may hold a zip open).

    Attributes:
        label: the path as given, for messages and ``MovieLensData.source``.
        md5: hex md5 of the zip, or ``None`` for a directory.
        files: base name -> zip member name or file path, for the release directory.
        hint: the release directory's (or zip's) name, e.g. ``"ml-latest-small"``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.label = str(path)
        self.md5: str | None = None
        self._zip: zipfile.ZipFile | None = None
        if not self.path.exists():
            raise _fail(self.path, "path not found", "a MovieLens zip or directory")
        if self.path.is_dir():
            self.files, self.hint, folder = _scan_dir(self.path)
        else:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except zipfile.BadZipFile as exc:
                raise _fail(self.path, f"not a zip file ({exc})", "a MovieLens zip") from exc
            self.md5 = file_md5(self.path)
            self.files, self.hint, folder = _scan_zip(self._zip, self.path)
        found = layouts_found(frozenset(self.files))
        if len(found) > 1:
            self.close()
            kinds = " and ".join(f"{LAYOUT_NAMES[k]} ({', '.join(v)})" for k, v in found.items())
            raise _fail(folder, f"the folder holds both {kinds}",
                        "the files of one release per folder: move the others into a folder of their own")
        log.debug("source %s: %s", self.label, sorted(self.files))

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the zip, if any."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def open(self, name: str) -> IO[bytes]:
        """Open member ``name`` (a base name from :attr:`files`) for binary reading."""
        target = self.files[name]
        if self._zip is not None:
            return self._zip.open(target)
        return open(target, "rb")  # the caller closes it

    def size(self, name: str) -> int:
        """Uncompressed size in bytes of member ``name``."""
        target = self.files[name]
        if self._zip is not None:
            return self._zip.getinfo(target).file_size
        return os.path.getsize(target)


def _pick(candidates: set[str], path: Path) -> str:
    if not candidates:
        raise _fail(path, "no MovieLens files found", f"one of {', '.join(sorted(MARKERS))}")
    if len(candidates) > 1:
        raise _fail(
            path,
            f"several MovieLens releases found ({', '.join(sorted(candidates))})",
            "exactly one release",
        )
    return candidates.pop()


def _scan_zip(zf: zipfile.ZipFile, path: Path) -> tuple[dict[str, str], str, Path]:
    """Members of the zip's release folder by base name, the folder's name, and how to name it."""
    members = [m for m in zf.namelist() if not m.endswith("/")]
    folder = _pick(
        {posixpath.dirname(m) for m in members if posixpath.basename(m) in MARKERS}, path
    )
    files = {posixpath.basename(m): m for m in members if posixpath.dirname(m) == folder}
    return files, posixpath.basename(folder) or path.stem, path / folder if folder else path


def _scan_dir(path: Path) -> tuple[dict[str, str], str, Path]:
    """Files of the release directory by name, its name, and the directory."""
    def listing(d: Path) -> dict[str, str]:
        return {p.name: str(p) for p in d.iterdir() if p.is_file()}

    here = listing(path)
    if MARKERS & here.keys():
        return here, path.resolve().name, path
    subdirs = {p.name for p in path.iterdir() if p.is_dir() and MARKERS & listing(p).keys()}
    sub = path / _pick(subdirs, path)
    return listing(sub), sub.name, sub
