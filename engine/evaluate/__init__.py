"""Evaluation like a recommender: full-catalogue ranking metrics and activity segments (pure)."""

from engine.evaluate.metrics import (
    RankingReport,
    evaluate_ranking,
    mask_seen,
    rating_metrics,
    summarise_by_segment,
    top_k,
)
from engine.evaluate.segments import SEGMENTS, THRESHOLDS, Thresholds, segment_users

__all__ = [
    "SEGMENTS",
    "THRESHOLDS",
    "RankingReport",
    "Thresholds",
    "evaluate_ranking",
    "mask_seen",
    "rating_metrics",
    "segment_users",
    "summarise_by_segment",
    "top_k",
]
