"""Temporal graph filter: what a user rates next, from the item graph and the rating order.

Two closed-form filters over the train graph, applied to time-aware user signals and mixed:

1. **Taste**: the graph filter ``H`` of :class:`~engine.models.graph_filter.GraphFilterCF`
   (rational low-pass of the time-weighted co-occurrence graph + ideal low-pass of the
   normalised bipartite graph), applied to the user's **recency profile**
   ``p_u = 0.5 ** (back / h) + c`` instead of the binary row (:mod:`engine.models.sequence`);
2. **Sequence**: the directed transition filter ``T`` (SLIT-style next-items regression on
   every user's rating sequence), applied to the user's latest ratings ``z_u``.

Each part is standardised per user (mean 0, std 1 over the catalogue) and mixed::

    score(u) = std(p_u H) + α · std(z_u T)                                [n, I]

``α = 0`` and ``h = inf`` give :class:`GraphFilterCF` exactly (protocol P1, random
holdout, selects that on validation); on temporal holdouts (each user's latest ratings)
validation picks a short half-life and α > 0. All hyper-parameters are chosen on a
validation carve of train made by the same rule as the test split.

Explanations: the recent rating ``j`` that contributes most to item ``i``
(``argmax_j z_uj T_ji``) is the "because you recently rated j" of a recommendation
(:meth:`reasons`), written back on the ``RECOMMENDED`` edge.

Dense ``[I, I]`` operators (two of them): for catalogues up to
:data:`~engine.models.graph_filter.MAX_ITEMS` items.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from engine.data.interactions import Interactions
from engine.models.graph_filter import GraphFilterCF
from engine.models.history import FitHistory
from engine.models.params import check_float, check_int
from engine.models.sequence import frequent_items, latest_context, recency_profile, transition_filter

__all__ = ["TemporalGraphFilter", "standardise"]

log = logging.getLogger(__name__)

Measure = Callable[[Callable[[np.ndarray], np.ndarray]], dict[str, float]]


def standardise(scores: np.ndarray) -> np.ndarray:
    """Each row to mean 0 and standard deviation 1 (a constant row becomes 0), float32."""
    s = np.asarray(scores, dtype=np.float32)
    mean = s.mean(axis=1, keepdims=True)
    sd = s.std(axis=1, keepdims=True)
    return (s - mean) / np.where(sd > 0, sd, 1.0)


def sequence_part(context: sp.csr_matrix, transition: np.ndarray, seq_items: np.ndarray,
                  num_items: int) -> np.ndarray:
    """``std(z T)`` over the whole catalogue -> float32 ``[n, I]``.

    ``context`` ``[n, S]`` is the users' context on the covered items, ``transition``
    ``[S, S]``; uncovered items score 0 before standardising.
    """
    out = np.zeros((context.shape[0], num_items), dtype=np.float32)
    if len(seq_items):
        out[:, seq_items] = context @ transition
    return standardise(out)


def _rows_of(
    scores: np.ndarray, rows: Callable[[np.ndarray], np.ndarray]
) -> Callable[[np.ndarray], np.ndarray]:
    """A scorer over users drawn from precomputed ``scores`` (one row per tuned user)."""
    return lambda users: scores[rows(users)]


def _csr_state(prefix: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {f"{prefix}_indptr": m.indptr.astype(np.int64), f"{prefix}_indices": m.indices.astype(np.int64),
            f"{prefix}_data": m.data.astype(np.float32)}


def _csr_load(prefix: str, state: Mapping[str, np.ndarray], shape: tuple[int, int]) -> sp.csr_matrix:
    return sp.csr_matrix((state[f"{prefix}_data"], state[f"{prefix}_indices"], state[f"{prefix}_indptr"]),
                         shape=shape)


class TemporalGraphFilter(GraphFilterCF):
    """Graph filter on recency profiles + a transition filter of the rating order (see module doc).

    Args (besides :class:`GraphFilterCF`'s):
        recency: half-life ``h`` of the profile in ratings (``inf``: no recency weighting).
        recency_floor: ``c``, the weight every rating keeps however old.
        seq_weight: ``α``, weight of the transition part (0 disables it).
        seq_reg: λ of the transition regression.
        seq_half_life: half-life (ratings) of the context weights.
        seq_window: ratings of context before each position.
        seq_horizon: next ratings each position predicts (1: the next one only).
        seq_decay: weight ``decay ** d`` of the d-th next rating.
        seq_min_ratings: the transition filter covers the items with at least this many
            train ratings (its cost is cubic in them; rarer items get taste scores only).
    """

    name: ClassVar[str] = "temporal_filter"

    def __init__(self, reg: float = 800.0, time_weight: float = 4.0, time_scale: float = 600.0,
                 rank: int = 32, lowpass_weight: float = 0.25, degree_exp: float = 0.5,
                 recency: float = 3.0, recency_floor: float = 0.1, seq_weight: float = 0.5,
                 seq_reg: float = 1000.0, seq_half_life: float = 8.0, seq_window: int = 32,
                 seq_horizon: int = 10, seq_decay: float = 0.9, seq_min_ratings: int = 3,
                 scale_sample: int = 2048, seed: int = 0) -> None:
        super().__init__(reg=reg, time_weight=time_weight, time_scale=time_scale, rank=rank,
                         lowpass_weight=lowpass_weight, degree_exp=degree_exp,
                         scale_sample=scale_sample, seed=seed)
        self.recency = check_float("recency", recency, 0.0, lo_open=True, allow_inf=True)
        self.recency_floor = check_float("recency_floor", recency_floor, 0.0)
        self.seq_weight = check_float("seq_weight", seq_weight, 0.0)
        self.seq_reg = check_float("seq_reg", seq_reg, 0.0, lo_open=True)
        self.seq_half_life = check_float("seq_half_life", seq_half_life, 0.0, lo_open=True)
        self.seq_window = check_int("seq_window", seq_window, 1, 1000)
        self.seq_horizon = check_int("seq_horizon", seq_horizon, 1, 1000)
        self.seq_decay = check_float("seq_decay", seq_decay, 0.0, 1.0, lo_open=True)
        self.seq_min_ratings = check_int("seq_min_ratings", seq_min_ratings, 1)
        self.seq_items = np.zeros(0, dtype=np.int64)  # items the transition filter covers [S]
        self.transition = np.zeros((0, 0), dtype=np.float32)  # T [S, S]
        self.profile = sp.csr_matrix((0, 0), dtype=np.float32)  # p [U, I]
        self.context = sp.csr_matrix((0, 0), dtype=np.float32)  # z [U, I]

    # ------------------------------------------------------------------ fitting
    def _fit(self, train: Interactions, valid: Interactions | None, graph: object) -> FitHistory:
        history = self._fit_taste(train, valid, graph)
        t0 = time.perf_counter()
        self.profile = recency_profile(train, self.recency, self.recency_floor)
        self.context = latest_context(train, self.seq_half_life, self.seq_window)
        self.seq_items = self.sequence_items(train)
        if self.seq_weight > 0 and len(self.seq_items):
            self.transition = self.fit_transition(train, self.seq_items, self.seq_reg, self.seq_horizon)
        else:
            self.seq_items = np.zeros(0, dtype=np.int64)
            self.transition = np.zeros((0, 0), dtype=np.float32)
        history.fit_seconds += time.perf_counter() - t0
        history.info["sequence_seconds"] = time.perf_counter() - t0
        return history

    def _fit_taste(self, train: Interactions, valid: Interactions | None, graph: object) -> FitHistory:
        """The taste filter ``H`` (here the dense :class:`GraphFilterCF`)."""
        return super()._fit(train, valid, graph)

    def sequence_items(self, train: Interactions) -> np.ndarray:
        """Items the transition filter covers (those with ``seq_min_ratings`` ratings)."""
        return frequent_items(train, self.seq_min_ratings)

    def fit_transition(self, train: Interactions, items: np.ndarray, reg: float, horizon: int) -> np.ndarray:
        """The transition filter ``T`` over ``items`` with λ ``reg`` and ``horizon``."""
        return transition_filter(train, reg=reg, half_life=self.seq_half_life, window=self.seq_window,
                                 horizon=horizon, decay=self.seq_decay, items=items)

    def _fold_users(self, history: Interactions) -> None:
        """New users' recency profiles and contexts from their whole history (filters unchanged)."""
        self.profile = recency_profile(history, self.recency, self.recency_floor)
        self.context = latest_context(history, self.seq_half_life, self.seq_window)

    # ------------------------------------------------------------------ inference
    def taste_scores(self, users: np.ndarray) -> np.ndarray:
        """``std(p_u H)`` for ``users`` -> float32 ``[n, I]``."""
        return standardise(self.profile[np.asarray(users, dtype=np.int64)] @ self.filter)

    def sequence_scores(self, users: np.ndarray) -> np.ndarray:
        """``std(z_u T)`` for ``users`` (zeros when the transition part is off)."""
        users = np.asarray(users, dtype=np.int64)
        return sequence_part(self.context[users][:, self.seq_items], self.transition, self.seq_items,
                             self.num_items)

    def score(self, users: np.ndarray) -> np.ndarray:
        """``std(p_u H) + α std(z_u T)`` -> float32 ``[n, I]``."""
        out = self.taste_scores(users)
        if self.seq_weight > 0:
            out += np.float32(self.seq_weight) * self.sequence_scores(users)
        return out

    def reasons(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """For each ``(users[r], items[r, k])``: the recent item (index) that leads to it most.

        ``argmax_j z_uj T_ji`` over the user's context; ``-1`` when the transition part is
        off or no recent rating contributes positively. ``items`` is ``[n, K]``.
        """
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        out = np.full(items.shape, -1, dtype=np.int64)
        if len(self.seq_items) == 0 or self.seq_weight == 0:
            return out
        where = np.full(self.num_items, -1, dtype=np.int64)  # item -> row of T
        where[self.seq_items] = np.arange(len(self.seq_items))
        ctx = self.context
        for r, u in enumerate(users.tolist()):
            lo, hi = ctx.indptr[u], ctx.indptr[u + 1]
            rows = where[ctx.indices[lo:hi]]
            keep = rows >= 0
            cols = where[items[r]]
            if not keep.any():
                continue
            recent, weight = ctx.indices[lo:hi][keep], ctx.data[lo:hi][keep]
            contrib = weight[:, None] * self.transition[np.ix_(rows[keep], np.maximum(cols, 0))]
            best = contrib.argmax(axis=0)
            ok = (contrib[best, np.arange(items.shape[1])] > 0) & (cols >= 0)
            out[r] = np.where(ok, recent[best], -1)
        return out

    # ------------------------------------------------------------------ selection
    @classmethod
    def tune(cls, base: dict[str, Any], grid: dict[str, list[Any]], train: Interactions,
             valid: Interactions, measure: Measure) -> list[dict[str, Any]]:
        """``[{"params", "summary"}]`` of every grid point on ``valid``, fitting each filter once.

        The grid is a product over taste (``reg``, ``recency``), sequence (``seq_reg``,
        ``seq_horizon``) and mix (``seq_weight``) values: the taste filter is fitted once per
        ``reg``, the transition filter once per (``seq_reg``, ``seq_horizon``), and their
        standardised scores of the validation users are mixed per point. ``measure(score_fn)``
        returns the validation metrics of a score function over those users.
        """
        keys = ("reg", "recency", "seq_reg", "seq_horizon", "seq_weight")
        default = cls().get_params()
        values = {k: [base[k]] if k in base else list(grid.get(k, [default[k]])) for k in keys}
        users = np.unique(valid.user)

        def rows(us: np.ndarray) -> np.ndarray:
            return np.searchsorted(users, us)

        probe = cls.create({**base, "seq_weight": 0.0})
        seq_items = probe.sequence_items(train)
        context = latest_context(train, probe.seq_half_life, probe.seq_window)[users][:, seq_items]
        sequence = {}
        if any(a > 0 for a in values["seq_weight"]) and len(seq_items):
            for seq_reg, horizon in itertools.product(values["seq_reg"], values["seq_horizon"]):
                t = probe.fit_transition(train, seq_items, seq_reg, horizon)
                sequence[(seq_reg, horizon)] = sequence_part(context, t, seq_items, train.num_items)
        profiles = {recency: recency_profile(train, recency, probe.recency_floor)
                    for recency in values["recency"]}
        trials: list[dict[str, Any]] = []
        per_taste = sum(1 if a == 0 else len(sequence) for a in values["seq_weight"])
        bar = tqdm(total=len(values["reg"]) * len(values["recency"]) * per_taste,
                   desc=f"tune {cls.name} ({len(users):,} users)", unit="point", leave=False,
                   disable=None)  # shown on a terminal only
        for reg in values["reg"]:
            model = cls.create({**base, "reg": reg, "seq_weight": 0.0})
            model.fit(train)
            for recency in values["recency"]:
                model.profile = profiles[recency]
                taste = model.taste_scores(users)
                point = {**base, "reg": reg, "recency": recency}
                for alpha in values["seq_weight"]:
                    configs = [(None, None)] if alpha == 0 else list(sequence)
                    for config in configs:
                        mixed = taste if config[0] is None else taste + np.float32(alpha) * sequence[config]
                        summary = measure(_rows_of(mixed, rows))
                        params = {**point, "seq_weight": alpha}
                        if config[0] is not None:
                            params.update(seq_reg=config[0], seq_horizon=config[1])
                        trials.append({"params": params, "summary": summary})
                        bar.update()
        bar.close()
        return trials

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, np.ndarray]:
        return {**super()._state(), "transition": self.transition, "seq_items": self.seq_items,
                **_csr_state("profile", self.profile), **_csr_state("context", self.context)}

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:
        super()._load_state(state)
        self.transition = np.ascontiguousarray(state["transition"], dtype=np.float32)  # no copy per fold-in
        self.seq_items = state["seq_items"].astype(np.int64)
        shape = (self.num_users, self.num_items)
        self.profile = _csr_load("profile", state, shape)
        self.context = _csr_load("context", state, shape)
