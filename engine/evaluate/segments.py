"""The one definition of user activity segments, used by metrics, Cypher and plots.

A user's segment depends on their number of ratings ``n`` and two thresholds
``(low, power)``::

    very-low   n <  low              (default: fewer than 20 ratings)
    normal     low <= n < power
    power      n >= power            (default: 200 ratings or more)

``engine evaluate`` counts train ratings, the ``cypher/recommend/by_segment`` and
``cypher/viz/genre_by_segment`` statements count RATED edges with the same rule (their
``$lowThreshold`` / ``$powerThreshold`` parameters come from :meth:`Thresholds.cypher_params`),
and ``engine viz`` draws the same segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from engine.errors import InputError

Segment = Literal["very-low", "normal", "power"]
SEGMENTS: Final[tuple[Segment, Segment, Segment]] = ("very-low", "normal", "power")


@dataclass(frozen=True)
class Thresholds:
    """``low``: fewer ratings are very-low; ``power``: at least this many are power."""

    low: int = 20
    power: int = 200

    def __post_init__(self) -> None:
        if not 0 < self.low < self.power:
            raise InputError(f"segment thresholds need 0 < low < power, got {self.low}:{self.power}")

    @classmethod
    def parse(cls, text: str) -> Thresholds:
        """``"20:200"`` -> ``Thresholds(20, 200)`` (``InputError`` naming the expected form)."""
        lo, sep, hi = text.partition(":")
        try:
            return cls(int(lo), int(hi)) if sep else cls(int(lo))
        except ValueError as exc:
            raise InputError(f"segments {text!r}: expected LOW:POWER, e.g. 20:200") from exc

    def label(self, segment: Segment) -> str:
        """Human label with the rule, e.g. ``"very-low (<20)"``."""
        return {"very-low": f"very-low (<{self.low})", "normal": f"normal ({self.low}-{self.power - 1})",
                "power": f"power (≥{self.power})"}[segment]

    def cypher_params(self) -> dict[str, int]:
        """The ``$lowThreshold`` / ``$powerThreshold`` parameters of the segment statements."""
        return {"lowThreshold": self.low, "powerThreshold": self.power}


THRESHOLDS: Final = Thresholds()


def segment_users(counts: Sequence[int] | np.ndarray, thresholds: Thresholds = THRESHOLDS) -> np.ndarray:
    """Segment name of each user from their rating counts (object array of str)."""
    c = np.asarray(counts)
    labels = np.full(c.shape, SEGMENTS[1], dtype=object)
    labels[c < thresholds.low] = SEGMENTS[0]
    labels[c >= thresholds.power] = SEGMENTS[2]
    return labels
