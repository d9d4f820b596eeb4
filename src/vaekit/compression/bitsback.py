"""Lossless bits-back coding with ANS (BB-ANS; Townsend, Bird & Barber, 2019).

Per chunk of images, compressing runs: pop z ~ q(z|x) off the stack (getting bits back),
push x under p(x|z), push z under p(z). Decompressing runs the chunks in reverse and undoes
each step: pop z under p(z), pop x under p(x|z), push z back under q(z|x). The expected net
cost per image is the negative ELBO of the discretized model.

Latents live in 2**precision buckets of equal prior mass, so p(z) is uniform over buckets.
The stack starts with SEED_WORDS fixed pseudo-random words, so the first posterior pops read
random bits rather than zeros; the words of the seed never popped stay at the bottom of the
stack, are identical to the seed, and are left out of the file (the header counts them). The
remaining "initial bits" cost is what the first chunks pop beyond the seed kept, which is
why chunks start at one image and grow to the batch size: by doubling (RAMPS[0]), or,
when a chunk would pop more than all the chunks before it left on the stack (a model whose
latents carry little, on small images: each image pops `precision` bits a latent and pushes
back few), more slowly. The codec tries the ramps in turn (`StackRanDryError`) and the file's
header names the one used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vaekit.compression.ans import (
    AnsCoder,
    decode_pixels,
    decode_posterior,
    decode_uniform,
    encode_pixels,
    encode_posterior,
    encode_uniform,
    open_stack,
)
from vaekit.compression.coding_models import bucket_centres
from vaekit.compression.networks import CodingNetworks
from vaekit.errors import DataError

NUM_SEED_WORDS = 64
DRY_BITS = 32
_SEED = 20190101  # any fixed value: compressor and decompressor regenerate the same words

ProgressFn = Callable[[int], None]


def seed_words() -> np.ndarray:
    """The fixed bottom of every stack: (NUM_SEED_WORDS,) uint32, PCG64 (platform stable)."""
    rng = np.random.Generator(np.random.PCG64(_SEED))
    return rng.integers(1, 2**32, NUM_SEED_WORDS, dtype=np.uint32)


class StackRanDryError(Exception):
    """A chunk after the first popped more bits than the stack held: its images' posterior
    draws came from nothing, and the file is larger by what they popped. Raised only when
    the coder is asked to (`stop_if_dry`), so that the codec can try a slower ramp."""


def check_not_dry(coder: AnsCoder, chunk_index: int, stop_if_dry: bool) -> None:
    """Raise StackRanDryError if asked to and the pops of chunk `chunk_index` (> 0) emptied the
    stack, seed included (the first chunk's pops are the seed's to cover)."""
    # a stack popped past its bottom keeps only its 32-bit head word (constriction), and
    # each pop beyond draws bits that no image pushed
    if stop_if_dry and chunk_index > 0 and coder.num_bits() <= DRY_BITS:
        raise StackRanDryError


@dataclass(frozen=True)
class Ramp:
    """How chunks grow from one example to the batch size. whole_steps: each chunk is
    `growth` times the one before, rounded down, and at least one more (2: 1, 2, 4, ...;
    the rule of every file before format version 4). Otherwise the sizes are a geometric
    series rounded down (1.0625: sixteen chunks of 1, then 2, ...), so that each chunk stays
    about (growth - 1) times all the examples before it, however small that is."""

    growth: float
    whole_steps: bool = False


DOUBLING = Ramp(2.0, whole_steps=True)
# the ramps a file may use, fastest first; the header's `ramp` indexes them
RAMPS = (DOUBLING, Ramp(1.25), Ramp(1.125), Ramp(1.0625), Ramp(1.03125))


def chunk_bounds(
    num_examples: int, batch_size: int, ramp: Ramp = DOUBLING
) -> list[tuple[int, int]]:
    """Chunks of 1 example growing by `ramp` up to batch_size, then batch_size each:
    [(start, stop), ...]."""
    bounds, start, size, exact = [], 0, 1, 1.0
    while start < num_examples:
        stop = min(start + size, num_examples)
        bounds.append((start, stop))
        if ramp.whole_steps:
            size = max(size + 1, int(size * ramp.growth))
        else:
            exact *= ramp.growth
            size = int(exact)
        start, size = stop, min(size, batch_size)
    return bounds


def compress_symbols(
    networks: CodingNetworks,
    symbols: np.ndarray,
    *,
    precision: int,
    batch_size: int,
    ramp: Ramp = DOUBLING,
    stop_if_dry: bool = False,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, int]:
    """Bits-back code symbols (N, D) -> (payload words uint32, number of seed words kept),
    in chunks growing by `ramp`; StackRanDryError as check_not_dry says."""
    centres = bucket_centres(precision)
    coder = AnsCoder(seed_words())
    for index, (start, stop) in enumerate(chunk_bounds(symbols.shape[0], batch_size, ramp)):
        x = symbols[start:stop]
        mean, log_var = networks.posterior(x)
        # (B, L), bits back
        buckets = decode_posterior(coder, mean, log_var, precision, tree_coded=networks.tree_coded)
        check_not_dry(coder, index, stop_if_dry)
        params = networks.likelihood_params(centres[buckets])
        encode_pixels(coder, networks.likelihood, x, params, tree_coded=networks.tree_coded)
        encode_uniform(coder, buckets, precision)
        if progress is not None:
            progress(stop - start)
    return split_seed(coder)


def decompress_symbols(
    networks: CodingNetworks,
    payload: np.ndarray,
    seed_kept: int,
    num_examples: int,
    *,
    precision: int,
    batch_size: int,
    ramp: Ramp = DOUBLING,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Inverse of compress_symbols: -> symbols (N, D) int32. Raises DataError if the stack
    does not unwind to exactly the seed (wrong model, parameters or data)."""
    centres = bucket_centres(precision)
    coder = open_seeded_stack(payload, seed_kept)
    out = np.empty((num_examples, networks.num_dims), dtype=np.int32)
    for start, stop in reversed(chunk_bounds(num_examples, batch_size, ramp)):
        count = (stop - start) * networks.latent_dim
        buckets = decode_uniform(coder, count, precision).reshape(stop - start, -1)
        params = networks.likelihood_params(centres[buckets])
        x = decode_pixels(coder, networks.likelihood, params, tree_coded=networks.tree_coded)
        mean, log_var = networks.posterior(x)
        encode_posterior(coder, buckets, mean, log_var, precision, tree_coded=networks.tree_coded)
        out[start:stop] = x
        if progress is not None:
            progress(stop - start)
    check_unwound(coder)
    return out


def split_seed(coder: AnsCoder) -> tuple[np.ndarray, int]:
    """The stack after compressing -> (payload words uint32, seed words kept): the bottom
    words still equal to the seed are left out of the payload."""
    words, seed = coder.get_compressed(), seed_words()
    length = min(words.shape[0], seed.shape[0])
    mismatch = np.flatnonzero(words[:length] != seed[:length])
    kept = int(mismatch[0]) if mismatch.size else length
    return words[kept:].copy(), kept


def open_seeded_stack(payload: np.ndarray, seed_kept: int) -> AnsCoder:
    """Inverse of split_seed: the stack a decompressor starts from; DataError if corrupt."""
    if not 0 <= seed_kept <= NUM_SEED_WORDS:
        raise DataError(f"corrupt file: {seed_kept} seed words kept")
    return open_stack(np.concatenate([seed_words()[:seed_kept], payload]))


def check_unwound(coder: AnsCoder) -> None:
    """DataError unless decompressing left exactly the seed (wrong model, parameters or data)."""
    if not np.array_equal(coder.get_compressed(), seed_words()):
        raise DataError("decoding did not return to the initial state: the data are corrupt")
