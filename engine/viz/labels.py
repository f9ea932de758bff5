"""Text labels that do not overlap: a greedy placement around each point, in display space.

Each label, in priority order, tries offsets on growing rings around its point (8 directions
per ring) and takes the first whose box overlaps no label already placed and stays inside
the axes; a label with no free spot is left out (fewer labels rather than a pile). A thin
leader line joins a moved label to its point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

# Ring radii in typographic points, and the 8 directions tried on each ring (right first:
# labels read left to right from their point).
_RADII = (6.0, 14.0, 24.0, 36.0, 50.0)
_ANGLES = (0, 45, -45, 180, 135, -135, 90, -90)


def _overlaps(box: Any, placed: Sequence[Any], pad: float) -> bool:
    return any(box.x0 < b.x1 + pad and b.x0 < box.x1 + pad and box.y0 < b.y1 + pad and b.y0 < box.y1 + pad
               for b in placed)


def place_labels(ax: Any, xy: np.ndarray, texts: Sequence[str], *, fontsize: float = 7.0,
                 avoid: Sequence[Any] = (), pad: float = 2.0, **text_kw: Any) -> list[Any]:
    """Annotate ``texts[i]`` at ``xy[i]`` (data coordinates) without overlaps; the placed annotations.

    Call after the axes limits are final (scatter plotted). ``avoid``: display-space boxes
    (``matplotlib.transforms.Bbox``) labels must not cover, e.g. a legend's.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    placed: list[Any] = list(avoid)
    out = []
    points_to_px = fig.dpi / 72.0
    for (x, y), text in zip(np.asarray(xy, dtype=float), texts, strict=True):
        px, py = ax.transData.transform((x, y))
        if not (frame.x0 <= px <= frame.x1 and frame.y0 <= py <= frame.y1):
            continue
        for radius in _RADII:
            done = False
            for angle in _ANGLES:
                dx = radius * math.cos(math.radians(angle))
                dy = radius * math.sin(math.radians(angle))
                ha = "left" if dx > 1 else "right" if dx < -1 else "center"
                va = "bottom" if dy > 1 else "top" if dy < -1 else "center"
                ann = ax.annotate(
                    text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                    ha=ha, va=va, **text_kw,
                    arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.35", "shrinkA": 0, "shrinkB": 1}
                    if radius > _RADII[0] else None)
                box = ann.get_window_extent(renderer)
                inside = (frame.x0 <= box.x0 and box.x1 <= frame.x1
                          and frame.y0 <= box.y0 and box.y1 <= frame.y1)
                if inside and not _overlaps(box, placed, pad * points_to_px):
                    placed.append(box)
                    out.append(ann)
                    done = True
                    break
                ann.remove()
            if done:
                break
    return out


def boxes_overlap(annotations: Sequence[Any]) -> bool:
    """Whether any two placed annotations overlap (for tests)."""
    renderer = annotations[0].figure.canvas.get_renderer() if annotations else None
    boxes = [a.get_window_extent(renderer) for a in annotations]
    return any(_overlaps(b, boxes[:i], 0.0) for i, b in enumerate(boxes))
