"""A :class:`~engine.writeback.output.RunOutput` from a fitted model (pure, batched)."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.data.interactions import IdMap
from engine.models.base import Recommender
from engine.writeback.output import RunOutput

__all__ = ["build_run_output"]


def build_run_output(
    model: Recommender,
    idmap: IdMap,
    config: dict[str, Any],
    metrics: dict[str, Any],
    *,
    k: int = 20,
    similar_k: int = 10,
    progress: bool = False,
) -> RunOutput:
    """A :class:`RunOutput` from a fitted :class:`~engine.models.base.Recommender`.

    ``config`` gives ``runId``, ``model``, ``params``, ``dataset`` and optionally
    ``gitSha``/``trainedAt``/``datasetBinding`` (as ``engine train`` writes them). Top-``k`` per user comes
    from ``model.recommend`` (seen excluded, batched); embeddings from
    ``model.embeddings()``; SIMILAR edges (``similar_k`` > 0) from
    ``model.similar_items()``. A rating model's scores are its predicted ratings, so they
    are also stored as ``predictedRating``. A model whose ``reasons(users, items)`` gives some (the
    temporal filter) names, per recommendation, the recent rating that leads to it.
    """
    users = np.arange(idmap.num_users, dtype=np.int64)
    items, scores = model.recommend(users, k=k, exclude_seen=True, progress=progress)
    reasons = model.reasons(users, items)
    emb = model.embeddings()
    user_emb, item_emb = (None, None) if emb is None else emb
    similar = model.similar_items(similar_k) if similar_k > 0 and idmap.num_movies > 1 else None
    sim_items, sim_scores = (None, None) if similar is None else similar
    return RunOutput(
        run_id=str(config["runId"]), model=str(config.get("model", getattr(model, "name", "?"))),
        params=dict(config.get("params", {})), metrics=metrics,
        dataset=str(config.get("dataset", "")), git_sha=config.get("gitSha"), idmap=idmap,
        user_emb=user_emb, item_emb=item_emb, rec_items=items, rec_scores=scores,
        rec_ratings=scores.copy() if model.task == "rating" else None, rec_reasons=reasons,
        similar_items=sim_items, similar_scores=sim_scores, trained_at=config.get("trainedAt"),
        binding=config.get("datasetBinding"),
    )
