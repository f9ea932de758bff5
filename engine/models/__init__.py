"""Recommender models behind one contract (:class:`engine.models.base.Recommender`).

``MODELS`` maps each model's ``name`` to its class; :func:`load_model` restores any saved
checkpoint by reading the name from its ``config.json``. :data:`DEFAULT_MODEL` is the
model the engine trains unless told otherwise (see ``bench/train.py`` for why).
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.models.base import Recommender, SideFeatures
from engine.models.bpr_mf import BPRMF
from engine.models.ease import EASE
from engine.models.graph_filter import GraphFilterCF
from engine.models.lightgcn import LightGCNCSR
from engine.models.popularity import PopularityRecommender
from engine.models.pyg_lightgcn import PyGLightGCN
from engine.models.hetero_gat import HeteroGATRecommender
from engine.models.hetero_sage import HeteroSAGERecommender
from engine.models.rating import BiasedMF, HeteroSAGERatingModel
from engine.models.rating_autorec import ItemAutoRec

__all__ = [
    "BPRMF",
    "BiasedMF",
    "DEFAULT_MODEL",
    "EASE",
    "GraphFilterCF",
    "HeteroGATRecommender",
    "HeteroSAGERatingModel",
    "HeteroSAGERecommender",
    "ItemAutoRec",
    "LightGCNCSR",
    "MODELS",
    "PopularityRecommender",
    "PyGLightGCN",
    "Recommender",
    "SideFeatures",
    "load_model",
    "register",
]

MODELS: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (
        PopularityRecommender, EASE, BPRMF, LightGCNCSR, PyGLightGCN, GraphFilterCF, ItemAutoRec,
        HeteroSAGERecommender, HeteroGATRecommender, HeteroSAGERatingModel, BiasedMF,
    )
}

#: Name of the default model: temporal graph-filter CF (best validated quality on P1).
DEFAULT_MODEL = GraphFilterCF.name


def register(cls: type[Recommender]) -> type[Recommender]:
    """Class decorator for models added elsewhere (e.g. hetero GNNs): ``@register``."""
    MODELS[cls.name] = cls
    return cls


def load_model(path: Path) -> Recommender:
    """Load any checkpoint written by :meth:`Recommender.save`."""
    name = json.loads((Path(path) / "config.json").read_text())["model"]
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    return MODELS[name].load(Path(path))
