"""Lookup tables for the functions the coder needs, identical on every machine.

A probability handed to the entropy coder must be bit-for-bit the same when compressing and
decompressing. libm's exp/erf and numpy's SIMD versions of them may differ in the last bit
between CPUs (glibc picks FMA or non-FMA code at run time) and between vector and scalar
paths. So the tables are computed with Python's `decimal` module (correctly rounded,
platform independent), and evaluated by linear interpolation, which uses only IEEE basic
operations (+, -, *, floor): those are exactly rounded on every conforming machine.
"""

from __future__ import annotations

import functools
from decimal import Decimal, localcontext

import numpy as np

_DIGITS = 50
_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")


class InterpolatedTable:
    """f on a uniform grid lo, lo + 1/steps_per_unit, ..., hi; linear between, clamped outside.

    values: float64 (num_points,). Evaluation is deterministic: only IEEE basic operations.
    """

    def __init__(self, values: np.ndarray, lo: int, steps_per_unit: int) -> None:
        # one padding point past the end, so an index of `last` needs no special case
        self.values = np.append(values, values[-1])
        self.slopes = np.append(np.diff(values), 0.0)
        self.lo = float(lo)
        self.steps_per_unit = float(steps_per_unit)
        self.last = float(values.shape[0] - 1)

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """Elementwise f(t) for float64 t of any shape."""
        position = (np.asarray(t, dtype=np.float64) - self.lo) * self.steps_per_unit
        return self._at(position)

    def affine(self, points: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """f(points * scale_i - shift_i) for every row i: points (K,), scale, shift (n,) -> (n, K).

        The hot path of the coder: one outer product and a handful of in-place passes.
        """
        row_scale = scale * self.steps_per_unit  # (n,)
        row_shift = (shift + self.lo) * self.steps_per_unit  # (n,)
        position = np.multiply.outer(row_scale, points)  # (n, K)
        position -= row_shift[:, None]
        return self._at(position)

    def _at(self, position: np.ndarray) -> np.ndarray:
        """Interpolate at grid positions (units of grid steps from lo); overwrites position."""
        np.clip(position, 0.0, self.last, out=position)
        index = position.astype(np.int32)  # truncation == floor, as position >= 0
        position -= index  # now the fraction of a step
        out = self.values[index]
        position *= self.slopes[index]
        out += position
        return out


def _grid(lo: int, hi: int, steps_per_unit: int) -> list[Decimal]:
    return [
        Decimal(lo) + Decimal(i) / Decimal(steps_per_unit)
        for i in range((hi - lo) * steps_per_unit + 1)
    ]


def _decimal_sigmoid(t: Decimal) -> Decimal:
    return 1 / (1 + (-t).exp())


def _decimal_normal_cdf(t: Decimal) -> Decimal:
    """Phi(t) = 1/2 + phi(t) * sum_n t^(2n+1) / (1*3*...*(2n+1)) (Abramowitz & Stegun 26.2.11)."""
    density = (-(t * t) / 2).exp() / (2 * _PI).sqrt()
    term, total, n = t, t, 0
    while abs(term) > Decimal(10) ** -(_DIGITS - 5):
        n += 1
        term = term * t * t / (2 * n + 1)
        total += term
    return Decimal("0.5") + density * total


def _tabulate(function, lo: int, hi: int, steps_per_unit: int) -> InterpolatedTable:
    with localcontext() as context:
        context.prec = _DIGITS
        values = [float(function(t)) for t in _grid(lo, hi, steps_per_unit)]
    return InterpolatedTable(np.array(values, dtype=np.float64), lo, steps_per_unit)


@functools.cache
def sigmoid_table() -> InterpolatedTable:
    """sigma(t) on [-40, 40], 32 points per unit (interpolation error < 3e-5 absolute)."""
    return _tabulate(_decimal_sigmoid, -40, 40, 32)


@functools.cache
def normal_cdf_table() -> InterpolatedTable:
    """Phi(t) on [-9, 9], 64 points per unit (interpolation error < 8e-6 absolute)."""
    return _tabulate(_decimal_normal_cdf, -9, 9, 64)


@functools.cache
def exp_table() -> InterpolatedTable:
    """exp(t) on [-16, 16], 64 points per unit (relative interpolation error < 4e-5)."""
    return _tabulate(lambda t: t.exp(), -16, 16, 64)


def _decimal_tanh(t: Decimal) -> Decimal:
    return 1 - 2 / ((2 * t).exp() + 1)


@functools.cache
def tanh_table() -> InterpolatedTable:
    """tanh(t) on [-20, 20], 128 points per unit (interpolation error < 6e-6 absolute;
    tanh(+-20) rounds to +-1 in float64, so the clamp outside loses nothing)."""
    return _tabulate(_decimal_tanh, -20, 20, 128)
