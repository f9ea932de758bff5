"""Drive the real Neo4j Browser UI the way a person does: Playwright for Python + Debian's Chromium.

No browser is downloaded: Playwright launches the system Chromium through ``executable_path``.
Every request that does not go to 127.0.0.1 (fonts, analytics) is aborted, so the test runs
offline and fast. Text reaches the editor through the clipboard and Ctrl+V, exactly what a
paste does, then Ctrl+Enter runs it. The stream is cleared before each command so the one
frame on screen is the command's own (newest frames come first in Browser).

    with BrowserUI.launch(shots_dir) as ui:
        ui.connect("http://127.0.0.1:7474/browser/", "bolt://127.0.0.1:7687", "neo4j", password)
        frame = ui.run(":param {userId: 1}")
        assert not frame.problems, frame.problems
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# What .ci/run and the issue prescribe: a headless Chromium that never phones home.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 120_000  # the 2-core CI machine is slow; Browser's first load compiles a lot of JS

# Finds what a person would see as a problem in one frame: an ERROR badge (Cypher, :param,
# :style errors), the "Warn" tab of a Cypher result (notifications such as
# UnknownPropertyKeyWarning), and multi-statement rows that did not succeed.
_PROBLEMS_JS = """
(frame) => {
  const out = [];
  for (const el of frame.querySelectorAll('div, span')) {
    if (el.children.length === 0 && el.textContent.trim() === 'ERROR') {
      const msg = frame.querySelector('[data-testid=cypherFrameErrorMessage]');
      const box = el.closest('[data-testid=multi-statement-list-content]') || el.parentElement.parentElement;
      out.push('error: ' + (msg ? msg.textContent : box.innerText).trim().slice(0, 600));
    }
  }
  for (const li of frame.querySelectorAll('li')) {
    if (li.innerText.trim() === 'Warn') out.push('warning: the result has a Warn tab (notifications)');
  }
  for (const icon of frame.querySelectorAll('[data-testid=multi-statement-list-icon]')) {
    if (icon.title !== 'Status: success') {
      const row = icon.closest('[data-testid=multi-statement-list-title]');
      out.push(icon.title + ': ' + (row ? row.innerText.trim() : '?'));
    }
  }
  return out;
}
"""

# A frame is done when its result, its error or its confirmation is on screen.
_DONE_JS = """
(frame) => {
  const t = frame.innerText;
  const icons = Array.from(frame.querySelectorAll('[data-testid=multi-statement-list-icon]'));
  if (icons.length) return !icons.some(i => /pending|waiting/.test(i.title)) ||
                         icons.some(i => /error/.test(i.title));
  if (frame.querySelector('[data-testid=frame-loaded-contents]') &&
      (frame.querySelector('svg.neod3viz g.node') || /completed after|no changes, no records|ERROR/.test(t)))
    return true;
  return /Successfully set your parameters|ERROR|"maxFrames"|relationship \\{/.test(t);
}
"""


def chromium() -> str | None:
    """Debian's Chromium (``apt-get install chromium``), or None."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@dataclass
class Frame:
    """The frame one command produced: its text, what went wrong in it, its screenshot."""

    command: str
    text: str
    problems: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    locator: Any = None


def _local_only(route: Any) -> None:
    url = route.request.url
    if re.match(r"^(https?|wss?)://(127\.0\.0\.1|localhost)[:/]", url) or url.startswith(("data:", "blob:")):
        route.continue_()
    else:
        route.abort()


class BrowserUI:
    """One Browser tab in a fresh profile (no stored connection, style or settings)."""

    def __init__(self, page: Any, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.count = 0

    @classmethod
    @contextmanager
    def launch(cls, shots: Path, executable: str, viewport: tuple[int, int] = (1400, 1100)
               ) -> Iterator[BrowserUI]:
        from playwright.sync_api import sync_playwright

        shots.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            try:
                context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
                context.route("**/*", _local_only)
                page = context.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                yield cls(page, shots)
            finally:
                browser.close()

    # ------------------------------------------------------------------ session
    def connect(self, browser_url: str, bolt_uri: str, user: str, password: str) -> Frame:
        """Open Browser and fill its connection form (scheme, host:port, user, password)."""
        origin = re.match(r"^https?://[^/]+", browser_url)
        assert origin, browser_url
        self.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin.group(0))
        self.page.goto(browser_url, wait_until="load")
        scheme, address = bolt_uri.split("://", 1)
        self.page.get_by_test_id("boltaddress").wait_for()
        self.page.get_by_test_id("bolt-scheme-select").select_option(f"{scheme}://")
        self.page.get_by_test_id("boltaddress").fill(address)
        self.page.get_by_test_id("username").fill(user)
        self.page.get_by_test_id("password").fill(password)
        self.page.get_by_test_id("connect").click()
        connected = self.page.get_by_text("You are connected as user")
        connected.wait_for()
        return self.snapshot("connected", ":server connect")

    def clear(self) -> None:
        """``:clear``: remove every frame from the stream."""
        self._type_and_run(":clear")
        self.page.wait_for_function("() => document.querySelectorAll('[data-testid=frame]').length === 0")

    def _type_and_run(self, text: str) -> None:
        editor = self.page.get_by_test_id("activeEditor")
        editor.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.press("Delete")
        self.page.evaluate("text => navigator.clipboard.writeText(text)", text)
        self.page.keyboard.press("Control+V")
        self.page.keyboard.press("Control+Enter")

    def run(self, text: str, name: str, *, settle_s: float = 0.5) -> Frame:
        """Paste ``text`` into the editor, run it, wait for its frame; screenshot ``NN-name.png``."""
        self.clear()
        self._type_and_run(text)
        frame = self.page.get_by_test_id("frame").first
        frame.wait_for()
        handle = frame.element_handle()
        self.page.wait_for_function(_DONE_JS, arg=handle)
        if frame.locator("svg.neod3viz").count():
            time.sleep(3.0)  # let the force layout settle before the picture is taken
        time.sleep(settle_s)
        return self.snapshot(name, text, frame)

    def snapshot(self, name: str, command: str, frame: Any = None) -> Frame:
        """The frame's text and problems, and a screenshot of the page."""
        self.count += 1
        path = self.shots / f"{self.count:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        self.page.screenshot(path=str(path))
        if frame is None:
            return Frame(command, self.page.inner_text("body"), [], path)
        problems = self.page.evaluate(_PROBLEMS_JS, frame.element_handle())
        return Frame(command, frame.inner_text(), list(problems), path, frame)

    def graph_picture(self, frame: Frame, path: Path) -> Path:
        """Screenshot of the frame's graph view alone (the overview panel hidden while it is taken)."""
        assert frame.locator is not None
        svg = frame.locator.locator("svg.neod3viz")
        inspector = frame.locator.get_by_test_id("vizInspector")
        if inspector.count():
            inspector.evaluate("el => { el.style.visibility = 'hidden'; }")
        try:
            svg.screenshot(path=str(path))
        finally:
            if inspector.count():
                inspector.evaluate("el => { el.style.visibility = ''; }")
        return path

    def local_storage(self, key: str) -> str | None:
        """What Browser keeps in localStorage under ``key`` (e.g. ``neo4j.grass``)."""
        value = self.page.evaluate("key => window.localStorage.getItem(key)", key)
        return None if value is None else str(value)
