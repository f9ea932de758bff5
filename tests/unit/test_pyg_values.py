"""Issue 30 without a database: tensor <-> Neo4j property values, PyG's index kinds, and the
per-process driver handle of the Neo4j-backed PyG stores (pickling, fork detection)."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from engine.graphdb import pyg_worker
from engine.graphdb.pyg_values import Layout, StoreError, decode, encode, infer_layout, resolve_index
from engine.graphdb.pyg_worker import DriverHandle
from engine.settings import Neo4jSettings


@pytest.mark.parametrize("tensor", [
    torch.tensor([1_700_000_123, 964_982_703, -5, 2**40], dtype=torch.int64),  # epoch seconds, exact
    torch.tensor([[1, -2], [3, 4]], dtype=torch.int32),
    torch.tensor([True, False]), torch.tensor([[True], [False]]),
    torch.tensor([0.1, -2.5], dtype=torch.float32), torch.randn(3, 4),
    torch.randn(3, 2, 2), torch.randn(2, 3, dtype=torch.float64),
    torch.tensor([1e-300, 3.0], dtype=torch.float64),
    torch.randn(3, 2).to(torch.float16), torch.randn(3, 2).to(torch.bfloat16), torch.zeros(3, 0),
], ids=lambda t: f"{t.dtype}{list(t.shape)}")
def test_values_round_trip_with_dtype_and_shape(tensor: torch.Tensor) -> None:
    values, layout = encode(tensor, "p")
    assert len(values) == tensor.shape[0]
    back = decode(values, layout, "p")
    assert back.dtype == tensor.dtype and back.shape == tensor.shape and torch.equal(back, tensor)


def test_how_values_are_stored() -> None:
    ints, _ = encode(torch.tensor([2**40 + 1]), "p")
    assert ints == [2**40 + 1] and isinstance(ints[0], int)  # an INTEGER, not a float
    floats, _ = encode(torch.randn(2, 3), "p")
    assert isinstance(floats[0], bytes) and len(floats[0]) == 12  # float32 bytes, as trainFeatures
    doubles, _ = encode(torch.randn(2, 3, dtype=torch.float64), "p")
    assert isinstance(doubles[0], list) and isinstance(doubles[0][0], float)
    with pytest.raises(StoreError, match="complex"):
        encode(torch.zeros(2, dtype=torch.complex64), "p")


def test_a_reader_that_did_not_write_infers_the_layout() -> None:
    assert infer_layout(1_700_000_000, "p") == Layout(torch.int64, ())
    assert infer_layout(0.5, "p") == Layout(torch.float32, ())
    assert infer_layout(True, "p") == Layout(torch.bool, ())
    assert infer_layout([1, 2, 3], "p") == Layout(torch.int64, (3,))
    assert infer_layout([1.0, 2], "p") == Layout(torch.float32, (2,))
    assert infer_layout(b"\0" * 16, "p") == Layout(torch.float32, (4,))
    assert infer_layout([], "p") == Layout(torch.float32, (0,))
    for bad in ("text", b"\0" * 3, [[1]]):
        with pytest.raises(StoreError):
            infer_layout(bad, "p")
    layout = infer_layout(1_700_000_000, "p")
    assert torch.equal(decode([1_700_000_000, 1_700_000_061], layout, "p"),
                       torch.tensor([1_700_000_000, 1_700_000_061]))  # 1-D int64, not float32 [N, 1]


def test_ragged_or_mixed_values_are_one_line_errors() -> None:
    with pytest.raises(StoreError, match="lengths") as err:
        decode([b"\0" * 8, b"\0" * 4], Layout(torch.float32, (2,)), "p")
    assert "\n" not in str(err.value)
    with pytest.raises(StoreError):
        decode([[1, 2], [3]], Layout(torch.int64, (2,)), "p")
    with pytest.raises(StoreError):
        decode([[1, 2], [3, 4]], Layout(torch.int64, ()), "p")


def _pick(index: object, n: int = 10) -> tuple[list[int], tuple[int, ...]] | None:
    out = resolve_index(index, n, "nodes")
    return None if out is None else (out[0].tolist(), out[1])


def test_every_pyg_index_kind_selects_rows() -> None:
    mask = torch.zeros(10, dtype=torch.bool)
    mask[[1, 4]] = True
    assert _pick(None) is None and _pick(slice(None)) is None
    assert _pick(slice(2, 8, 3)) == ([2, 5], (2,))
    assert _pick(mask) == ([1, 4], (2,)) and _pick(mask.numpy()) == ([1, 4], (2,))
    assert _pick(3) == ([3], ()) and _pick(np.int64(3)) == ([3], ()) and _pick(torch.tensor(3)) == ([3], ())
    assert _pick(-1) == ([9], ())
    assert _pick(torch.tensor([5, 5, 0])) == ([5, 5, 0], (3,))
    assert _pick(np.array([[1, 2], [3, 4]])) == ([1, 2, 3, 4], (2, 2))
    assert _pick([7, 8]) == ([7, 8], (2,)) and _pick([]) == ([], (0,))
    assert _pick(torch.zeros(0, dtype=torch.long)) == ([], (0,))
    for bad in (10, -11, torch.tensor([0.5]), torch.zeros(3, dtype=torch.bool), True, "x", {1}):
        with pytest.raises(StoreError):
            resolve_index(bad, 10, "nodes")


def test_the_driver_handle_pickles_settings_only() -> None:
    settings = Neo4jSettings(uri="bolt://127.0.0.1:1", user="neo4j", password="secret")
    handle = DriverHandle(settings)
    handle._driver = object()  # type: ignore[assignment]  # a live driver must not travel
    back = pickle.loads(pickle.dumps(handle))
    assert back.settings == settings and back.database == "neo4j" and back._driver is None
    assert DriverHandle(settings, "movies").database == "movies"


def test_after_a_fork_the_parents_driver_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeDriver:
        closed = False

        def close(self) -> None:
            self.closed = True

    parent = FakeDriver()
    handle = DriverHandle(parent)  # type: ignore[arg-type]
    opened: list[Neo4jSettings] = []

    def fake_open(settings: Neo4jSettings) -> FakeDriver:
        opened.append(settings)
        return FakeDriver()

    monkeypatch.setattr(pyg_worker, "open_driver", fake_open)
    monkeypatch.setattr(pyg_worker, "load_dotenv_file", lambda: None)
    monkeypatch.setenv("NEO4J_URI", "bolt://example:7687")
    monkeypatch.setenv("NEO4J_PASSWORD", "from-env")
    assert handle.driver() is parent  # same process: the driver passed in
    handle._pid = os.getpid() + 1  # as if this were a forked child
    child = handle.driver()
    assert child is not parent and not parent.closed and parent in pyg_worker._INHERITED
    assert opened[0].uri == "bolt://example:7687" and opened[0].password == "from-env"
    handle.close()
    assert child.closed and not parent.closed  # the handle closes only what it opened
    pyg_worker._INHERITED.remove(parent)
