"""Standardize table columns with train-split statistics, in float64, refusing overflow.

Statistics are sums over blocks of rows (mapped.row_blocks), so a memory-mapped table is
read one block at a time and gets the very same statistics as the array held in memory.
"""

from __future__ import annotations

import numpy as np

from vaekit.data.dequantize import UNIFORM_VARIANCE
from vaekit.data.mapped import MappedExamples, row_blocks
from vaekit.errors import DataError

# a std this small relative to the column's largest |value| is rounding noise of a constant
RELATIVE_STD_FLOOR = 1e-12
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _first_bad_column(values: np.ndarray) -> int | None:
    """Index of the first column holding a non-finite value; values: (D,) or (N, D)."""
    bad = ~np.isfinite(values)
    if values.ndim == 2:
        bad = bad.any(axis=0)
    return int(np.argmax(bad)) if bad.any() else None


def _column_sums(x: np.ndarray | MappedExamples) -> tuple[int, np.ndarray, np.ndarray]:
    """(rows, per-column sum, per-column largest |value|) of x: (N, D), in float64."""
    count, total, largest = 0, 0.0, 0.0
    for block in row_blocks(x):
        values = np.asarray(block, dtype=np.float64)
        count += len(values)
        total = total + values.sum(axis=0)
        largest = np.maximum(largest, np.abs(values).max(axis=0))
    return count, total, largest


def column_stats(
    train_x: np.ndarray | MappedExamples, source: str, dequantized: tuple[int, ...] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and std of train_x: (N, D) -> ((D,), (D,)), both float64, in two
    passes over blocks of rows.

    A std of 0, or one below RELATIVE_STD_FLOOR times the column's largest |value|,
    becomes 1. Columns in `dequantized` hold integers that get U(-1/2, 1/2) noise: their std
    is that of the noisy values, sqrt(var + 1/12), never 0. Raises DataError naming the
    column when its statistics overflow float64.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        count, total, scale = _column_sums(train_x)
        mean = total / count
        squares = 0.0
        for block in row_blocks(train_x):
            squares = squares + ((np.asarray(block, dtype=np.float64) - mean) ** 2).sum(axis=0)
        variance = squares / count
        std = np.sqrt(variance)
    column = _first_bad_column(np.concatenate([mean[None], std[None]]))
    if column is not None:
        raise DataError(
            f"{source}: column {column} of the train split has values too large to average "
            f"(mean {mean[column]:g}, std {std[column]:g}); rescale the column"
        )
    std[(std == 0) | (std <= RELATIVE_STD_FLOOR * scale)] = 1.0
    columns = list(dequantized)
    std[columns] = np.sqrt(variance[columns] + UNIFORM_VARIANCE)
    return mean, std


def constant_columns(x: np.ndarray | MappedExamples) -> list[int]:
    """Indices of the columns of x: (N, D) that hold one value."""
    low, high = np.inf, -np.inf
    for block in row_blocks(x):
        low, high = np.minimum(low, block.min(axis=0)), np.maximum(high, block.max(axis=0))
    return [int(j) for j in np.flatnonzero(low == high)]


def standardize(
    x: np.ndarray | MappedExamples, mean: np.ndarray, std: np.ndarray, *, source: str, split: str
) -> np.ndarray | MappedExamples:
    """(x - mean) / std as float32 (x: (N, D), mean and std: (D,)); a mapped table becomes
    the same table standardized batch by batch, after one pass that checks every value.

    Raises DataError naming the column when a standardized value does not fit float32.
    """
    if isinstance(x, MappedExamples):
        scaled = x.with_standardization(mean, std)
        for block in scaled.value_blocks():
            _check_fits_float32(block, mean, std, source, split)
        return scaled
    with np.errstate(over="ignore", invalid="ignore"):
        values = (np.asarray(x, dtype=np.float64) - mean) / std
    _check_fits_float32(values, mean, std, source, split)
    return values.astype(np.float32)


def _check_fits_float32(
    scaled: np.ndarray, mean: np.ndarray, std: np.ndarray, source: str, split: str
) -> None:
    """DataError naming the first column of scaled (B, D) that is non-finite or too large
    for float32."""
    with np.errstate(invalid="ignore"):
        too_large = ~(np.abs(scaled) <= FLOAT32_MAX)
    if too_large.any():
        column = int(np.argmax(too_large.any(axis=0)))
        raise DataError(
            f"{source}: column {column} of the {split} split is too large for float32 once "
            f"standardized (train mean {mean[column]:g}, std {std[column]:g})"
        )
