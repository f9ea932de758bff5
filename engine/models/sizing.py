"""Which model the engine trains by default, and whether a fit fits in memory (pure).

**The size rule.** ``engine train`` without ``--model`` trains
:class:`~engine.models.temporal.TemporalGraphFilter` (``temporal_filter``) on catalogues of
up to :data:`DENSE_MAX_ITEMS` movies and
:class:`~engine.models.scalable.ScalableTemporalFilter` (``scalable_filter``) above. The
dense filter holds several ``[I, I]`` float32 matrices during its fit (Gram, time-decayed
co-occurrence, inverse, filter, transition) and its fit grows as ``I³``; the scalable one
keeps only a ``head_items²`` block and ``I x rank`` factors. ``bench/scale.py --size-rule``
measures both side by side (fit time and peak memory by catalogue size); forced onto
ML-100K and ml-latest-small the scalable model keeps >= 0.97x the dense one's NDCG@10
(``bench/scale.py --quality``).

**Memory.** :func:`estimate_fit_bytes` is a coarse upper estimate of a fit's peak from the
graph's shape, so a run that would exhaust the machine stops with one clear line
(:class:`MemoryBudgetError`) before the stage starts, not minutes later in the kernel's
OOM killer.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import ReelGraphError

__all__ = ["DENSE_MAX_ITEMS", "MemoryBudgetError", "available_bytes", "check_memory",
           "default_model_for", "estimate_fit_bytes", "size_rule"]

#: Largest catalogue on which the dense ``temporal_filter`` is the default.
DENSE_MAX_ITEMS = 10_000
DENSE = "temporal_filter"
SCALABLE = "scalable_filter"
_DENSE_MODELS = {"ease": 3, "graph_filter": 6, "temporal_filter": 8}  # [I, I] float32 matrices held


class MemoryBudgetError(ReelGraphError):
    """A stage would need more memory than the machine has available."""


def default_model_for(num_items: int) -> str:
    """The default model's name for a catalogue of ``num_items`` movies."""
    return DENSE if num_items <= DENSE_MAX_ITEMS else SCALABLE


def size_rule() -> str:
    """The rule in one line (for ``engine models`` and ``engine train --help``)."""
    return (f"default: {DENSE} up to {DENSE_MAX_ITEMS:,} movies (dense [I, I] filters), "
            f"{SCALABLE} above (dense head + low-rank factors, no [I, I] matrix)")


def estimate_fit_bytes(name: str, num_users: int, num_items: int, nnz: int,
                       head_items: int = 3000, rank: int = 64) -> int:
    """Coarse peak bytes of fitting ``name`` on a graph of that shape (train + scoring)."""
    edges = 120 * nnz  # interactions, CSR copies, profiles, sorted sequences (measured ~100 B/edge)
    scoring = 4 * 4 * 1024 * num_items  # a 1024-user score block and its working copies
    if name in _DENSE_MODELS:
        return edges + scoring + _DENSE_MODELS[name] * 4 * num_items**2
    if name == SCALABLE:
        h = min(head_items, num_items)
        return edges + scoring + 8 * 4 * h * h + 6 * 4 * (num_users + num_items) * (rank + 16)
    return edges + scoring + 16 * 4 * (num_users + num_items) * 64  # factor / GNN models


def available_bytes() -> int | None:
    """``MemAvailable`` of this machine (Linux), or ``None`` where it cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(name: str, num_users: int, num_items: int, nnz: int,
                 available: int | None = None) -> int:
    """The estimate, or :class:`MemoryBudgetError` if it exceeds ``available`` (default: now)."""
    need = estimate_fit_bytes(name, num_users, num_items, nnz)
    have = available_bytes() if available is None else available
    if have is not None and need > have:
        hint = (f"; use --model {SCALABLE}" if name in _DENSE_MODELS and num_items > DENSE_MAX_ITEMS
                else "; select fewer users (--sample-users) or free memory")
        raise MemoryBudgetError(
            f"{name} on {num_users:,} users x {num_items:,} movies ({nnz:,} ratings) needs about "
            f"{need / 2**30:.1f} GiB, but only {have / 2**30:.1f} GiB is available{hint}")
    return need
