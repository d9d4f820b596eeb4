"""Standardize table columns with train-split statistics, in float64, refusing overflow."""

from __future__ import annotations

import numpy as np

from vaekit.data.dequantize import UNIFORM_VARIANCE
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


def column_stats(
    train_x: np.ndarray, source: str, dequantized: tuple[int, ...] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and std of train_x: (N, D) -> ((D,), (D,)), both float64.

    A std of 0, or one below RELATIVE_STD_FLOOR times the column's largest |value|,
    becomes 1. Columns in `dequantized` hold integers that get U(-1/2, 1/2) noise: their std
    is that of the noisy values, sqrt(var + 1/12), never 0. Raises DataError naming the
    column when its statistics overflow float64.
    """
    x = np.asarray(train_x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = x.mean(axis=0)
        std = x.std(axis=0)
    column = _first_bad_column(np.concatenate([mean[None], std[None]]))
    if column is not None:
        raise DataError(
            f"{source}: column {column} of the train split has values too large to average "
            f"(mean {mean[column]:g}, std {std[column]:g}); rescale the column"
        )
    scale = np.abs(x).max(axis=0)
    std[(std == 0) | (std <= RELATIVE_STD_FLOOR * scale)] = 1.0
    columns = list(dequantized)
    std[columns] = np.sqrt(x[:, columns].var(axis=0) + UNIFORM_VARIANCE)
    return mean, std


def standardize(
    x: np.ndarray, mean: np.ndarray, std: np.ndarray, *, source: str, split: str
) -> np.ndarray:
    """(x - mean) / std as float32; x: (N, D), mean and std: (D,).

    Raises DataError naming the column when a standardized value does not fit float32.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = (np.asarray(x, dtype=np.float64) - mean) / std
        scaled[np.abs(scaled) > FLOAT32_MAX] = np.inf
    column = _first_bad_column(scaled)
    if column is not None:
        raise DataError(
            f"{source}: column {column} of the {split} split is too large for float32 once "
            f"standardized (train mean {mean[column]:g}, std {std[column]:g})"
        )
    return scaled.astype(np.float32)
