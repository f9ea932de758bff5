"""``engine demo``: the main job end to end on the bundled data.

Neo4j (the server named by ``NEO4J_URI``, else the local ``engine db`` server, started if
needed) -> load the bundled ml-latest-small -> train the default model -> write
embeddings and top-K recommendations back -> recommendations with explanations for one
user -> where to look in Neo4j Browser.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.db import LocalServer
from engine.graphdb import Runner, open_driver
from engine.graphdb.reader import Reader
from engine.jobs import load as load_job
from engine.jobs import train as train_job
from engine.settings import Neo4jSettings, ServerSettings

log = logging.getLogger(__name__)

Report = Callable[[str], None]


@dataclass
class DemoResult:
    """What the demo did and where to look."""

    train: train_job.TrainResult
    recommendations: list[dict[str, Any]]
    browser_url: str | None
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)


def run_demo(settings_for: Callable[[ServerSettings | None], Neo4jSettings], *,
             uri_given: bool, model: str | None = None, user_id: int = 1,
             runs_dir: Path = Path("runs"), keep_running: bool = True,
             report: Report = log.info) -> DemoResult:
    """Run the pipeline; ``settings_for(server)`` resolves client settings (CLI options win)."""
    t0 = time.monotonic()
    steps: dict[str, float] = {}
    local = None
    if not (uri_given or os.environ.get("NEO4J_URI")):
        local = LocalServer(ServerSettings.from_env())
        if local.running_pid() is None:
            report(f"[1/5] starting local Neo4j in {local.home} ...")
            local.start()
        else:
            report(f"[1/5] reusing the local Neo4j already running on {local.home}")
    else:
        report("[1/5] using the Neo4j server named by NEO4J_URI / --uri")
    settings = settings_for(None)
    with open_driver(settings) as driver:
        row = Runner(driver, "system").read("admin/components")[0]
    report(f"      Neo4j {row['version']} {row['edition']} ready at {settings.uri} "
           f"({time.monotonic() - t0:.0f}s)")
    steps["neo4j"] = time.monotonic() - t0

    report("[2/5] loading the bundled ml-latest-small ...")
    data = load_job.read_data("ml-latest-small", None)
    load_job.load(settings, data, replace=True, progress=False, report=report)
    steps["load"] = time.monotonic() - t0 - sum(steps.values())
    report(f"      ({time.monotonic() - t0:.0f}s)")

    report("[3/5] training the default model and writing it back ...")
    trained = train_job.train(settings, model=model, runs_dir=runs_dir, progress=False,
                              report=report)
    steps["train"] = time.monotonic() - t0 - sum(steps.values())
    report(f"      model {trained.model} {trained.params}; validation NDCG@10 "
           f"{trained.valid.get('ndcg@10', float('nan')):.4f}; checkpoint {trained.run_dir}")
    if trained.writeback is not None:
        report(f"      write-back: {trained.writeback}")
    report(f"      ({time.monotonic() - t0:.0f}s)")

    with open_driver(settings) as driver:
        recs = Reader(driver, settings.database).recommend(user_id, k=10)
    browser = None
    if local is not None:
        st = local.status()
        browser = f"{st.http_url}/browser/"
        if not keep_running:
            local.stop()
    return DemoResult(trained, recs, browser, time.monotonic() - t0, steps)
