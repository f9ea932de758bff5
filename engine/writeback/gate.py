"""The quality gate: a run becomes current only if it beats a trivial baseline on validation.

``engine train`` measures its model on the validation split it selected on, and beside it
the baseline on the same split (:func:`gate_record`, stored in the run's metrics under
``gate``): popularity's NDCG@10 for a ranking model, the global mean rating's RMSE for a
rating model. :func:`check_gate` (called by every write-back before it writes anything)
refuses a run whose validation metric is not finite or does not beat the baseline, so a
degenerate model (``reg=nan``, zero epochs, a diverged fit) never replaces a good one.
``force`` (``--force``) writes it anyway, with a warning. The popularity model itself only
has to score a finite metric (it is the baseline).

A run saved before runs carried a gate record is checked for a finite validation metric
when its metrics hold one; outputs built by hand (no ``valid`` metrics) are not gated.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from engine.errors import ReelGraphError

log = logging.getLogger(__name__)

RANKING_METRIC = "ndcg@10"
RATING_METRIC = "rating_rmse"


class QualityGateError(ReelGraphError):
    """The run does not beat the baseline on validation; it was saved, not made current."""


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def gate_record(model: str, task: str, valid: Mapping[str, float], baseline_value: float,
                baseline: str) -> dict[str, Any]:
    """The gate's verdict for a model's validation metrics against the baseline's value."""
    metric = RATING_METRIC if task == "rating" else RANKING_METRIC
    value = valid.get(metric, float("nan"))
    higher = task != "rating"
    if not _finite(value):
        passed = False
    elif model == baseline:
        passed = True
    else:
        passed = _finite(baseline_value) and (value > baseline_value if higher
                                              else value < baseline_value)
    return {"metric": metric, "value": float(value), "baseline": baseline,
            "baselineValue": float(baseline_value), "higherIsBetter": higher, "passed": passed}


def _passes(gate: Mapping[str, Any], model: str | None) -> bool:
    """Whether a stored verdict holds on its own numbers (a ``passed`` flag alone is not trusted)."""
    metric = str(gate.get("metric", RANKING_METRIC))
    value: Any = gate.get("value")
    base: Any = gate.get("baselineValue")
    again = gate_record(model or "", "rating" if metric == RATING_METRIC else "ranking",
                        {metric: float(value) if _finite(value) else float("nan")},
                        float(base) if _finite(base) else float("nan"), str(gate.get("baseline")))
    return bool(again["passed"])


def check_gate(metrics: Mapping[str, Any], run_id: str, *, model: str | None = None,
               force: bool = False) -> None:
    """Raise :class:`QualityGateError` unless the run passes its gate (see the module docstring).

    A stored ``passed`` is re-checked against the stored numbers (``model``: the run's
    model, which may be the baseline itself), so an edited or NaN record cannot pass.
    """
    gate = metrics.get("gate")
    if gate is None:
        valid = metrics.get("valid")
        if not isinstance(valid, Mapping):
            return
        metric = RATING_METRIC if RATING_METRIC in valid else RANKING_METRIC
        if _finite(valid.get(metric)):
            return
        reason = f"its validation {metric} is {valid.get(metric)!r}, not a finite number"
    elif gate.get("passed") and _passes(gate, model):
        return
    elif not _finite(gate.get("value")):
        reason = f"its validation {gate['metric']} is {gate.get('value')!r}, not a finite number"
    else:
        worse = "does not beat" if gate["higherIsBetter"] else "is not below"
        reason = (f"its validation {gate['metric']} {gate['value']:.4f} {worse} "
                  f"{gate['baseline']}'s {gate['baselineValue']:.4f} on the same validation split")
    if force:
        log.warning("run %s: %s -- made current anyway (--force)", run_id, reason)
        return
    raise QualityGateError(
        f"run {run_id} was not made current: {reason}. The previous run stays current; the "
        "run is saved, so `engine writeback runs/RUN_ID --force` can still switch to it."
    )
