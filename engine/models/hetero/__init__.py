"""Heterogeneous GNNs over the user / movie / genre ``HeteroData`` graph (PyG ``HeteroConv``).

* :mod:`~engine.models.hetero.inputs`  -- the train message-passing graph from ``HeteroData``
* :mod:`~engine.models.hetero.encoder` -- layer-0 states and ``HeteroConv`` message passing
* :mod:`~engine.models.hetero.link`    -- dot decoder + BPR (the recommenders' shared base)
* :mod:`~engine.models.hetero.sage`, :mod:`~engine.models.hetero.gat` -- the recommenders
* :mod:`~engine.models.hetero.rating`  -- the GC-MC-style rating model
"""
