"""Binarization: dynamic per batch (torch) and once per split with a fixed seed (numpy).

The protocol (BENCHMARKS.md): test is binarized once with
numpy.random.RandomState(0).random_sample((N, D)) < pixel, in file order; val likewise with
RandomState(1).
"""

from __future__ import annotations

import numpy as np
import torch

TEST_BINARIZE_SEED = 0
VAL_BINARIZE_SEED = 1
_ROWS_PER_DRAW = 4096


def binarize_batch(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Dynamic binarization: one draw of x ~ Bernoulli(pixel) per call.

    x: (B, ...) probabilities in [0, 1]. Returns a tensor of the same shape, dtype and
    device holding 0s and 1s.
    """
    noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return torch.lt(noise, x, out=noise)  # 0.0/1.0 written over the noise: one pass, no copy


def binarize_once(x: np.ndarray, seed: int) -> np.ndarray:
    """RandomState(seed).random_sample((N, D)) < x, in one call and file order.

    x: (N, *shape) float32 in [0, 1]. Returns float32 of the same shape with values {0, 1}.
    """
    flat = x.reshape(x.shape[0], -1)  # (N, D)
    out = np.empty(flat.shape, dtype=np.float32)
    rng = np.random.RandomState(seed)
    # consecutive draws of rows give the same stream as one random_sample((N, D)) call,
    # without a float64 buffer the size of the whole split
    for start in range(0, flat.shape[0], _ROWS_PER_DRAW):
        rows = flat[start : start + _ROWS_PER_DRAW]
        out[start : start + rows.shape[0]] = rng.random_sample(rows.shape) < rows
    return out.reshape(x.shape)
