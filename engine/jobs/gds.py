"""Graph Data Science in the jobs: the database as a model's graph, FastRP as GNN features.

* :func:`gds_graph_for` -- for a model that runs in the database (``in_database``, e.g.
  ``gds_fastrp``): every fit gets the :class:`~engine.graphdb.gds.GdsSession`.
* :func:`fastrp_features_for` -- ``engine train/evaluate --fastrp-features D``: each fit's
  ``HeteroData`` gets D FastRP dimensions (computed by GDS on that fit's train pairs only)
  appended to the user and movie features, for the heterogeneous GNNs.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import Any

import numpy as np
import torch

from engine.data.interactions import Interactions
from engine.data.selection import Export
from engine.errors import ParameterError
from engine.graphdb import open_driver
from engine.graphdb.gds import GdsSession
from engine.models import model_class
from engine.models.gds_fastrp import GdsFastRP
from engine.schema import NodeType
from engine.training.selection import GraphFor, training_graph

__all__ = ["fastrp_features_for", "gds_graph_for", "graph_for_model", "open_graph_for"]

log = logging.getLogger(__name__)


def gds_graph_for(driver: Any, database: str = "neo4j") -> GraphFor:
    """A ``graph_for`` handing every fit the database's GDS (checked once, up front)."""
    session = GdsSession(driver, database)
    log.info("Graph Data Science %s on the server", session.version())
    return lambda train: session


def fastrp_features_for(driver: Any, export: Export, dim: int,
                        database: str = "neo4j") -> GraphFor:
    """A ``graph_for``: the in-memory ``HeteroData`` plus ``dim`` FastRP features per node."""
    session = GdsSession(driver, database)
    session.version()

    def graph_for(train: Interactions) -> Any:
        data = training_graph(export, train)
        embedder = GdsFastRP(dim=dim)
        embedder.fit(train, None, session)
        users, movies = embedder.embeddings()
        for node_type, vectors in ((NodeType.USER, users), (NodeType.MOVIE, movies)):
            extra = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
            x = data[node_type].x if "x" in data[node_type] else extra[:, :0]
            data[node_type].x = torch.cat([x.float(), extra], dim=1)
        return data

    return graph_for


def graph_for_model(name: str, driver: Any, export: Export, *, fastrp_features: int = 0,
                    database: str = "neo4j") -> GraphFor | None:
    """The ``graph_for`` GDS implies for model ``name`` (``None``: the default graph)."""
    cls = model_class(name)
    if fastrp_features:
        if not cls.needs_graph or cls.in_database:
            raise ParameterError(f"--fastrp-features adds node features for the graph models "
                                 f"(hetero_sage, hetero_gat, hetero_sage_rating); {name} reads none")
        return fastrp_features_for(driver, export, fastrp_features, database)
    if cls.in_database:
        return gds_graph_for(driver, database)
    return None


def open_graph_for(stack: ExitStack, settings: Any, name: str, export: Export,
                   fastrp_features: int = 0) -> GraphFor | None:
    """:func:`graph_for_model` on a driver ``stack`` closes; ``None`` (no driver) without GDS."""
    if not (model_class(name).in_database or fastrp_features):
        return None
    driver = stack.enter_context(open_driver(settings))
    return graph_for_model(name, driver, export, fastrp_features=fastrp_features,
                           database=settings.database)
