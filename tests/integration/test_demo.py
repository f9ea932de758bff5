"""The README's main job, end to end, against the session's real Neo4j."""

from __future__ import annotations

from engine.graphdb import Runner
from loader import bundled_dataset
from tests.integration._cli import engine
from tests.integration.test_cypher_examples import apply_param


def test_demo_runs_the_whole_pipeline(neo4j_server, clean_graph, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = engine(neo4j_server.settings, "demo", "--user", "1", "--out", str(tmp_path / "runs"),
                    catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for step in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"):
        assert step in result.output
    assert "write-back: run" in result.output
    rec, _, _ = clean_graph.execute_query(
        "MATCH (run:ModelRun {current: true}) "
        "MATCH (:User {userId: 1})-[r:RECOMMENDED {runId: run.runId}]->(m:Movie) "
        "RETURN count(r) AS n, collect(m.title) AS titles"
    )
    assert rec[0]["n"] == 20
    # the printed recommendations are the ones in the graph
    assert any(title in result.output for title in rec[0]["titles"])


def test_browser_guide_queries_run_in_order(neo4j_server, clean_graph, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every ```cypher block of browser/guide.md runs (":param" blocks set the params, as Browser does:
    a map replaces them all and its numbers are floats; other Browser commands are skipped here)."""
    import re
    from pathlib import Path

    from loader import read_movielens
    from loader.ingest import load_dataset

    root = Path(__file__).resolve().parents[2]
    load_dataset(Runner(clean_graph), read_movielens(bundled_dataset()), progress=False)
    result = engine(neo4j_server.settings, "train", "--model", "bpr_mf", "--param", "epochs=3", "--force",
                    "--no-progress", "--out", str(tmp_path), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    blocks = re.findall(r"```cypher\n(.*?)```", (root / "browser" / "guide.md").read_text(), flags=re.S)
    assert len(blocks) >= 6
    params: dict = {}
    rows_seen = 0
    for block in blocks:
        text = block.strip()
        if text.startswith(":param"):
            params = apply_param(clean_graph, params, text)
            continue
        if text.startswith(":"):
            continue  # :config and the like: Browser settings, no Cypher
        rec, _, _ = clean_graph.execute_query(text, params)
        rows_seen += len(rec)
    assert rows_seen > 0
