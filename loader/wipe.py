"""Empty a database of any size in bounded transactions (``engine load --replace``).

One ``DETACH DELETE`` of a batch of nodes holds every relationship of those nodes in a
single transaction: 20,000 nodes of a dense graph carry millions of relationships and
exceed the server's transaction memory (``MemoryPoolOutOfMemoryError`` on a 1-2 GB heap).
So a wipe deletes, each step with ``CALL { ... } IN TRANSACTIONS``:

1. the :Dataset nodes are marked ``wiping`` (an interrupted wipe is named by the next load);
2. every relationship, :data:`WIPE_BATCH` per inner transaction (sized by relationship count);
3. every other node, :data:`WIPE_BATCH` per inner transaction (they carry no relationship now);
4. the :Dataset nodes.

Every inner transaction commits on its own, so a wipe that stops (server restart, Ctrl-C)
is resumed by running it again.
"""

from __future__ import annotations

import logging
from typing import Final

from engine.errors import ReelGraphError
from engine.graphdb import Runner, translate

log = logging.getLogger(__name__)

#: Relationships (then nodes) deleted per inner transaction.
WIPE_BATCH: Final = 10_000


class WipeError(ReelGraphError):
    """A wipe stopped before the graph was empty; running it again continues."""


def wipe(runner: Runner, batch: int = WIPE_BATCH) -> int:
    """Delete every node and relationship in bounded transactions; returns nodes deleted."""
    if batch < 1:
        raise ValueError("batch must be positive")
    try:
        runner.write("load/dataset_wiping")
        rels = int(runner.autocommit("admin/wipe_relationships", batch=batch)[0]["deleted"])
        nodes = int(runner.autocommit("admin/wipe_nodes", batch=batch)[0]["deleted"])
        nodes += int(runner.write("load/dataset_delete")[0]["deleted"])
    except ReelGraphError:
        raise
    except Exception as exc:
        reason = translate(exc)
        if reason is None:
            raise
        raise WipeError(
            f"the wipe stopped before the graph was empty ({reason}); what it deleted stays "
            "deleted: re-run the same command (with --replace) to delete the rest"
        ) from exc
    log.info("wiped %d relationships and %d nodes", rels, nodes)
    return nodes
