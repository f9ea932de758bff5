"""``engine train --store neo4j``: each fit reads its graph through the Neo4j-backed PyG stores.

For a train split the job fits the node features on that split (as the in-memory path
does), z-scores them, writes them to the graph as ``trainFeatures`` (the feature store's
``put``), and hands the model the pair ``(Neo4jFeatureStore, Neo4jGraphStore)``: the
topology of the export restricted to the split's pairs (held-out ratings never reach
message passing, nor their timestamps), and features read from Neo4j batch by batch while
it trains. Given :class:`~engine.settings.Neo4jSettings` instead of a driver, the pair
also loads in DataLoader worker processes (each opens its own driver).
"""

from __future__ import annotations

import logging
from typing import Any

from engine.data.interactions import Interactions
from engine.data.selection import Export
from engine.graphdb.pyg_store import Neo4jFeatureStore, Neo4jGraphStore
from engine.models.hetero.inputs import prepare_graph
from engine.schema import NodeType
from engine.training.selection import GraphFor, training_graph

__all__ = ["neo4j_graph_for"]

log = logging.getLogger(__name__)


def neo4j_graph_for(driver: Any, export: Export, database: str | None = None) -> GraphFor:
    """A ``graph_for`` giving each fit the Neo4j-backed ``(FeatureStore, GraphStore)``.

    ``driver`` is an open ``neo4j.Driver`` (only :mod:`engine.graphdb` imports the driver)
    or :class:`~engine.settings.Neo4jSettings` (picklable stores, for ``num_workers > 0``).
    ``database``: default the settings' (``"neo4j"`` for a driver).
    """

    def graph_for(train: Interactions) -> tuple[Neo4jFeatureStore, Neo4jGraphStore]:
        prepared = prepare_graph(train, training_graph(export, train))
        graph_store = Neo4jGraphStore.from_export(export, train)
        features = Neo4jFeatureStore(driver, export.idmap, database=database, genres=export.genres,
                                     graph_store=graph_store)
        for t in (NodeType.USER, NodeType.MOVIE):
            features.put_tensor(prepared[t].x, group_name=t, attr_name="x", index=None)
        log.info("wrote train features of %d users and %d movies to Neo4j",
                 train.num_users, train.num_items)
        return features, graph_store

    return graph_for
