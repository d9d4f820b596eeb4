"""Probability tables handed to the ANS coder, computed deterministically (see tables.py).

Inputs are the exact network outputs (float64 on a fixed grid); only IEEE basic operations
and the interpolated tables touch them, so compress and decompress agree bit for bit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from vaekit.compression.tables import exp_table, normal_cdf_table, sigmoid_table

LOGIT_LIMIT = 40.0
LOG_VAR_LIMIT = 30.0
MIN_LOG_SCALE = -7.0  # as the discretized logistic likelihood clamps it
NUM_LEVELS = 256
LATENT_GRID_BITS = 16  # bucket centres are multiples of 2**-16, exact decoder inputs


@functools.cache
def bucket_edges(precision: int) -> np.ndarray:
    """The 2**precision - 1 inner edges of equal-mass buckets of N(0, 1): (2**precision - 1,).

    Found by bisection on the tabulated Phi, so the buckets have equal mass under the same
    Phi the posterior uses, and the edges are the same on every machine.
    """
    targets = np.arange(1, 2**precision, dtype=np.float64) / 2.0**precision
    return _inverse_normal_cdf(targets)


@functools.cache
def bucket_centres(precision: int) -> np.ndarray:
    """Prior-median of each bucket, rounded to the decoder's input grid: (2**precision,)."""
    targets = (np.arange(2**precision, dtype=np.float64) + 0.5) / 2.0**precision
    grid = 2.0**LATENT_GRID_BITS
    return np.round(_inverse_normal_cdf(targets) * grid) / grid


def _inverse_normal_cdf(targets: np.ndarray) -> np.ndarray:
    cdf = normal_cdf_table()
    lo = np.full_like(targets, -9.0)
    hi = np.full_like(targets, 9.0)
    for _ in range(60):  # interval 18 / 2**60: below float64 resolution
        middle = (lo + hi) * 0.5
        below = cdf(middle) < targets
        lo = np.where(below, middle, lo)
        hi = np.where(below, hi, middle)
    return (lo + hi) * 0.5


def posterior_bucket_probabilities(
    mean: np.ndarray, log_var: np.ndarray, precision: int
) -> np.ndarray:
    """q(bucket) for each latent: mean, log_var (n,) -> (n, 2**precision), rows sum to 1."""
    inv_std = exp_table()(-0.5 * np.clip(log_var, -LOG_VAR_LIMIT, LOG_VAR_LIMIT))
    # (edge - mean) / std, as edge * inv_std - mean * inv_std
    return _cdf_to_pmf(normal_cdf_table().affine(bucket_edges(precision), inv_std, mean * inv_std))


def bernoulli_probabilities(logits: np.ndarray) -> np.ndarray:
    """P(x = 1) = sigma(logit): (n,) -> (n,)."""
    return sigmoid_table()(np.clip(logits, -LOGIT_LIMIT, LOGIT_LIMIT))


@functools.cache
def _level_edges() -> np.ndarray:
    """Upper edges of bins 0..254 in data units, (k + 0.5)/255: (255,)."""
    return (np.arange(NUM_LEVELS - 1, dtype=np.float64) + 0.5) / (NUM_LEVELS - 1)


def logistic_level_probabilities(loc: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """Discretized logistic over 256 levels: loc, log_scale (n,) -> (n, 256), rows sum to 1.

    Edge bins take the tails, as in likelihoods/discretized_logistic.py.
    """
    inv_scale = exp_table()(-np.clip(log_scale, MIN_LOG_SCALE, -MIN_LOG_SCALE))
    return _cdf_to_pmf(sigmoid_table().affine(_level_edges(), inv_scale, loc * inv_scale))


def _cdf_to_pmf(inner_cdf: np.ndarray, total: np.ndarray | float = 1.0) -> np.ndarray:
    """(n, K - 1) CDF at the inner edges -> (n, K) bin probabilities (differences).

    total: the CDF's value at +infinity, (n,) or a scalar (1 for a normalized one).
    """
    n, inner = inner_cdf.shape
    pmf = np.empty((n, inner + 1))
    pmf[:, 0] = inner_cdf[:, 0]
    np.subtract(inner_cdf[:, 1:], inner_cdf[:, :-1], out=pmf[:, 1:inner])
    pmf[:, inner] = total - inner_cdf[:, -1]
    return pmf


def mixture_offsets(num_components: int) -> np.ndarray:
    """The starting locations the mixture head adds to its components, 0.1 .. 0.9: (M,).

    Computed here in float64 with IEEE operations (likelihoods/logistic_mixture.py adds the
    float32 torch.linspace values; they differ by < 1e-7, far below a level's 1/255).
    """
    if num_components == 1:
        return np.array([0.1])
    return 0.1 + np.arange(num_components, dtype=np.float64) * (0.8 / (num_components - 1))


def mixture_level_probabilities(
    logits: np.ndarray, loc: np.ndarray, log_scale: np.ndarray
) -> np.ndarray:
    """Mixture of M discretized logistics over 256 levels: (n, M) each -> (n, 256).

    loc includes the head's offsets. Rows are unnormalized (they sum to the weights' total,
    in [1, M]); constriction's Categorical normalizes them. The weights are exp(logit - max),
    and the components are summed in a fixed order with IEEE operations, so the rows are the
    same whatever the batch layout. Every term is non-negative and each component's CDF is
    non-decreasing, so the differences are too (rounding is monotone).
    """
    exp, sigmoid, edges = exp_table(), sigmoid_table(), _level_edges()
    weights = exp(logits - logits.max(axis=1, keepdims=True))  # (n, M), largest is 1
    inv_scale = exp(-np.clip(log_scale, MIN_LOG_SCALE, -MIN_LOG_SCALE))
    cdf = np.zeros((logits.shape[0], NUM_LEVELS - 1))
    total = np.zeros(logits.shape[0])
    for m in range(logits.shape[1]):
        part = sigmoid.affine(edges, inv_scale[:, m], loc[:, m] * inv_scale[:, m])
        part *= weights[:, m, None]
        cdf += part
        total += weights[:, m]
    return _cdf_to_pmf(cdf, total)


RowsFn = Callable[[slice], np.ndarray]


def _logistic_rows(params: np.ndarray) -> RowsFn:
    loc, log_scale = params[:, 0].ravel(), params[:, 1].ravel()
    return lambda part: logistic_level_probabilities(loc[part], log_scale[part])


def _mixture_rows(params: np.ndarray) -> RowsFn:
    # (B, 3M, D) -> three (B * D, M) arrays, value-major like the symbols
    batch, width, num_dims = params.shape
    per_value = params.reshape(batch, 3, width // 3, num_dims).transpose(1, 0, 3, 2)
    logits, loc, log_scale = (np.ascontiguousarray(p).reshape(-1, width // 3) for p in per_value)
    loc = loc + mixture_offsets(width // 3)
    return lambda part: mixture_level_probabilities(logits[part], loc[part], log_scale[part])


# likelihood -> decoder outputs (B, P, D) -> the 256-level rows of values [part] of B * D
LEVEL_ROWS: dict[str, Callable[[np.ndarray], RowsFn]] = {
    "discretized_logistic": _logistic_rows,
    "discretized_logistic_mixture": _mixture_rows,
}


def bucket_of(values: np.ndarray, precision: int) -> np.ndarray:
    """Index of the equal-prior-mass bucket holding each value: (n,) -> (n,) int32."""
    return np.searchsorted(bucket_edges(precision), values, side="right").astype(np.int32)


def logistic_mode(loc: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """Most probable level of each discretized logistic: (n,) -> (n,) int32.

    A logistic density is symmetric and unimodal, so among the interior bins (all of one
    width) the one nearest loc holds the most mass; only the two edge bins, which also hold
    the tails, can beat it. Three candidates instead of 256.
    """
    sigmoid = sigmoid_table()
    inv_scale = exp_table()(-np.clip(log_scale, MIN_LOG_SCALE, -MIN_LOG_SCALE))
    middle = np.clip(np.rint(loc * (NUM_LEVELS - 1)), 1, NUM_LEVELS - 2)
    half = 0.5 / (NUM_LEVELS - 1)

    def cdf(edge: np.ndarray) -> np.ndarray:
        return sigmoid((edge - loc) * inv_scale)

    first = cdf(np.full_like(loc, half))
    last = 1.0 - cdf(np.full_like(loc, 1.0 - half))
    centre = middle / (NUM_LEVELS - 1)
    interior = cdf(centre + half) - cdf(centre - half)
    candidates = np.stack([first, interior, last])  # (3, n); argmax keeps the first of ties
    levels = np.stack([np.zeros_like(middle), middle, np.full_like(middle, NUM_LEVELS - 1)])
    return np.take_along_axis(levels, candidates.argmax(axis=0)[None], axis=0)[0].astype(np.int32)
