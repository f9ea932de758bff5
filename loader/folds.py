"""ML-100K's canonical cross-validation folds (``u1.base``/``u1.test`` ... ``ub.test``).

``engine evaluate --split ml100k-u1 --u1 PATH`` holds out exactly the pairs of
``u1.test``; :func:`read_fold` reads any fold member from the release zip or folder.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from loader.dataset import LoadError, Reject
from loader.source import Source

FOLDS = tuple(f"u{i}.{part}" for i in "12345ab" for part in ("base", "test"))


def read_fold(path: str | Path, member: str = "u1.test") -> pd.DataFrame:
    """``userId, movieId, rating, timestamp`` rows of fold ``member`` (tab separated, no header)."""
    if member not in FOLDS:
        raise LoadError(Reject(str(path), 0, member, "unknown fold", f"one of {', '.join(FOLDS)}"))
    with Source(path) as source:
        if member not in source.files:
            raise LoadError(Reject(str(path), 0, "", f"no {member} in this release",
                                   "the ml-100k zip or folder (it holds u1.base ... ub.test)"))
        with source.open(member) as fh:
            raw = fh.read()
    try:
        frame = pd.read_csv(io.BytesIO(raw), sep="\t", header=None,
                            names=["userId", "movieId", "rating", "timestamp"],
                            dtype={"userId": np.int64, "movieId": np.int64, "rating": np.float64,
                                   "timestamp": np.int64})
    except (ValueError, pd.errors.ParserError) as exc:
        raise LoadError(Reject(f"{path}:{member}", 0, "", f"does not parse ({exc})",
                               "userId<TAB>movieId<TAB>rating<TAB>timestamp lines")) from exc
    return frame
