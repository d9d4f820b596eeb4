"""Bits-back coding with a hierarchical VAE whose inference runs top-down.

vaekit's hvae infers q(z_l | x, z_>l) along the generative path (ladder VAE / NVAE), so
BB-ANS extends to it layer by layer, as HiLLoC does for a top-down ResNet VAE (Townsend,
Bird, Kunze & Barber 2020). It is not Bit-Swap (Kingma, Abbeel & Ho 2019), which pushes
layer l's prior right after popping layer l + 1 and so needs a bottom-up Markov posterior
q(z_1 | x) q(z_2 | z_1) ...; here every layer's posterior depends on x, so all of z must
be popped before x can be pushed (docs/compression.md).

Per chunk of images, compressing runs
  1. for l = L (top) ... 1: pop z_l ~ q(z_l | x, z_>l) off the stack (bits back), in the
     buckets of p(z_l | z_>l) at the z_>l just popped (hierarchy.py);
  2. push x under p(x | z);
  3. push every layer's bucket under its prior: uniform, `precision` bits each.
Decompressing undoes the chunks in reverse: pop the buckets, run the top-down path with
them, pop x, compute every layer's posterior along the same path, and push the buckets back,
bottom layer first (the reverse of step 1). The expected net cost per image is the negative
ELBO of the discretized model with its hierarchical posterior. The stack's seed is the
single-layer coder's (bitsback.py); its chunks grow more slowly (CHUNK_RAMP). The first
chunk pops all L layers for one image before it pushes anything: the seed covers that.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vaekit.compression.ans import (
    AnsCoder,
    decode_pixels,
    decode_posterior,
    decode_uniform,
    encode_pixels,
    encode_posterior,
    encode_uniform,
)
from vaekit.compression.bitsback import (
    ProgressFn,
    Ramp,
    check_not_dry,
    check_unwound,
    chunk_bounds,
    open_seeded_stack,
    seed_words,
    split_seed,
)
from vaekit.compression.hierarchy import HierarchicalCodingNetworks, LayerPrior

# Chunks grow by half, not double: a chunk pops every layer's posterior bits for each of its
# images (~364 bits for the `fast` preset's model) while each image before it left only its
# net cost on the stack (~335 bits). Doubling chunks pop as much as all chunks before them
# pushed, so they ran the stack dry (12,752 initial bits on the Fashion-MNIST test set); a chunk
# half the size of what came before stays covered while an image nets at least half what it
# pops. Slower ramps follow it for models that still run the stack dry (the header's `ramp`
# indexes RAMPS; 0, this one, is what files before format version 4 used).
CHUNK_RAMP = Ramp(1.5, whole_steps=True)
RAMPS = (CHUNK_RAMP, Ramp(1.25), Ramp(1.125), Ramp(1.0625), Ramp(1.03125))

# (layer index, state (B, W), prior of the layer) -> that layer's buckets (B, D)
ChooseFn = Callable[[int, np.ndarray, LayerPrior], np.ndarray]


def _top_down(
    networks: HierarchicalCodingNetworks, batch: int, precision: int, choose: ChooseFn
) -> tuple[np.ndarray, list[tuple[np.ndarray, LayerPrior, np.ndarray]]]:
    """Walk the path with the buckets `choose` gives: final state (B, W) and, per layer top
    first, (state it started from, its prior, its buckets)."""
    state = networks.initial_state(batch)
    steps = []
    for index in range(networks.num_layers):
        prior = networks.prior_at(index, state)
        buckets = choose(index, state, prior)
        steps.append((state, prior, buckets))
        state = networks.advance(index, state, networks.latent_values(prior, buckets, precision))
    return state, steps


def _posterior_popper(
    networks: HierarchicalCodingNetworks, coder: AnsCoder, x: np.ndarray, precision: int
) -> ChooseFn:
    """Buckets popped off the stack under each layer's posterior q(z_l | x, z_>l)."""
    features = networks.features(x)

    def pop(index: int, state: np.ndarray, prior: LayerPrior) -> np.ndarray:
        mean, log_var = networks.posterior_at(index, state, features[index], prior)
        return decode_posterior(coder, mean, log_var, precision, tree_coded=networks.tree_coded)

    return pop


def _given(buckets: np.ndarray, dim: int) -> ChooseFn:
    """Layer l's columns of buckets (B, L * D) that were popped under the priors."""
    return lambda index, _state, _prior: buckets[:, index * dim : (index + 1) * dim]


def compress_hierarchical(
    networks: HierarchicalCodingNetworks,
    symbols: np.ndarray,
    *,
    precision: int,
    batch_size: int,
    ramp: Ramp = CHUNK_RAMP,
    stop_if_dry: bool = False,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, int]:
    """Bits-back code symbols (N, D_x) -> (payload words uint32, number of seed words kept),
    in chunks growing by `ramp`; StackRanDryError as bitsback.check_not_dry says."""
    coder = AnsCoder(seed_words())
    for index, (start, stop) in enumerate(chunk_bounds(symbols.shape[0], batch_size, ramp)):
        x = symbols[start:stop]
        state, steps = _top_down(
            networks, stop - start, precision, _posterior_popper(networks, coder, x, precision)
        )
        check_not_dry(coder, index, stop_if_dry)  # every layer is popped before any push
        params = networks.likelihood_params(state)
        encode_pixels(coder, networks.likelihood, x, params, tree_coded=networks.tree_coded)
        encode_uniform(coder, np.concatenate([b for _, _, b in steps], axis=1), precision)
        if progress is not None:
            progress(stop - start)
    return split_seed(coder)


def decompress_hierarchical(
    networks: HierarchicalCodingNetworks,
    payload: np.ndarray,
    seed_kept: int,
    num_examples: int,
    *,
    precision: int,
    batch_size: int,
    ramp: Ramp = CHUNK_RAMP,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Inverse of compress_hierarchical: -> symbols (N, D_x) int32. Raises DataError if the
    stack does not unwind to exactly the seed (wrong model, parameters or data)."""
    coder = open_seeded_stack(payload, seed_kept)
    out = np.empty((num_examples, networks.num_dims), dtype=np.int32)
    dim = networks.layer_dim
    for start, stop in reversed(chunk_bounds(num_examples, batch_size, ramp)):
        count = (stop - start) * networks.latent_dim
        buckets = decode_uniform(coder, count, precision).reshape(stop - start, -1)
        state, steps = _top_down(networks, stop - start, precision, _given(buckets, dim))
        params = networks.likelihood_params(state)
        x = decode_pixels(coder, networks.likelihood, params, tree_coded=networks.tree_coded)
        features = networks.features(x)
        for index in reversed(range(networks.num_layers)):
            layer_state, prior, layer_buckets = steps[index]
            mean, log_var = networks.posterior_at(index, layer_state, features[index], prior)
            encode_posterior(
                coder, layer_buckets, mean, log_var, precision, tree_coded=networks.tree_coded
            )
        out[start:stop] = x
        if progress is not None:
            progress(stop - start)
    check_unwound(coder)
    return out
