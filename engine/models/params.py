"""Checks for model and training parameters: the name of a bad parameter, its value and the range.

Constructors call these on plain numbers, so ``engine train --param epochs=-1``,
``reg=nan`` or ``dim=1.5`` fail at once (before any export) with a
:class:`~engine.errors.ParameterError` naming the parameter, never deep inside a fit.
"""

from __future__ import annotations

import math
from typing import Any

from engine.errors import ParameterError

__all__ = ["check_float", "check_int", "check_choice"]


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"parameter {name}={value!r} is not a number") from None
    if not math.isfinite(float(value)):
        raise ParameterError(f"parameter {name}={value!r} must be a finite number")
    return float(value)


def _bounds(name: str, value: float, lo: float | None, hi: float | None, lo_open: bool) -> None:
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ParameterError(f"parameter {name}={value:g} must be {'>' if lo_open else '>='} {lo:g}")
    if hi is not None and value > hi:
        raise ParameterError(f"parameter {name}={value:g} must be <= {hi:g}")


def check_float(name: str, value: Any, lo: float | None = None, hi: float | None = None, *,
                lo_open: bool = False, allow_inf: bool = False) -> float:
    """``value`` as a float in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``); inf only if allowed."""
    if allow_inf and isinstance(value, int | float) and math.isinf(value) and value > 0:
        return float(value)
    v = _number(name, value)
    _bounds(name, v, lo, hi, lo_open)
    return v


def check_int(name: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int in ``[lo, hi]`` (a float with a fractional part is refused)."""
    v = _number(name, value)
    if v != int(v):
        raise ParameterError(f"parameter {name}={value!r} must be a whole number")
    _bounds(name, v, lo, hi, False)
    return int(v)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ParameterError(f"parameter {name}={value!r} must be one of {', '.join(choices)}")
    return str(value)
