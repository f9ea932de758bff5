"""matplotlib on the non-interactive Agg backend (no display needed), imported lazily."""

from __future__ import annotations

from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` with the Agg backend selected."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
