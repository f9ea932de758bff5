"""GC-MC-style rating regression: a hetero GraphSAGE encoder + the biased-MF decoder.

Berg, Kipf & Welling, "Graph Convolutional Matrix Completion" (GC-MC), KDD 2018 deep
learning day: one relation per rating level. The encoder is
:class:`~engine.models.hetero.sage.HeteroSAGEEncoder` with ``rating_levels = L``
relations ``('user','rated_r','movie')`` (+ reverses, + genre relations), so a user's
state mixes the movies they loved apart from the ones they hated; the decoder is
:class:`~engine.models.rating.RatingHead`. Against label leakage, the target edges of
each batch are removed from the message-passing graph of that step (and a further
``edge_dropout`` share at random), so no edge is predicted from its own rating.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch_geometric.data import HeteroData

from engine.models.fit import TrainSettings
from engine.models.hetero.encoder import HeteroEncoderBase
from engine.models.hetero.minibatch import source_dims
from engine.models.hetero.sage import HeteroSAGEEncoder
from engine.models.params import check_float, check_int
from engine.models.rating import RatingModel

__all__ = ["HeteroSAGERatingModel"]


class HeteroSAGERatingModel(RatingModel):
    """Rating regression (GC-MC-style hetero SAGE + biased MF); ``predict`` gives ratings.

    ``fit(train, valid, graph)`` reads the ``HeteroData`` training graph like the hetero
    recommenders. ``score(users)`` returns predicted ratings for the whole catalogue (so
    ``recommend`` ranks by predicted rating); ``embeddings()`` returns the encoder states.

    Defaults were chosen on a 10% validation carve of ML-100K ``u1.base`` (seed 1): two
    layers, 64-d, dropout 0.3, no free MF factors (``mf_dim=0``: the biases + GNN term
    validated better than adding ``p_u·q_i``; set ``mf_dim>0`` for the full ensemble).
    """

    name: ClassVar[str] = "hetero_sage_rating"
    needs_graph = True
    train_defaults: ClassVar[TrainSettings] = TrainSettings(
        epochs=150, batch_size=8192, lr=2e-3, weight_decay=1e-4, eval_every=1, patience=5)

    def __init__(self, dim: int = 64, num_layers: int = 2, rating_levels: int = 5,
                 mf_dim: int = 0, proj_dim: int = 32, dropout: float = 0.3,
                 edge_dropout: float = 0.1, reg: float = 0.05, **train: Any) -> None:
        super().__init__(mf_dim=mf_dim, reg=reg, **train)
        self.dim = check_int("dim", dim, 1)
        self.num_layers = check_int("num_layers", num_layers, 1)
        self.rating_levels = check_int("rating_levels", rating_levels, 1)
        self.proj_dim = check_int("proj_dim", proj_dim, 1)
        self.dropout = check_float("dropout", dropout, 0.0, 1.0)
        self.edge_dropout = check_float("edge_dropout", edge_dropout, 0.0, 1.0)

    def _encoder(self, graph: HeteroData) -> HeteroEncoderBase | None:
        return HeteroSAGEEncoder(**source_dims(graph), dim=self.dim,
                                 num_layers=self.num_layers, dropout=self.dropout,
                                 rating_levels=self.rating_levels)
