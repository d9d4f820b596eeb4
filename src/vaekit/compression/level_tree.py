"""Symbols of a 2**b alphabet coded as b binary decisions down a tree: the 8-bit levels of
the discretized logistic and its mixture, and the 2**precision latent buckets of q(z|x) in
files of 8-bit models (format version 3).

A 256-entry table per pixel costs one pass over 255 edges per mixture component; coding a
level as its 8 bits, most significant first, needs the mixture's CDF at one new edge per
bit: the bit splits the pixel's current range of levels [lo, hi) at mid = (lo + hi) / 2, and
P(bit = 1) = (C(hi) - C(mid)) / (C(hi) - C(lo)), C(k) being the CDF at the lower edge of level
k. The product of the 8 conditionals is the level's probability, so the code length is the
same as the table's (up to constriction's rounding of each binary probability), for 8 M
CDF evaluations per pixel instead of 255 M. A latent's 2**precision buckets go the same
way: `precision` evaluations of the tabulated normal CDF instead of 2**precision - 1.

C is evaluated with the same interpolated tables and IEEE operations as the rows in
coding_models.py, element by element, so encoder and decoder compute the same numbers
whatever the batch layout.
"""

from __future__ import annotations

from collections.abc import Callable

import constriction
import numpy as np

from vaekit.compression.coding_models import (
    LOG_VAR_LIMIT,
    MIN_LOG_SCALE,
    NUM_LEVELS,
    bucket_edges,
    mixture_offsets,
)
from vaekit.compression.tables import exp_table, normal_cdf_table, sigmoid_table

NUM_BITS = 8  # log2(NUM_LEVELS)
_BERNOULLI = constriction.stream.model.Bernoulli(perfect=False)

CdfFn = Callable[[np.ndarray], np.ndarray]


class LevelCdf:
    """C(k) for a batch of pixels, each a mixture of M logistics: the unnormalized CDF at the
    lower edge of level k, (k - 0.5)/255, with C(0) = 0 and C(256) = the weights' total.

    weights, loc, inv_scale: (n, M) float64; loc in data units, inv_scale = 1 / scale.
    """

    def __init__(self, weights: np.ndarray, loc: np.ndarray, inv_scale: np.ndarray) -> None:
        self.weights, self.loc, self.inv_scale = weights, loc, inv_scale
        self.total = np.zeros(weights.shape[0])
        for m in range(weights.shape[1]):  # a fixed order, as in the rows
            self.total += weights[:, m]

    def __call__(self, level: np.ndarray) -> np.ndarray:
        """level: (n,) int in 0..256 -> C(level) (n,) float64."""
        edge = (level.astype(np.float64) - 0.5) / (NUM_LEVELS - 1)
        sigmoid = sigmoid_table()
        cdf = np.zeros(level.shape[0])
        for m in range(self.weights.shape[1]):
            cdf += self.weights[:, m] * sigmoid((edge - self.loc[:, m]) * self.inv_scale[:, m])
        cdf = np.where(level <= 0, 0.0, cdf)
        return np.where(level >= NUM_LEVELS, self.total, cdf)


class BucketCdf:
    """C(k) for latents under q(z|x): the posterior's mass below bucket k's lower edge, with
    C(0) = 0 and C(2**precision) = 1. mean, log_var: (n,) float64."""

    def __init__(self, mean: np.ndarray, log_var: np.ndarray, precision: int) -> None:
        # (edge - mean) / std as edge * inv_std - mean * inv_std, as in the rows
        self.inv_std = exp_table()(-0.5 * np.clip(log_var, -LOG_VAR_LIMIT, LOG_VAR_LIMIT))
        self.shift = mean * self.inv_std
        self.edges = np.append(bucket_edges(precision), 0.0)  # a pad for k = 2**precision
        self.top = 2**precision

    def __call__(self, bucket: np.ndarray) -> np.ndarray:
        """bucket: (n,) int in 0..2**precision -> C(bucket) (n,) float64."""
        edge = self.edges[np.clip(bucket - 1, 0, self.top - 1)]
        cdf = normal_cdf_table()(edge * self.inv_std - self.shift)
        cdf = np.where(bucket <= 0, 0.0, cdf)
        return np.where(bucket >= self.top, 1.0, cdf)


def _inverse_scale(log_scale: np.ndarray) -> np.ndarray:
    return exp_table()(-np.clip(log_scale, MIN_LOG_SCALE, -MIN_LOG_SCALE))


def mixture_cdf(params: np.ndarray) -> LevelCdf:
    """C for the mixture head: params (B, 3 M, D): M logits, M locations (before the head's
    offsets), M log-scales; values in (B, D) order, like the symbols."""
    batch, width, num_dims = params.shape
    count = width // 3
    per_value = params.reshape(batch, 3, count, num_dims).transpose(1, 0, 3, 2)
    logits, loc, log_scale = (np.ascontiguousarray(p).reshape(-1, count) for p in per_value)
    weights = exp_table()(logits - logits.max(axis=1, keepdims=True))  # largest is 1
    return LevelCdf(weights, loc + mixture_offsets(count), _inverse_scale(log_scale))


def _split(
    cdf: CdfFn, lo: np.ndarray, c_lo: np.ndarray, c_hi: np.ndarray, half: int
) -> tuple[np.ndarray, np.ndarray]:
    """C at the middle of each range [lo, lo + 2 half) and P(upper half) there: (n,), (n,)."""
    c_mid = cdf(lo + half)
    mass = c_hi - c_lo
    # a range the tables give no mass: either half, at even odds (constriction keeps both
    # codable); otherwise the share of the upper half
    upper = np.where(mass > 0.0, (c_hi - c_mid) / np.where(mass > 0.0, mass, 1.0), 0.5)
    return c_mid, np.clip(upper, 0.0, 1.0)


def encode_levels(coder, levels: np.ndarray, cdf: CdfFn, num_bits: int = NUM_BITS) -> None:
    """Push levels (n,) int32 in 0..2**num_bits - 1 as num_bits binary decisions each (see
    the module doc)."""
    lo = np.zeros_like(levels)
    c_lo, c_hi = np.zeros(levels.shape[0]), cdf(np.full_like(levels, 1 << num_bits))
    bits, odds = [], []
    for k in range(num_bits):
        half = 1 << (num_bits - k - 1)
        c_mid, upper = _split(cdf, lo, c_lo, c_hi, half)
        bit = (levels >= lo + half).astype(np.int32)
        bits.append(bit)
        odds.append(upper)
        lo = lo + bit * half
        c_lo, c_hi = np.where(bit == 1, c_mid, c_lo), np.where(bit == 1, c_hi, c_mid)
    for bit, upper in zip(reversed(bits), reversed(odds)):  # the decoder pops bit 0 first
        coder.encode_reverse(bit, _BERNOULLI, upper)


def decode_levels(coder, count: int, cdf: CdfFn, num_bits: int = NUM_BITS) -> np.ndarray:
    """Pop `count` levels pushed by encode_levels with the same C and num_bits: (count,) int32."""
    lo = np.zeros(count, dtype=np.int32)
    c_lo, c_hi = np.zeros(count), cdf(np.full(count, 1 << num_bits, dtype=np.int32))
    for k in range(num_bits):
        half = 1 << (num_bits - k - 1)
        c_mid, upper = _split(cdf, lo, c_lo, c_hi, half)
        bit = coder.decode(_BERNOULLI, upper).astype(np.int32)
        lo = lo + bit * half
        c_lo, c_hi = np.where(bit == 1, c_mid, c_lo), np.where(bit == 1, c_hi, c_mid)
    return lo


def logistic_cdf(params: np.ndarray) -> LevelCdf:
    """C for the single discretized logistic: params (B, 2, D), locations and log-scales."""
    loc, log_scale = params[:, 0].reshape(-1, 1), params[:, 1].reshape(-1, 1)
    return LevelCdf(np.ones_like(loc), loc, _inverse_scale(log_scale))


# likelihoods coded down the tree (format version 3): decoder outputs (B, P, D) -> C for
# their B * D values. The single logistic's rows cost 255 CDF evaluations a pixel, the tree
# 8; on 2 x 1,000 test images the files came out within 0.3% of the rows' at latent
# precisions 7 to 12 (larger or smaller), except one slice at precision 8 (+3.3%), which a
# second slice did not repeat (-0.1%): the bits-back draws differ, so sizes differ by chance.
TREE_CODED: dict[str, Callable[[np.ndarray], CdfFn]] = {
    "discretized_logistic": logistic_cdf,
    "discretized_logistic_mixture": mixture_cdf,
}
