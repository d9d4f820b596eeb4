"""Standardize table columns with train-split statistics."""

from __future__ import annotations

import numpy as np


def column_stats(train_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and std of train_x: (N, D) -> ((D,), (D,)); a zero std becomes 1."""
    mean = train_x.mean(axis=0, dtype=np.float64)
    std = train_x.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    return mean, std


def standardize(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(x - mean) / std as float32; x: (N, D), mean and std: (D,)."""
    return ((x - mean) / std).astype(np.float32)
