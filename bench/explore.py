"""What-if latency of ``engine explore``: a star rating in the page until the user's new list is on screen.

On a private Neo4j (or ``--uri``, which is WIPED unless ``--runs`` names a trained run
already in it), ml-latest-small is loaded and the default model trained with top-20
(``engine train --no-tune``), then the app is served as ``engine explore`` serves it and
each of ``--ratings`` times a random user rates their #1 recommendation 4 stars (so the list
must change), with the page's top-K 10:

* **handler**: the what-if handler the "Rate" button calls
  (:func:`engine.explore.handlers.what_if`): the rating through ``engine rate``'s checked
  path, the fold-in refresh, both lists with their explanations and the graph, read again;
* **browser**: the real page in headless Chromium (Playwright, Debian's chromium, every
  request not to 127.0.0.1 aborted): from the click on "Rate" until the new list is rendered
  (``--browser-ratings``; 0 skips it).

The first rating of each kind warms the server up and is not counted. Goal: p95 <= 2 s.
Prints p50/p95 and writes ``bench/results/explore.json``.

    python bench/explore.py
    python bench/explore.py --ratings 20 --browser-ratings 10
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.writeback import add_server_args, client_settings, dataset, local_server  # noqa: E402
from engine.graphdb import Runner, connect  # noqa: E402
from engine.settings import Neo4jSettings  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "explore.json"
K = 10


def percentiles(values: list[float]) -> dict[str, float]:
    a = np.asarray(values) if values else np.zeros(1)
    return {"n": len(values), "p50": round(float(np.percentile(a, 50)), 3),
            "p95": round(float(np.percentile(a, 95)), 3), "max": round(float(a.max()), 3)}


def prepare(settings: Neo4jSettings, runs: Path) -> dict[str, Any]:
    """ml-latest-small loaded and the default model trained and written back (top-20)."""
    from engine.jobs.train import train
    from loader.ingest import load_dataset, wipe

    driver = connect(settings)
    try:
        wipe(Runner(driver), batch=2_000)
        t0 = time.perf_counter()
        load_dataset(Runner(driver), dataset("ml-latest-small"), progress=False)
        load_s = time.perf_counter() - t0
    finally:
        driver.close()
    t0 = time.perf_counter()
    result = train(settings, runs_dir=runs, tune=False, top_k=20, progress=False)
    return {"load_seconds": round(load_s, 1), "train_seconds": round(time.perf_counter() - t0, 1),
            "model": result.model, "run_id": result.run_id}


def handler_latency(app: Any, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """``n`` what-ifs through the handler the Rate button calls (one warm-up first, not counted)."""
    from engine.explore import handlers

    explorer = app.explorer
    years = list(explorer.catalogue.years)
    times: list[float] = []
    parts: dict[str, list[float]] = {"write": [], "refresh": [], "read": []}
    modes: set[str] = set()
    users = explorer.catalogue.users
    for i in range(n + 1):
        user = int(rng.choice(users))
        shown = handlers.show(explorer, user, None, years, None, K, None)
        if not shown.top:
            continue
        movie = shown.top[0]["movieId"]
        page = handlers.what_if(explorer, user, movie, 4.0, None, years, None, K, shown.session)
        assert page.message is not None and page.message.kind == "ok", page.message
        assert page.top is not None and movie not in {r["movieId"] for r in page.top if r["change"] != "gone"}
        text = page.message.text
        modes.add("fold-in" if "fold-in here" in text else "watcher" if "refresh --watch" in text else "none")
        if i == 0:
            continue  # warm-up
        times.append(float(page.seconds or 0.0))
        for key in parts:
            parts[key].append(page.timings[key])
    stats = percentiles(times)
    print(f"  handler (rating -> fold-in -> both lists + graph read): p50 {stats['p50']:.3f}s "
          f"p95 {stats['p95']:.3f}s max {stats['max']:.3f}s over {stats['n']} ratings "
          f"(write p50 {np.median(parts['write']):.3f}s, refresh p50 {np.median(parts['refresh']):.3f}s, "
          f"read p50 {np.median(parts['read']):.3f}s)", flush=True)
    return {**stats, "parts_p50": {k: round(float(np.median(v)), 3) for k, v in parts.items() if v},
            "modes": sorted(modes)}


def browser_latency(url: str, users: list[int], n: int, rng: np.random.Generator) -> dict[str, Any] | None:
    """``n`` what-ifs clicked in headless Chromium: click on Rate until the new list is rendered."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("  browser: skipped (no playwright)")
        return None
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("  browser: skipped (no chromium)")
        return None
    times: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1")
                          else r.abort())
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(url)
            for i in range(n + 1):
                user = int(rng.choice(users))
                search = page.locator("input.dash-dropdown-search")
                if search.count() and search.is_visible():  # picking the same user keeps it open
                    page.keyboard.press("Escape")
                page.click("#user")
                search.fill(str(user))
                page.get_by_role("option", name=f"user {user}", exact=True).click()
                page.wait_for_function(
                    "u => document.querySelector('#heading')?.innerText.startsWith('User ' + u + ':') && "
                    "document.querySelectorAll('table.list.top tr[data-movie]').length > 0", arg=user)
                first = page.locator("table.list.top tbody tr").first
                movie = first.get_attribute("data-movie")
                first.locator("button.pick").click()
                page.wait_for_selector(f"#detail [data-movie='{movie}']")
                page.locator(".stars button").nth(3).click()
                page.wait_for_function("() => document.querySelector('#wi-rating').value == '4'")
                t0 = time.perf_counter()
                page.click("#wi-rate")
                page.wait_for_function(
                    "m => { const msg = document.querySelector('#message .message');"
                    " return msg && msg.innerText.startsWith('Rated') && !document.querySelector("
                    "`table.list.top tbody tr[data-movie='${m}']:not(.gone)`); }", arg=movie)
                if i:
                    times.append(time.perf_counter() - t0)
        finally:
            browser.close()
    stats = percentiles(times)
    print(f"  browser (click on Rate -> new list rendered): p50 {stats['p50']:.3f}s p95 {stats['p95']:.3f}s "
          f"max {stats['max']:.3f}s over {stats['n']} ratings", flush=True)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratings", type=int, default=20, help="what-ifs timed through the handler")
    parser.add_argument("--browser-ratings", type=int, default=10,
                        help="what-ifs clicked in Chromium (0: none)")
    parser.add_argument("--runs", type=Path, help="with --uri: the run directories of the run already in "
                                                  "the graph (skips loading and training)")
    parser.add_argument("--seed", type=int, default=0)
    add_server_args(parser)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    from engine.explore.app import open_app

    rng = np.random.default_rng(args.seed)
    report: dict[str, Any] = {"cpus": os.cpu_count(), "graph": "ml-latest-small", "k": K,
                              "goal": "click-to-new-list p95 <= 2 s"}
    with local_server(args) as local, tempfile.TemporaryDirectory(prefix="reelgraph-explore-") as tmp:
        settings = client_settings(args, local)
        runs = args.runs
        if runs is None:
            runs = Path(tmp) / "runs"
            report["setup"] = prepare(settings, runs)
            print(f"  setup: {report['setup']}", flush=True)
        with open_app(settings, runs, port=0) as app:
            report["handler"] = handler_latency(app, args.ratings, rng)
            if args.browser_ratings:
                users = app.explorer.catalogue.users
                report["browser"] = browser_latency(app.url, users, args.browser_ratings, rng)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
