"""Issue 12: the Browser part of the product, used the way a person uses it.

The real Neo4j Browser that the local server serves (``engine db`` / the session's private
server, ``/browser/`` on its HTTP port) in headless Chromium, driven by Playwright: connect
with the test server's credentials, apply ``browser/style.grass``, run every
``cypher/recommend/*.cypher`` after its header's ``:param`` example, every block of
``browser/guide.md`` in order and the README's Cypher block pasted as a whole; any error or
warning frame fails. Screenshots go to ``reports/browser-test/`` (CI keeps that folder).
The same queries also run through the Python driver with the FLOAT numbers Browser sends,
giving the rows the integers give and no warning.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from engine.graphdb import Runner, queries
from loader import bundled_dataset, read_movielens
from loader.ingest import load_dataset, wipe
from tests.integration import _browser
from tests.integration._cli import engine
from tests.integration.test_cypher_examples import apply_param, evaluate_param, param_lines

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "reports" / "browser-test"
RECOMMEND = [n for n in queries.names() if n.startswith("recommend/")]
USER_RED, MOVIE_BLUE = (0xD6, 0x27, 0x28), (0x1F, 0x77, 0xB4)  # browser/style.grass


def guide_blocks() -> list[tuple[str, str]]:
    """``(step heading, text)`` of every ```cypher block of browser/guide.md, in order."""
    out, step = [], "intro"
    for m in re.finditer(r"^## ([^\n]+)$|```cypher\n(.*?)```", (ROOT / "browser" / "guide.md").read_text(),
                         flags=re.M | re.S):
        if m.group(1):
            step = m.group(1)
        else:
            out.append((step, m.group(2).strip()))
    return out


def readme_block() -> str:
    """The ```cypher block of the README's "Recommendations in Cypher" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Recommendations in Cypher", 1)[1].split("\n## ", 1)[0]
    m = re.search(r"```cypher\n(.*?)```", section, flags=re.S)
    assert m, "no ```cypher block in README's Recommendations in Cypher"
    return m.group(1).strip()


def split_statements(block: str) -> list[str]:
    """The statements of a pasted block (``;``-separated, comment lines dropped)."""
    code = "\n".join(line for line in block.splitlines() if not line.lstrip().startswith("//"))
    return [s.strip() for s in code.split(";") if s.strip()]


@pytest.fixture(scope="module")
def trained(neo4j_server, driver, tmp_path_factory):  # type: ignore[no-untyped-def]
    """ml-latest-small with one written-back bpr_mf run (a ranking model: no predictedRating)."""
    if not neo4j_server.owned and os.environ.get("REELGRAPH_TEST_ALLOW_WIPE") != "1":
        pytest.fail("refusing to wipe an external server: set REELGRAPH_TEST_ALLOW_WIPE=1")
    runner = Runner(driver, neo4j_server.settings.database)
    wipe(runner)
    load_dataset(runner, read_movielens(bundled_dataset()), progress=False)
    result = engine(neo4j_server.settings, "train", "--model", "bpr_mf", "--param", "epochs=3", "--force",
                    "--no-progress", "--out", str(tmp_path_factory.mktemp("runs")), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    yield driver
    wipe(runner)


def _rows_and_warnings(driver, text: str, params: dict) -> tuple[list[dict], list[str]]:  # type: ignore[no-untyped-def]
    records, summary, _ = driver.execute_query(text, params)
    warnings = [f"{s.gql_status} {s.status_description}" for s in summary.gql_status_objects
                if str(s.severity).endswith("WARNING")]
    return [r.data() for r in records], warnings


# ---------------------------------------------------------------------- through the driver
@pytest.mark.parametrize("name", RECOMMEND)
def test_recommend_file_gives_the_same_rows_for_browser_floats(trained, name: str) -> None:  # type: ignore[no-untyped-def]
    text = queries.load(name)
    as_ints = {k: v for c in param_lines(text) for k, v in evaluate_param(trained, c).items()}
    as_floats = {k: v for c in param_lines(text) for k, v in evaluate_param(trained, c, browser=True).items()}
    rows, warnings = _rows_and_warnings(trained, text, as_ints)
    float_rows, float_warnings = _rows_and_warnings(trained, text, as_floats)
    assert not warnings and not float_warnings, warnings + float_warnings
    assert float_rows == rows, f"{name}: Browser's floats give other rows than integers"
    assert rows, f"{name}: no row for its header's example"


def test_guide_and_readme_statements_run_without_warnings_with_browser_floats(trained) -> None:  # type: ignore[no-untyped-def]
    params: dict = {}
    statements = [text for _, text in guide_blocks()] + split_statements(readme_block())
    for text in statements:
        if text.startswith(":param"):
            params = apply_param(trained, params, text)
            continue
        if text.startswith(":"):
            continue  # other Browser commands (:config) have no Cypher
        rows, warnings = _rows_and_warnings(trained, text, params)
        assert not warnings, f"{text[:200]}\n{warnings}"
        assert rows, f"no row from:\n{text}"


# ---------------------------------------------------------------------- in the real Browser
@pytest.fixture(scope="module")
def ui(neo4j_server, trained):  # type: ignore[no-untyped-def]
    """A connected Browser tab with browser/style.grass applied."""
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
    executable = _browser.chromium()
    if executable is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but no chromium (.ci/run installs it from Debian)")
        pytest.skip("no chromium (apt-get install -y chromium)")
    if neo4j_server.local is not None:
        url = f"http://127.0.0.1:{neo4j_server.local.settings.http_port}/browser/"
    elif os.environ.get("REELGRAPH_TEST_BROWSER_URL"):
        url = os.environ["REELGRAPH_TEST_BROWSER_URL"]
    else:
        pytest.skip("NEO4J_URI names an external server: set REELGRAPH_TEST_BROWSER_URL to its Browser")
    for old in SHOTS.glob("*.png"):
        old.unlink()
    s = neo4j_server.settings
    with _browser.BrowserUI.launch(SHOTS, executable) as browser_ui:
        browser_ui.connect(url, s.uri, s.user, s.password or "")
        grass = (ROOT / "browser" / "style.grass").read_text()
        frame = browser_ui.run(":style " + grass, "style")
        assert not frame.problems, frame.problems
        stored = browser_ui.local_storage("neo4j.grass") or ""
        assert '"#D62728"' in stored.upper().replace("'", '"') and "#{rank}" in stored, stored[:400]
        yield browser_ui


@pytest.mark.parametrize("name", RECOMMEND)
def test_recommend_file_runs_in_browser_after_its_param_example(ui, name: str) -> None:  # type: ignore[no-untyped-def]
    text = queries.load(name)
    for command in param_lines(text):
        frame = ui.run(command, f"{name}-param")
        assert not frame.problems, (command, frame.problems)
    frame = ui.run(text, name)
    assert not frame.problems, f"{name} in Browser: {frame.problems} (screenshot {frame.screenshot})"
    assert "completed after" in frame.text or frame.locator.locator("svg.neod3viz").count(), frame.text[:500]


def test_guide_runs_in_browser_block_by_block(ui) -> None:  # type: ignore[no-untyped-def]
    seen_graph = False
    for i, (step, text) in enumerate(guide_blocks(), start=1):
        frame = ui.run(text, f"guide-{i:02d}-{step[:30]}")
        assert not frame.problems, f"guide block {i} ({step}): {frame.problems}\n{text}"
        if step.startswith("2.") and not text.startswith(":"):
            check_recommendation_graph(ui, frame)
            seen_graph = True
    assert seen_graph, "guide step 2 has no graph block"


def check_recommendation_graph(ui, frame) -> None:  # type: ignore[no-untyped-def]
    """Guide step 2 drawn by Browser: one red user and (about) ten blue movies, by pixels."""
    from scipy import ndimage

    assert frame.locator.locator("svg.neod3viz").count(), "step 2 did not open the graph view"
    picture = ui.graph_picture(frame, SHOTS / "guide-step2-graph.png")
    import matplotlib.image as mpimg

    img = (mpimg.imread(picture)[..., :3] * 255).astype(int)

    def blobs(colour: tuple[int, int, int]) -> list[int]:
        mask = (np.abs(img - np.array(colour)).max(axis=2) <= 24)
        mask = ndimage.binary_closing(mask, iterations=2)           # fill the white caption text
        mask = ndimage.binary_opening(mask, structure=np.ones((9, 9)))  # drop 3px arrows and edges
        labels, n = ndimage.label(mask)
        sizes = ndimage.sum(mask, labels, range(1, n + 1))
        return sorted((int(s) for s in sizes if s >= 300), reverse=True)

    red, blue = blobs(USER_RED), blobs(MOVIE_BLUE)
    assert len(red) == 1, f"expected one red user node, found {len(red)} red blobs {red} ({picture})"
    assert len(blue) >= 8, f"expected ~10 blue movie nodes, found {len(blue)} {blue} ({picture})"
    assert sum(blue) > 5 * red[0], f"movies should dominate the picture: blue {sum(blue)} red {red[0]}"


def test_readme_cypher_block_pastes_as_a_whole(ui) -> None:  # type: ignore[no-untyped-def]
    block = readme_block()
    frame = ui.run(block, "readme-block", settle_s=1.0)
    assert not frame.problems, f"README block in Browser: {frame.problems}"
    icons = frame.locator.get_by_test_id("multi-statement-list-icon")
    assert icons.count() == len(split_statements(block)) >= 4, frame.text[:800]
