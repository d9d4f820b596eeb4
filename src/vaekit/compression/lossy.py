"""Lossy coding: each latent mean quantized to one of 2**latent_bits equal-prior-mass buckets.

The buckets have equal mass under the N(0, I) prior, so coding a bucket index under the
prior costs exactly latent_bits bits: rate = latent_dim * latent_bits bits per example (plus
the header). Decoding returns the most probable data under p(x|z) at the bucket's centre.
"""

from __future__ import annotations

import numpy as np

from vaekit.compression.ans import AnsCoder, decode_uniform, encode_uniform, open_stack
from vaekit.compression.coding_models import (
    bernoulli_probabilities,
    bucket_centres,
    bucket_of,
    logistic_mode,
)
from vaekit.compression.networks import CodingNetworks

MAX_LATENT_BITS = 16


def compress_lossy(
    networks: CodingNetworks, symbols: np.ndarray, *, latent_bits: int, batch_size: int
) -> np.ndarray:
    """Symbols (N, D) -> payload words (uint32) holding N * latent_dim bucket indices."""
    buckets = []
    for start in range(0, symbols.shape[0], batch_size):
        mean, _ = networks.posterior(symbols[start : start + batch_size])
        buckets.append(bucket_of(mean.ravel(), latent_bits))
    coder = AnsCoder()
    encode_uniform(coder, np.concatenate(buckets), latent_bits)
    return coder.get_compressed()


def decompress_lossy(
    networks: CodingNetworks,
    payload: np.ndarray,
    num_examples: int,
    *,
    latent_bits: int,
    batch_size: int,
) -> np.ndarray:
    """Payload words -> reconstructed symbols (N, D) int32, the mode of p(x|z) per example."""
    coder = open_stack(payload)
    buckets = decode_uniform(coder, num_examples * networks.latent_dim, latent_bits)
    z = bucket_centres(latent_bits)[buckets].reshape(num_examples, networks.latent_dim)
    out = np.empty((num_examples, networks.num_dims), dtype=np.int32)
    for start in range(0, num_examples, batch_size):
        params = networks.likelihood_params(z[start : start + batch_size])
        out[start : start + batch_size] = _mode(networks.likelihood, params)
    return out


def _mode(likelihood: str, params: np.ndarray) -> np.ndarray:
    """params (B, P, D) -> the most probable symbols (B, D)."""
    if likelihood == "bernoulli":
        return (bernoulli_probabilities(params[:, 0]) > 0.5).astype(np.int32)
    batch, _, num_dims = params.shape
    mode = logistic_mode(params[:, 0].ravel(), params[:, 1].ravel())
    return mode.reshape(batch, num_dims)
