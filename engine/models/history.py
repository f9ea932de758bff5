"""What a fit reports: the typed history every model returns and every reader understands.

Written as ``history.json`` in each run directory, read by model selection (the epoch
count early stopping chose), ``engine viz`` (loss and validation curves) and the
benchmarks. Closed-form models report ``stopped="closed-form"`` and no curves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Stopped = Literal["closed-form", "epochs", "patience", "budget"]


@dataclass
class FitHistory:
    """Curves and outcome of one :meth:`~engine.models.base.Recommender.fit`.

    ``valid`` holds ``(epoch, value)`` of :attr:`metric` (``"ndcg@10"`` for ranking
    models, ``"rmse"`` for rating models; :attr:`higher_is_better` says which way is
    better); ``best_epoch`` is the epoch whose state the model kept.
    """

    loss: list[float] = field(default_factory=list)
    valid: list[tuple[int, float]] = field(default_factory=list)
    metric: str | None = None
    higher_is_better: bool = True
    best_epoch: int = 0
    best_valid: float | None = None
    epochs_run: int = 0
    stopped: Stopped = "closed-form"
    fit_seconds: float = 0.0
    seconds_per_epoch: float = 0.0
    info: dict[str, float] = field(default_factory=dict)

    @property
    def iterative(self) -> bool:
        """Whether the model trained in epochs (so ``best_epoch`` means something)."""
        return self.stopped != "closed-form"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["valid"] = [[int(e), float(v)] for e, v in self.valid]
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FitHistory:
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        known["valid"] = [(int(e), float(v)) for e, v in known.get("valid", [])]
        return cls(**known)
