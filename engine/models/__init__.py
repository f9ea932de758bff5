"""Recommender models behind one contract (:class:`engine.models.base.Recommender`).

``MODELS`` maps each model's ``name`` to its class; :func:`load_model` restores any saved
checkpoint by reading the name from its ``config.json``. :data:`DEFAULT_MODEL` is the
model the engine trains unless told otherwise on a catalogue up to the dense limit;
:func:`engine.models.sizing.default_model_for` applies the size rule (see ``bench/``).
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import ParameterError
from engine.models.autorec import ItemAutoRec
from engine.models.base import Recommender, Task
from engine.models.blend import RatingBlend
from engine.models.bpr_mf import BPRMF
from engine.models.ease import EASE
from engine.models.fit import TrainSettings
from engine.models.gds_fastrp import GdsFastRP
from engine.models.graph_filter import GraphFilterCF
from engine.models.hetero.gat import HeteroGATRecommender
from engine.models.hetero.rating import HeteroSAGERatingModel
from engine.models.hetero.sage import HeteroSAGERecommender
from engine.models.history import FitHistory
from engine.models.kernel_autorec import KernelAutoRec
from engine.models.lightgcn import LightGCNCSR
from engine.models.popularity import PopularityRecommender
from engine.models.pyg_lightgcn import PyGLightGCN
from engine.models.rating import BiasedMF
from engine.models.scalable import ScalableTemporalFilter
from engine.models.sizing import DENSE
from engine.models.temporal import TemporalGraphFilter

__all__ = [
    "BPRMF",
    "BiasedMF",
    "DEFAULT_MODEL",
    "EASE",
    "FitHistory",
    "GdsFastRP",
    "GraphFilterCF",
    "HeteroGATRecommender",
    "HeteroSAGERatingModel",
    "HeteroSAGERecommender",
    "ItemAutoRec",
    "KernelAutoRec",
    "LightGCNCSR",
    "MODELS",
    "PopularityRecommender",
    "PyGLightGCN",
    "RatingBlend",
    "Recommender",
    "ScalableTemporalFilter",
    "Task",
    "TemporalGraphFilter",
    "TrainSettings",
    "load_model",
    "make_model",
]

MODELS: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (
        PopularityRecommender, EASE, BPRMF, LightGCNCSR, PyGLightGCN, GraphFilterCF,
        TemporalGraphFilter, ScalableTemporalFilter, ItemAutoRec, HeteroSAGERecommender, HeteroGATRecommender,
        HeteroSAGERatingModel, BiasedMF, KernelAutoRec, RatingBlend, GdsFastRP,
    )
}

#: Name of the default model on catalogues up to ``sizing.DENSE_MAX_ITEMS`` movies: the
#: temporal graph filter (best validated quality on T1/T2 and P1; bench/quality.py). Above
#: that the default is ``scalable_filter`` (:func:`engine.models.sizing.default_model_for`).
DEFAULT_MODEL = DENSE


def model_class(name: str) -> type[Recommender]:
    """The registered class called ``name`` (a :class:`ParameterError` listing the names)."""
    if name not in MODELS:
        raise ParameterError(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}")
    return MODELS[name]


def make_model(name: str, params: dict[str, object] | None = None) -> Recommender:
    """An unfitted model from the registry; a wrong name or parameter is a ParameterError."""
    return model_class(name).create(params)


def load_model(path: Path) -> Recommender:
    """Load any checkpoint written by :meth:`Recommender.save`."""
    name = json.loads((Path(path) / "config.json").read_text())["model"]
    return model_class(name).load(Path(path))
