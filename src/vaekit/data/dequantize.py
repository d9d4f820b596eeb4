"""Uniform dequantization of integer-valued table columns (counts, codes, 0/1 flags).

A continuous density fitted to values that sit on the integers can reach any log-likelihood
by putting narrow spikes on them. Adding u ~ U(-1/2, 1/2) to each integer value turns the
column into a continuous one whose density is bounded, and for any model
E_u[log p(k + u)] <= log P(k) with P(k) the mass p gives to [k - 1/2, k + 1/2]
(Theis, van den Oord & Bethge 2016): the reported likelihood is a lower bound on the
likelihood of the integers themselves. Training draws fresh noise every batch; validation and
test are dequantized once with fixed seeds, so every model is scored on the same values.
"""

from __future__ import annotations

import numpy as np
import torch

from vaekit.data.mapped import MappedExamples, row_blocks
from vaekit.data.spec import DataSpec

# variance of U(-1/2, 1/2): what dequantizing adds to an integer column's variance
UNIFORM_VARIANCE = 1.0 / 12.0


def integer_columns(x: np.ndarray | MappedExamples) -> tuple[int, ...]:
    """Indices of the columns of x: (N, D) whose values are all integers."""
    whole = True
    for block in row_blocks(x):
        whole = whole & np.all(block == np.round(block), axis=0)
    return tuple(int(j) for j in np.flatnonzero(whole))


def dequantize_once(
    x: np.ndarray | MappedExamples, columns: tuple[int, ...], seed: int
) -> np.ndarray | MappedExamples:
    """x with RandomState(seed) uniform noise in [-1/2, 1/2) added to `columns`, in raw units.

    x: (N, D) float64; returns a float64 copy (one random_sample((N, len(columns))) call), or
    for a mapped table the same table with that noise drawn batch by batch as it is read.
    """
    if isinstance(x, MappedExamples):
        return x.dequantized_once(columns, seed)
    out = np.array(x, dtype=np.float64, copy=True)
    if columns:
        noise = np.random.RandomState(seed).random_sample((x.shape[0], len(columns))) - 0.5
        out[:, list(columns)] += noise
    return out


def noise_widths(spec: DataSpec) -> torch.Tensor | None:
    """(D,) width of one integer step in standardized units (1/std) on the spec's dequantized
    columns, 0 elsewhere; None when the data have no dequantized columns."""
    if not spec.dequantized_columns or spec.feature_std is None:
        return None
    widths = torch.zeros(spec.num_dims)
    for j in spec.dequantized_columns:
        widths[j] = 1.0 / spec.feature_std[j]
    return widths


def dequantize_batch(
    x: torch.Tensor, widths: torch.Tensor, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Fresh noise for a standardized batch: x + (u - 1/2) * widths, u ~ U(0, 1).

    x: (B, D) standardized rows; widths: (D,) from noise_widths, on x's device.
    """
    noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + (noise - 0.5) * widths
