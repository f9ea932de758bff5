"""The one fit loop of every iterative model, and its frozen training settings.

:func:`fit_loop` runs epochs of an optimiser over a module, with

* **early stopping**: every ``eval_every`` epochs (and at the last one) ``evaluate()``
  measures the model on the validation split; the best state is kept in memory and
  restored at the end; the run stops after ``patience`` evaluations without improvement;
* **an LR schedule**: the learning rate is multiplied by ``lr_decay`` after each epoch
  (``1.0``: constant);
* **a time budget**: the run stops after the epoch during which ``time_budget_s`` ran out;
* **curves**: per-epoch mean loss and every validation value, in a :class:`FitHistory`.

What an epoch does is the model's business (BPR over sampled negatives, MSE over rating
rows, reconstruction of item vectors): it passes ``run_epoch(optimiser) -> mean loss``.
The chosen epoch is returned as ``best_epoch`` so that a refit on train+valid can run
exactly that many epochs.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
from torch import nn

from engine.errors import ParameterError
from engine.models.history import FitHistory
from engine.models.params import check_float, check_int

__all__ = ["TrainSettings", "fit_loop"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """How an iterative model trains (every field is a ``--param`` of ``engine train``).

    Args:
        epochs: at most this many passes over the training data.
        batch_size: rows (interactions, ratings or items) per optimiser step.
        lr: AdamW learning rate; weight_decay: its decoupled weight decay (0 = Adam).
        lr_decay: per-epoch multiplicative learning-rate decay (1 = constant).
        seed: seeds torch and every sampler of the fit.
        eval_every: validate every this many epochs; patience: stop after this many
            validations without improvement.
        time_budget_s: stop after the epoch during which this many seconds have passed.
        device: ``"cpu"`` or ``"cuda"``.
    """

    epochs: int = 100
    batch_size: int = 4096
    lr: float = 5e-3
    weight_decay: float = 0.0
    lr_decay: float = 1.0
    seed: int = 0
    eval_every: int = 5
    patience: int = 4
    time_budget_s: float | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise types in place once
        set_(self, "epochs", check_int("epochs", self.epochs, 1))
        set_(self, "batch_size", check_int("batch_size", self.batch_size, 1))
        set_(self, "lr", check_float("lr", self.lr, 0.0, lo_open=True))
        set_(self, "weight_decay", check_float("weight_decay", self.weight_decay, 0.0))
        set_(self, "lr_decay", check_float("lr_decay", self.lr_decay, 0.0, 1.0, lo_open=True))
        set_(self, "seed", check_int("seed", self.seed, 0))
        set_(self, "eval_every", check_int("eval_every", self.eval_every, 1))
        set_(self, "patience", check_int("patience", self.patience, 1))
        if self.time_budget_s is not None:
            set_(self, "time_budget_s", check_float("time_budget_s", self.time_budget_s, 0.0,
                                                    lo_open=True))
        device = str(self.device)
        if not re.fullmatch(r"cpu|cuda(:\d+)?", device):
            raise ParameterError(f"parameter device={device!r} must be cpu, cuda or cuda:N")
        set_(self, "device", device)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def updated(self, **changes: Any) -> TrainSettings:
        """A copy with ``changes``; an unknown name is a :class:`ParameterError`."""
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise ParameterError(f"unknown training parameter(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(self.names())}")
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_loop(
    module: nn.Module,
    run_epoch: Callable[[torch.optim.Optimizer], float],
    settings: TrainSettings,
    *,
    evaluate: Callable[[], float] | None = None,
    metric: str = "ndcg@10",
    higher_is_better: bool = True,
    optimiser: torch.optim.Optimizer | None = None,
) -> FitHistory:
    """Train ``module`` with AdamW for ``settings.epochs`` epochs of ``run_epoch``.

    Without ``evaluate`` the final state is kept and ``best_epoch == epochs_run``.
    ``optimiser`` replaces AdamW (e.g. full-batch L-BFGS, whose ``run_epoch`` calls
    ``optimiser.step(closure)``).
    """
    torch.manual_seed(settings.seed)
    if optimiser is None:
        optimiser = torch.optim.AdamW(module.parameters(), lr=settings.lr,
                                      weight_decay=settings.weight_decay)
    schedule = (torch.optim.lr_scheduler.ExponentialLR(optimiser, gamma=settings.lr_decay)
                if settings.lr_decay != 1.0 else None)
    history = FitHistory(metric=metric if evaluate is not None else None,
                         higher_is_better=higher_is_better, stopped="epochs")
    best_state: dict[str, Any] | None = None
    bad_evals, epoch = 0, 0
    t0 = time.perf_counter()
    train_seconds = 0.0
    for epoch in range(1, settings.epochs + 1):
        te = time.perf_counter()
        module.train(True)
        history.loss.append(float(run_epoch(optimiser)))
        if schedule is not None:
            schedule.step()
        train_seconds += time.perf_counter() - te
        over_budget = (settings.time_budget_s is not None
                       and time.perf_counter() - t0 > settings.time_budget_s)
        if evaluate is not None and (epoch % settings.eval_every == 0 or epoch == settings.epochs
                                     or over_budget):
            module.train(False)
            with torch.no_grad():
                value = float(evaluate())
            history.valid.append((epoch, value))
            log.info("epoch %d loss %.4f valid %s %.4f", epoch, history.loss[-1], metric, value)
            best = history.best_valid
            if best is None or (value > best if higher_is_better else value < best):
                history.best_valid, history.best_epoch = value, epoch
                best_state = copy.deepcopy(module.state_dict())
                bad_evals = 0
            else:
                bad_evals += 1
                if bad_evals >= settings.patience:
                    history.stopped = "patience"
                    break
        if over_budget:
            history.stopped = "budget"
            break
    if evaluate is not None and best_state is not None:
        module.load_state_dict(best_state)
    else:
        history.best_epoch = epoch
    module.train(False)
    history.epochs_run = epoch
    history.fit_seconds = time.perf_counter() - t0
    history.seconds_per_epoch = train_seconds / max(epoch, 1)
    return history
