"""The graph-database edge: the only code in ReelGraph that imports the ``neo4j`` driver.

* :mod:`~engine.graphdb.driver`   -- connect, wait for a server, translate driver errors
* :mod:`~engine.graphdb.queries`  -- the ``cypher/`` statements, loaded by name
* :mod:`~engine.graphdb.runner`   -- the one query runner (write, read, batches, phases, ...)
* :mod:`~engine.graphdb.nodeids`  -- MovieLens id -> internal node id, for batched writes
* :mod:`~engine.graphdb.export`   -- a Cypher-selected subgraph into arrays
* :mod:`~engine.graphdb.writeback` -- a run's output into the graph, switched atomically
* :mod:`~engine.graphdb.recommended` -- a new run's edges, already-rated movies dropped in numpy
* :mod:`~engine.graphdb.lease`    -- one write-back at a time (a lease node with an expiry)
* :mod:`~engine.graphdb.runs`     -- orphan runs of crashed writers, pruning old runs
* :mod:`~engine.graphdb.binding`  -- a run is written only into the dataset it was trained on
* :mod:`~engine.graphdb.live`     -- new ratings in, refreshed lists out (versioned, switched whole)
* :mod:`~engine.graphdb.reader`   -- the ``cypher/recommend`` reads, values made plain

Everything above this package (data, models, training, evaluation, write-back output,
viz, CLI) is pure or talks to Neo4j through it; a test fails if ``neo4j`` is imported
anywhere else.
"""

from engine.graphdb.driver import (
    STATEMENT_ERRORS,
    GraphConnectionError,
    GraphQueryError,
    connect,
    is_transient,
    open_driver,
    translate,
    wait_until_ready,
)
from engine.graphdb.runner import Runner, spans

__all__ = [
    "STATEMENT_ERRORS",
    "GraphConnectionError",
    "GraphQueryError",
    "Runner",
    "connect",
    "is_transient",
    "open_driver",
    "spans",
    "translate",
    "wait_until_ready",
]
