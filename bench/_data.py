"""Benchmark-only data access: MovieLens-100K read straight from the GroupLens zip.

The engine itself gets its interactions from Neo4j (engine.export); the benchmark reads
the zip directly so it measures the models, not the database, and runs without a server.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data import IdMap, Interactions
from engine.data.selection import Export, Selection

_DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens" / "ml-100k.zip"
ML100K_ZIP = Path(os.environ.get("REELGRAPH_ML100K_ZIP", str(_DEFAULT)))


def _read_member(zip_path: Path, member: str) -> pd.DataFrame:
    with zipfile.ZipFile(zip_path) as zf, zf.open(f"ml-100k/{member}") as fh:
        return pd.read_csv(
            io.BytesIO(fh.read()),
            sep="\t",
            header=None,
            names=["user", "item", "rating", "ts"],
            dtype={"user": np.int64, "item": np.int64, "rating": np.float32, "ts": np.int64},
        )


def _to_interactions(df: pd.DataFrame, idmap: IdMap, source: str) -> Interactions:
    return Interactions(
        user=idmap.user_index(df["user"].to_numpy()),
        item=idmap.movie_index(df["item"].to_numpy()),
        rating=df["rating"].to_numpy(np.float32),
        timestamp=df["ts"].to_numpy(np.int64),
        num_users=idmap.num_users,
        num_items=idmap.num_movies,
        meta={"source": source},
    )


def load_ml100k(zip_path: Path = ML100K_ZIP) -> tuple[IdMap, Interactions]:
    """All 100,000 ratings of ``u.data`` (raw ids mapped to contiguous indices)."""
    df = _read_member(zip_path, "u.data")
    idmap = IdMap.from_raw(df["user"].to_numpy(), df["item"].to_numpy())
    return idmap, _to_interactions(df, idmap, "ml-100k/u.data")


def load_ml100k_fold(
    fold: str = "u1", zip_path: Path = ML100K_ZIP
) -> tuple[IdMap, Interactions, Interactions]:
    """The canonical ``{fold}.base`` / ``{fold}.test`` pair, indexed by the u.data id map."""
    idmap, _ = load_ml100k(zip_path)
    base = _to_interactions(_read_member(zip_path, f"{fold}.base"), idmap, f"{fold}.base")
    test = _to_interactions(_read_member(zip_path, f"{fold}.test"), idmap, f"{fold}.test")
    return idmap, base, test


def export_of(release: str) -> Export:
    """The whole release as an :class:`~engine.data.selection.Export` (what ``engine train``
    would export after ``engine load``): ``"ml-100k"`` from ../shared, ``"ml-latest-small"``
    bundled. Read straight from the files, no database."""
    from loader import bundled_dataset, read_movielens

    return export_from(read_movielens(ML100K_ZIP if release == "ml-100k" else bundled_dataset()),
                       release)


def export_from(data, source: str) -> Export:  # type: ignore[no-untyped-def]
    """A ``MovieLensData`` (a release read from disk, or SYNTHETIC) as an Export, no database."""
    r = data.ratings
    idmap = IdMap.from_raw(r["userId"].to_numpy(), r["movieId"].to_numpy())
    inter = Interactions(
        user=idmap.user_index(r["userId"].to_numpy()), item=idmap.movie_index(r["movieId"].to_numpy()),
        rating=r["rating"].to_numpy(np.float32), timestamp=r["timestamp"].to_numpy(np.int64),
        num_users=idmap.num_users, num_items=idmap.num_movies, meta={"source": source},
    )
    movies = data.movies.set_index("movieId").reindex(idmap.movies).reset_index()
    movies = movies[["movieId", "title", "year", "genres"]]
    movies["genres"] = [g if isinstance(g, list) else [] for g in movies["genres"]]
    users = data.users.set_index("userId").reindex(idmap.users).reset_index()
    users = users[["userId", "gender", "age", "occupation"]]
    return Export(idmap, inter, movies, users, Selection())
