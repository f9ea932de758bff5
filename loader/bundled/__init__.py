"""The bundled MovieLens ml-latest-small release (package data; see README.md here)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

NAME = "ml-latest-small"


def bundled_dataset() -> Path:
    """Path of the bundled ``ml-latest-small.zip`` (shipped in the wheel as package data)."""
    return Path(str(resources.files("loader.bundled").joinpath(f"{NAME}.zip")))
