"""The README stays short and every page of ``docs/`` is reachable from it.

* README.md has at most 300 lines; the rest lives in ``docs/``, one page per topic.
* Every relative link (``[text](path)``, ``![alt](path)``) in README.md and ``docs/*.md``
  points at a file or folder that exists, resolved from the page that holds it (web links
  and in-page anchors are not checked; the ``#anchor`` part of a file link is dropped).
* Every ``docs/*.md`` page is linked from README.md.

Links inside code (fenced blocks and inline ``code``) are not links and are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAX_README_LINES = 300

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:, ...


def pages() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def links(page: Path) -> list[str]:
    """The link targets of ``page``, outside code."""
    text = _INLINE_CODE.sub("", _FENCE.sub("", page.read_text(encoding="utf-8")))
    return _LINK.findall(text)


def relative_targets(page: Path) -> list[tuple[str, Path]]:
    """``(link as written, resolved path)`` of every relative file link of ``page``."""
    out = []
    for target in links(page):
        if _EXTERNAL.match(target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0].split("?", 1)[0]
        out.append((target, (page.parent / path).resolve()))
    return out


def test_readme_is_short() -> None:
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_README_LINES, (
        f"README.md has {n} lines (at most {MAX_README_LINES}); move detail to docs/")


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_point_at_files_that_exist(page: Path) -> None:
    missing = [target for target, path in relative_targets(page) if not path.exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {path for _, path in relative_targets(README)}
    docs = sorted((ROOT / "docs").glob("*.md"))
    assert docs, "no docs/*.md pages"
    unlinked = [p.relative_to(ROOT).as_posix() for p in docs if p.resolve() not in linked]
    assert not unlinked, f"README.md does not link to {unlinked}"


def test_the_link_checker_sees_links() -> None:
    """The checks above are not vacuous: the README links to docs pages, a docs page to an image."""
    assert any(path.parent == (ROOT / "docs").resolve() for _, path in relative_targets(README))
    images = [path for page in pages() for _, path in relative_targets(page) if path.suffix == ".png"]
    assert images, "no page links an image"
