"""Tensors <-> Neo4j node property values, and PyG's index kinds, for the PyG feature store.

A node-level tensor ``[N, *shape]`` is stored one row per node, as one node property:

=====================  =========================================  ===========================
tensor dtype           per-node value, 1-D tensor (``shape == ()``)  per-node value, ``[N, F...]``
=====================  =========================================  ===========================
bool                   BOOLEAN                                    LIST<BOOLEAN>
any integer dtype      INTEGER (int64: epoch seconds stay exact)  LIST<INTEGER>
float32, float16, bf16 FLOAT                                      float32 little-endian BYTES
float64                FLOAT                                      LIST<FLOAT>
=====================  =========================================  ===========================

Rows of more than two dimensions are stored flat. :class:`Layout` (dtype and per-node
shape) is what a store remembers of what it wrote; a store that did not write the
property infers it from a value (:func:`infer_layout`): INTEGER -> int64 ``[N]``, FLOAT ->
float32 ``[N]``, BOOLEAN -> bool ``[N]``, a list -> ``[N, F]`` of its element type (floats
as float32), BYTES -> float32 ``[N, F]`` (the engine's ``trainFeatures``).

:func:`resolve_index` turns every index kind PyG's ``FeatureStore`` accepts (``None``, a
slice, an int, a bool mask, an integer tensor, numpy array or list) into node positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import TensorAttr as PygTensorAttr
from torch_geometric.data.feature_store import _FieldStatus

from engine.errors import ReelGraphError

__all__ = ["Layout", "StoreError", "TensorAttr", "as_ours", "decode", "encode", "infer_layout",
           "resolve_index"]


class StoreError(ReelGraphError, KeyError):
    """What the PyG stores cannot serve (one line; a ``KeyError``, as PyG's ``FeatureStore`` expects).

    No such edge type, node type or attribute, or a value or index they cannot use.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


_HALF = (torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class Layout:
    """How one attribute is stored: the tensor dtype and the shape of one node's row."""

    dtype: torch.dtype
    shape: tuple[int, ...]

    @property
    def width(self) -> int:
        """Values per node (1 for a 1-D tensor)."""
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    def empty(self, lead: tuple[int, ...] = (0,)) -> Tensor:
        """A tensor of this layout with ``lead`` leading dimensions (``(0,)``: no rows)."""
        return torch.zeros((*lead, *self.shape), dtype=self.dtype)


def _kind(dtype: torch.dtype) -> str:
    if dtype == torch.bool:
        return "bool"
    if dtype == torch.float64:
        return "f64"
    if dtype == torch.float32 or dtype in _HALF:
        return "f32"
    if not dtype.is_floating_point and not dtype.is_complex:
        return "int"
    raise StoreError(f"tensors of dtype {dtype} cannot be stored as node properties "
                      "(use a bool, integer or float dtype)")


def encode(x: Tensor, prop: str) -> tuple[list[Any], Layout]:
    """One property value per row of ``x`` (``[n, *shape]``) and the layout to read them back."""
    layout = Layout(x.dtype, tuple(int(d) for d in x.shape[1:]))
    kind = _kind(x.dtype)
    n = int(x.shape[0])
    if kind == "int" and x.dtype == torch.uint64:
        x = x.to(torch.int64)  # values above 2**63 would not fit a Neo4j INTEGER anyway
    flat = x.detach().cpu().reshape(n, -1)
    if layout.shape == ():
        col = flat[:, 0]
        if kind == "f32":
            col = col.to(torch.float64)
        return col.tolist(), layout
    if kind == "f32":
        rows = flat.to(torch.float32).numpy().astype("<f4", copy=False)
        return [r.tobytes() for r in rows], layout
    if kind == "int":
        flat = flat.to(torch.int64)
    return flat.tolist(), layout


def infer_layout(sample: Any, prop: str) -> Layout:
    """The layout of a property written by someone else, from one node's value."""
    if isinstance(sample, bool):
        return Layout(torch.bool, ())
    if isinstance(sample, int):
        return Layout(torch.int64, ())
    if isinstance(sample, float):
        return Layout(torch.float32, ())
    if isinstance(sample, bytes | bytearray):
        if len(sample) % 4:
            raise StoreError(f"node property {prop!r} holds {len(sample)} bytes: not a float32 vector")
        return Layout(torch.float32, (len(sample) // 4,))
    if isinstance(sample, list | tuple):
        if all(isinstance(v, bool) for v in sample) and sample:
            return Layout(torch.bool, (len(sample),))
        if all(isinstance(v, int) and not isinstance(v, bool) for v in sample) and sample:
            return Layout(torch.int64, (len(sample),))
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in sample):
            return Layout(torch.float32, (len(sample),))
    raise StoreError(f"node property {prop!r} holds {type(sample).__name__} values; expected a "
                      "number, a boolean, a list of them, or float32 bytes")


def decode(values: list[Any], layout: Layout, prop: str) -> Tensor:
    """``[n, *layout.shape]`` of ``layout.dtype`` from ``n`` property values."""
    n = len(values)
    if n and isinstance(values[0], bytes | bytearray):
        widths = {len(v) for v in values}
        if widths != {4 * layout.width}:
            raise StoreError(f"node property {prop!r} holds byte strings of lengths "
                              f"{sorted(widths)}; expected float32 vectors of {layout.width} values")
        arr = np.frombuffer(b"".join(values), dtype="<f4").astype(np.float32)
        return torch.from_numpy(arr).reshape(n, *layout.shape).to(layout.dtype)
    kind = _kind(layout.dtype)
    np_dtype = {"bool": np.bool_, "int": np.int64, "f64": np.float64, "f32": np.float64}[kind]
    try:
        arr = np.asarray(values, dtype=np_dtype)
    except (TypeError, ValueError, OverflowError):
        raise StoreError(f"node property {prop!r} is not a {layout.dtype} value of {layout.width} "
                          "element(s) on every node") from None
    if arr.size != n * layout.width or arr.ndim != (2 if layout.shape else 1):
        raise StoreError(f"node property {prop!r} does not hold {layout.width} value(s) per node "
                          f"on every node (layout {tuple(layout.shape)})")
    return torch.from_numpy(arr).reshape(n, *layout.shape).to(layout.dtype)


def resolve_index(index: Any, n: int, what: str) -> tuple[np.ndarray, tuple[int, ...]] | None:
    """``(positions, lead shape)`` an index selects among ``n`` rows; ``None`` for every row.

    ``None`` and ``slice(None)`` give ``None`` (the whole tensor); a slice, a list, an
    integer tensor or array select those rows (negative positions count from the end); a
    bool mask of length ``n`` its true rows; an int (or 0-d tensor) one row, with no
    leading dimension (``lead == ()``), as ``x[i]`` does.
    """
    if index is None or (isinstance(index, slice) and index == slice(None)):
        return None
    if isinstance(index, slice):
        pos = np.arange(n, dtype=np.int64)[index]
        return pos, (len(pos),)
    if isinstance(index, bool | np.bool_):
        raise StoreError(f"a bool ({index}) is not an index of {what}; use an int or a bool mask")
    if isinstance(index, int | np.integer):
        arr = np.asarray([int(index)], dtype=np.int64)
        lead: tuple[int, ...] = ()
    else:
        if isinstance(index, Tensor):
            raw = index.detach().cpu().numpy()
        elif isinstance(index, np.ndarray):
            raw = index
        elif isinstance(index, list | tuple | range):
            raw = np.asarray(index)
            if raw.size == 0:
                raw = raw.astype(np.int64)
        else:
            raise StoreError(f"an index of type {type(index).__name__} cannot select {what}; use "
                              "None, a slice, an int, a bool mask or an integer tensor/array")
        if raw.dtype == np.bool_:
            if raw.ndim != 1 or raw.shape[0] != n:
                raise StoreError(f"a bool mask over {what} must have shape ({n},), not {raw.shape}")
            pos = np.flatnonzero(raw).astype(np.int64)
            return pos, (len(pos),)
        if raw.size and not np.issubdtype(raw.dtype, np.integer):
            raise StoreError(f"an index of dtype {raw.dtype} cannot select {what}; use integers")
        lead = tuple(int(d) for d in raw.shape)
        arr = raw.astype(np.int64).reshape(-1)
    if arr.size and (arr.min() < -n or arr.max() >= n):
        bad = int(arr[(arr < -n) | (arr >= n)][0])
        raise StoreError(f"index {bad} is out of range for {n} {what}")
    return np.where(arr < 0, arr + n, arr), lead


@dataclass
class TensorAttr(PygTensorAttr):
    """PyG's ``TensorAttr``, whose index may also be a numpy array of several elements.

    (PyG's own tests an index with ``!=`` against its UNSET marker, which a numpy array
    answers element-wise.)
    """

    def is_set(self, key: str) -> bool:
        return getattr(self, key) is not _FieldStatus.UNSET

    def __eq__(self, other: object) -> bool:  # equal to PyG's own TensorAttr of the same fields
        if not isinstance(other, PygTensorAttr):
            return NotImplemented
        return (self.group_name, self.attr_name, self.index) == \
            (other.group_name, other.attr_name, other.index)

    __hash__ = None  # type: ignore[assignment]  # mutable, as PyG's


def as_ours(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``args`` with a PyG ``TensorAttr`` given as the only argument copied into ours."""
    if len(args) == 1 and isinstance(args[0], PygTensorAttr) and not isinstance(args[0], TensorAttr):
        a = args[0]
        return (TensorAttr(a.group_name, a.attr_name, a.index),)
    return args
