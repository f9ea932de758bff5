"""Neo4j Graph Data Science (OpenGDS) from ReelGraph: FastRP embeddings computed in the database.

``engine db start --plugins gds`` loads OpenGDS 2.13.9 (GPLv3, fetched from Maven Central on
first use, never bundled; the Community build runs at most 4 threads). A
:class:`GdsSession` projects the pairs of a training split into the GDS in-memory catalog
(``cypher/gds/project.cypher``: integer node ids, so held-out ratings never reach the
embedding), streams ``gds.fastRP`` back as arrays and always drops the projection.
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

import neo4j
import numpy as np

from engine.errors import ReelGraphError
from engine.graphdb import queries
from engine.graphdb.runner import Runner

__all__ = ["GDS_THREADS", "GdsSession", "GdsUnavailableError"]

log = logging.getLogger(__name__)

#: Threads a GDS algorithm may use: the Community build's limit (4) or the CPUs, if fewer.
GDS_THREADS = max(1, min(4, os.cpu_count() or 1))


class GdsUnavailableError(ReelGraphError):
    """The server does not run the Graph Data Science plugin."""


class GdsSession:
    """FastRP through the GDS plugin of the server ``driver`` talks to."""

    def __init__(self, driver: neo4j.Driver, database: str = "neo4j") -> None:
        self.runner = Runner(driver, database)
        self._version: str | None = None

    def version(self) -> str:
        """The plugin's version; a one-line :class:`GdsUnavailableError` without it."""
        if self._version is None:
            try:
                self._version = str(self.runner.read("gds/version")[0]["version"])
            except neo4j.exceptions.ClientError as exc:
                if "gds.version" not in str(exc):
                    raise
                raise GdsUnavailableError(
                    "the Neo4j server does not run the Graph Data Science plugin (gds.version is "
                    "unknown): start it with `engine db start --plugins gds`, or install OpenGDS "
                    "2.13 in your Neo4j's plugins folder"
                ) from None
        return self._version

    def fastrp(self, source: np.ndarray, target: np.ndarray, weight: np.ndarray,
               num_nodes: int, config: dict[str, Any]) -> np.ndarray:
        """FastRP vectors ``[num_nodes, d]`` float32 of the undirected graph ``source``-``target``.

        Nodes without an edge get zero vectors. ``config`` is ``gds.fastRP``'s (its
        ``relationshipWeightProperty``, if any, must be ``"weight"``); ``concurrency``
        defaults to :data:`GDS_THREADS`.
        """
        self.version()
        name = f"reelgraph-fastrp-{uuid.uuid4().hex[:12]}"
        config = {"concurrency": GDS_THREADS, **config}
        try:
            projected = self.runner.read(
                "gds/project", graphName=name, source=np.asarray(source, np.int64).tolist(),
                target=np.asarray(target, np.int64).tolist(),
                weight=np.asarray(weight, np.float64).tolist())[0]
            log.info("projected %s: %d nodes, %d relationships", name, projected["nodes"],
                     projected["relationships"])
            out = np.zeros((num_nodes, int(config["embeddingDimension"])), dtype=np.float32)
            with self.runner.driver.session(database=self.runner.database,
                                            default_access_mode=neo4j.READ_ACCESS) as session:
                result = session.run(queries.load("gds/fastrp"), graphName=name, config=config)
                for record in result:
                    out[record[0]] = record[1]
            return out
        finally:
            self.runner.read("gds/drop", graphName=name)
