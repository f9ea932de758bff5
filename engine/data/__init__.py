"""Pure in-memory data the models train on (no Neo4j, no files).

* :mod:`~engine.data.interactions` -- :class:`IdMap` (raw id <-> index) and :class:`Interactions`
* :mod:`~engine.data.selection`    -- which subgraph to export, and the :class:`Export` it yields
* :mod:`~engine.data.features`     -- node features fitted on the train split only
* :mod:`~engine.data.splits`       -- seeded, leak-free train/test splits (random and temporal)
* :mod:`~engine.data.hetero`       -- the PyG ``HeteroData`` training graph
"""

from engine.data.interactions import IdMap, Interactions

__all__ = ["IdMap", "Interactions"]
