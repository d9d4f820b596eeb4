"""The ANS stack (constriction's AnsCoder) and the symbol models vaekit codes with.

The coder is a stack: `encode_*` pushes, `decode_*` pops in the reverse order. constriction's
`encode_reverse` encodes an array back to front, so a later `decode` returns it front to
back; arrays split into slices (to bound memory) are therefore pushed last slice first.
Probabilities are float64 from coding_models.py; constriction turns them into fixed-point
frequencies with integer-exact, deterministic arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable

import constriction
import numpy as np

from vaekit.compression.coding_models import (
    LEVEL_ROWS,
    NUM_LEVELS,
    bernoulli_probabilities,
    posterior_bucket_probabilities,
)
from vaekit.compression.level_tree import TREE_CODED, BucketCdf, decode_levels, encode_levels
from vaekit.errors import DataError

AnsCoder = constriction.stream.stack.AnsCoder
_MODELS = constriction.stream.model
_CELLS_PER_SLICE = 1 << 18  # table cells per call: 2 MiB of float64 stays in cache (3x faster)

RowsFn = Callable[[slice], np.ndarray]


def open_stack(words: np.ndarray) -> AnsCoder:
    """An ANS stack holding `words` (uint32, bottom first); DataError if they cannot be one."""
    try:
        return AnsCoder(np.ascontiguousarray(words, dtype=np.uint32))
    except ValueError as err:  # e.g. a top word of zero, which no ANS coder writes
        raise DataError(f"corrupt file: {err}") from err


def _slices(num_rows: int, row_width: int) -> list[slice]:
    step = max(1, _CELLS_PER_SLICE // row_width)
    return [slice(start, min(start + step, num_rows)) for start in range(0, num_rows, step)]


def encode_categorical(coder: AnsCoder, symbols: np.ndarray, rows: RowsFn, width: int) -> None:
    """Push symbols (n,) int32, each under its own row of probabilities rows(slice): (m, width)."""
    family = _MODELS.Categorical(perfect=False)
    for part in reversed(_slices(symbols.shape[0], width)):
        coder.encode_reverse(symbols[part], family, rows(part))


def decode_categorical(coder: AnsCoder, count: int, rows: RowsFn, width: int) -> np.ndarray:
    """Pop `count` symbols pushed by encode_categorical with the same rows: (count,) int32."""
    family = _MODELS.Categorical(perfect=False)
    out = np.empty(count, dtype=np.int32)
    for part in _slices(count, width):
        out[part] = coder.decode(family, rows(part))
    return out


def encode_uniform(coder: AnsCoder, symbols: np.ndarray, bits: int) -> None:
    """Push symbols in 0..2**bits - 1 at exactly `bits` bits each."""
    coder.encode_reverse(symbols.astype(np.int32).ravel(), _MODELS.Uniform(2**bits))


def decode_uniform(coder: AnsCoder, count: int, bits: int) -> np.ndarray:
    return coder.decode(_MODELS.Uniform(2**bits), count).astype(np.int32)


def encode_pixels(
    coder: AnsCoder,
    likelihood: str,
    symbols: np.ndarray,
    params: np.ndarray,
    *,
    tree_coded: bool,
) -> None:
    """Push data symbols (B, D) under p(x|z); params (B, P, D) are the decoder outputs.

    tree_coded: 8-bit levels of a TREE_CODED likelihood go as 8 binary decisions
    (level_tree.py, format version 3), else as one 256-entry row each (versions 1 and 2)."""
    flat = symbols.astype(np.int32).ravel()
    if likelihood == "bernoulli":
        probs = bernoulli_probabilities(params[:, 0].ravel())
        coder.encode_reverse(flat, _MODELS.Bernoulli(perfect=False), probs)
        return
    if tree_coded and likelihood in TREE_CODED:
        encode_levels(coder, flat, TREE_CODED[likelihood](params))
        return
    encode_categorical(coder, flat, LEVEL_ROWS[likelihood](params), NUM_LEVELS)


def decode_pixels(
    coder: AnsCoder, likelihood: str, params: np.ndarray, *, tree_coded: bool
) -> np.ndarray:
    """Pop data symbols (B, D) pushed by encode_pixels with the same params and scheme."""
    batch, num_dims = params.shape[0], params.shape[2]
    if likelihood == "bernoulli":
        probs = bernoulli_probabilities(params[:, 0].ravel())
        flat = coder.decode(_MODELS.Bernoulli(perfect=False), probs)
    elif tree_coded and likelihood in TREE_CODED:
        flat = decode_levels(coder, batch * num_dims, TREE_CODED[likelihood](params))
    else:
        rows = LEVEL_ROWS[likelihood](params)
        flat = decode_categorical(coder, batch * num_dims, rows, NUM_LEVELS)
    return flat.astype(np.int32).reshape(batch, num_dims)


def _posterior_rows(mean: np.ndarray, log_var: np.ndarray, precision: int) -> RowsFn:
    flat_mean, flat_log_var = mean.ravel(), log_var.ravel()
    return lambda part: posterior_bucket_probabilities(
        flat_mean[part], flat_log_var[part], precision
    )


def encode_posterior(
    coder: AnsCoder,
    buckets: np.ndarray,
    mean: np.ndarray,
    log_var: np.ndarray,
    precision: int,
    *,
    tree_coded: bool,
) -> None:
    """Push latent buckets (B, L) under the discretized posterior q(z|x): down the tree
    (format version 3) or one 2**precision row per latent."""
    if tree_coded:
        cdf = BucketCdf(mean.ravel(), log_var.ravel(), precision)
        encode_levels(coder, buckets.astype(np.int32).ravel(), cdf, num_bits=precision)
        return
    rows = _posterior_rows(mean, log_var, precision)
    encode_categorical(coder, buckets.astype(np.int32).ravel(), rows, 2**precision)


def decode_posterior(
    coder: AnsCoder,
    mean: np.ndarray,
    log_var: np.ndarray,
    precision: int,
    *,
    tree_coded: bool,
) -> np.ndarray:
    """Pop latent buckets (B, L) from q(z|x): the bits-back step ("sample" from the stack)."""
    if tree_coded:
        cdf = BucketCdf(mean.ravel(), log_var.ravel(), precision)
        return decode_levels(coder, mean.size, cdf, num_bits=precision).reshape(mean.shape)
    rows = _posterior_rows(mean, log_var, precision)
    return decode_categorical(coder, mean.size, rows, 2**precision).reshape(mean.shape)
