"""matplotlib on the non-interactive Agg backend (no display needed), imported lazily.

Every picture draws text from the data (titles, genres, tags): mathtext and TeX are off, so
a ``$`` is a dollar sign and a title like ``$\\badcmd$`` is drawn as written, never parsed.
"""

from __future__ import annotations

from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` with the Agg backend selected and text drawn literally (:data:`PLAIN_TEXT`)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({"text.parse_math": False, "text.usetex": False})
    import matplotlib.pyplot as plt

    return plt


#: Keyword arguments for a text artist drawn from data: no mathtext, no TeX (``$`` is literal).
PLAIN_TEXT: dict[str, Any] = {"parse_math": False, "usetex": False}


def save(fig: Any, path: Any, dpi: int = 110) -> None:
    """Save and close a figure."""
    plt = pyplot()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def genre_colours(names: list[str]) -> dict[str, Any]:
    """A stable colour per name (tab20, then tab20b), grey for 'other'/'(none)'."""
    plt = pyplot()
    palette = list(plt.get_cmap("tab20").colors) + list(plt.get_cmap("tab20b").colors)
    out: dict[str, Any] = {}
    for i, name in enumerate(sorted(n for n in names if n not in ("other", "(none)"))):
        out[name] = palette[i % len(palette)]
    out["other"] = (0.75, 0.75, 0.75)
    out["(none)"] = (0.55, 0.55, 0.55)
    return out
