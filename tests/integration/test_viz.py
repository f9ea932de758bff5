"""Issue 6 on a real Neo4j: load -> train (write-back) -> `engine viz` -> figures, HTML, a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from engine.graphdb import Runner
from loader import bundled_dataset, read_movielens
from loader.ingest import load_dataset
from tests.integration._cli import engine
from tests.unit.test_viz import assert_png

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = bundled_dataset()
PNGS = ("subgraph.png", "embedding_map.png", "cluster_genres.png", "activity.png", "genre_segments.png",
        "training_curves.png", "run_curves.png")


def _wipe(neo4j_server, driver) -> None:  # type: ignore[no-untyped-def]
    with driver.session(database=neo4j_server.settings.database) as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@pytest.fixture(scope="module")
def report(neo4j_server, driver, tmp_path_factory):  # type: ignore[no-untyped-def]
    """One trained, written-back bpr_mf run on ml-latest-small and its `engine viz` folder."""
    pytest.importorskip("sklearn")
    pytest.importorskip("pyvis")
    if not neo4j_server.owned and os.environ.get("REELGRAPH_TEST_ALLOW_WIPE") != "1":
        pytest.fail("refusing to wipe an external server: set REELGRAPH_TEST_ALLOW_WIPE=1")
    _wipe(neo4j_server, driver)
    tmp = tmp_path_factory.mktemp("viz")
    load_dataset(Runner(driver), read_movielens(BUNDLED), progress=False)
    runs = tmp / "runs"
    result = engine(neo4j_server.settings, "train", "--model", "bpr_mf",
                                      "--param", "epochs=5", "--force", "--no-progress", "--out", str(runs),
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run_dir,) = list(runs.iterdir())
    out = tmp / "report"
    result = engine(neo4j_server.settings, "viz", "--out", str(out), "--user", "1",
                                      "--run", str(run_dir), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rec, _, _ = driver.execute_query(
        "MATCH (run:ModelRun {current: true}) "
        "MATCH (:User {userId: 1})-[r:RECOMMENDED {runId: run.runId}]->(m:Movie) "
        "RETURN m.title AS title ORDER BY r.rank LIMIT 10")
    yield {"out": out, "output": result.output, "titles": [r["title"] for r in rec], "run_dir": run_dir}
    _wipe(neo4j_server, driver)


def test_viz_writes_every_figure(report) -> None:  # type: ignore[no-untyped-def]
    out = report["out"]
    for name in PNGS:
        assert_png(out / name)
    index = (out / "index.html").read_text()
    for name in (*PNGS, "subgraph.html"):
        assert name in index, f"index.html does not link {name}"
    # bpr_mf ranks, it predicts no ratings: the evaluation plots are skipped, and index.html says why
    assert not (out / "rating_eval.png").exists()
    assert "Skipped: model &#x27;bpr_mf&#x27; ranks items" in index
    assert "Embedding map: embedding_map.png" in report["output"]


def test_subgraph_html_names_the_user_and_the_recommendations(report) -> None:  # type: ignore[no-untyped-def]
    page = (report["out"] / "subgraph.html").read_text()
    assert "User 1" in page
    assert len(report["titles"]) == 10
    for title in report["titles"]:
        assert json.dumps(title)[1:-1] in page, f"{title!r} is not in subgraph.html"
    assert "RECOMMENDED score" in page and "by user 1" in page  # hover texts: scores, ratings
    assert not re.search(r"(src|href)=\"https?://", page), "the page loads resources from the network"


def test_filters_and_unknown_user(neo4j_server, report, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = engine(neo4j_server.settings, "viz", "--out", str(tmp_path), "--user", "1",
                                      "--genre", "Comedy", "--year", "1990:2005", "-k", "5",
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Training curves: skipped (no --run RUN_DIR given)" in result.output
    page = (tmp_path / "subgraph.html").read_text()
    assert page.count('"kind": "rec"') == 5
    result = engine(neo4j_server.settings, "viz", "--out", str(tmp_path),
                                      "--user", "999999")
    assert result.exit_code == 2 and "unknown user 999999" in result.output


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_subgraph_html_renders_in_headless_chromium(report) -> None:  # type: ignore[no-untyped-def]
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no chromium on PATH (.ci/run should apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    import matplotlib.image as mpimg

    shot = report["out"] / "subgraph_screenshot.png"
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             f"--screenshot={shot}", "--window-size=1200,800", "--virtual-time-budget=5000",
             (report["out"] / "subgraph.html").resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
    assert shot.is_file(), f"no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    img = mpimg.imread(shot)[..., :3]
    assert img.shape[:2] == (800, 1200)
    colours = len(np.unique((img * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    not_white = float((img.min(axis=2) < 0.9).mean())
    assert colours > 100, f"only {colours} distinct colours: the graph did not render"
    assert not_white > 0.01, f"{not_white:.2%} of the page is not white: the graph did not render"


def test_subgraph_html_boxes_show_their_own_tooltip(report) -> None:  # type: ignore[no-untyped-def]
    """At the default zoom, hovering a box shows the box's tooltip (not an edge's); a real <title>."""
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
    from playwright.sync_api import sync_playwright

    from tests.integration._browser import CHROMIUM_ARGS

    browser = _chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no chromium on PATH (.ci/run should apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    page_file = report["out"] / "subgraph.html"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=browser, args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(page_file.resolve().as_uri())
            page.wait_for_function("() => typeof network !== 'undefined' && nodes.length > 0")
            assert page.title().startswith("User 1: top 10 recommendations")
            boxes = page.evaluate("() => nodes.get().filter(n => n.kind !== 'port').map(n => n.id)")
            missed = []
            for node in boxes:
                x, y = page.evaluate(
                    "id => { const d = network.canvasToDOM(network.getPositions([id])[id]);"
                    " const r = document.getElementById('mynetwork').getBoundingClientRect();"
                    " return [d.x + r.left, d.y + r.top]; }", node)
                page.mouse.move(x - 40, y)
                page.wait_for_timeout(300)
                tip = page.evaluate("() => { const t = document.querySelector('div.vis-tooltip');"
                                    " return t && t.style.visibility !== 'hidden' ? t.innerText : ''; }")
                expected = page.evaluate("id => nodes.get(id).title", node)
                if tip.strip() != str(expected).strip():
                    missed.append((node, tip[:60]))
        finally:
            chromium.close()
    assert len(boxes) >= 11 and not missed, missed
