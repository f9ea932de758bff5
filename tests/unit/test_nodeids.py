"""MovieLens id -> internal node id lookups used by the loader and the write-back."""

from __future__ import annotations

import numpy as np
import pytest

from engine.graphdb.nodeids import MISSING, NodeIds, UnknownNodeError

ROWS = [
    {"label": "User", "key": 7, "id": 70}, {"label": "User", "key": 3, "id": 30},
    {"label": "Movie", "key": 3, "id": 300}, {"label": "Movie", "key": 1, "id": 100},
]


def test_lookup_by_label_keeps_id_spaces_apart() -> None:
    ids = NodeIds.from_rows(ROWS)
    assert ids.users(np.array([3, 7, 3])).tolist() == [30, 70, 30]
    assert ids.movies(np.array([1, 3])).tolist() == [100, 300]


def test_unknown_ids_raise_or_are_marked() -> None:
    ids = NodeIds.from_rows(ROWS)
    with pytest.raises(UnknownNodeError, match="1 user id"):
        ids.users(np.array([3, 8]))
    assert ids.users(np.array([3, 8, 99]), strict=False).tolist() == [30, MISSING, MISSING]
    assert ids.movies(np.array([[1, 2], [3, 0]]), strict=False).tolist() == [[100, MISSING], [300, MISSING]]


def test_empty_graph() -> None:
    ids = NodeIds.from_rows([])
    assert ids.users(np.array([1]), strict=False).tolist() == [MISSING]
    with pytest.raises(UnknownNodeError):
        ids.movies(np.array([1]))
