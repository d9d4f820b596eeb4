"""Lossy coding: latent means quantized to 2**latent_bits equal-prior-mass buckets.

The buckets have equal mass under the N(0, I) prior, so coding a bucket index under the
prior costs exactly latent_bits bits. Latents the model does not use for this data (mean KL
to the prior below INACTIVE_KL_NATS per example) carry no information about it: they are not
coded and decode to z = 0, the prior's median. A one-bit-per-latent mask at the start of the
payload says which are coded, so the rate is latent_dim + N * active * latent_bits bits
(plus the header). Decoding returns the most probable data under p(x|z).
"""

from __future__ import annotations

import numpy as np

from vaekit.compression.ans import AnsCoder, decode_uniform, encode_uniform, open_stack
from vaekit.compression.coding_models import (
    LEVEL_ROWS,
    bernoulli_probabilities,
    bucket_centres,
    bucket_of,
    logistic_mode,
)
from vaekit.compression.networks import CodingNetworks

MAX_LATENT_BITS = 16
INACTIVE_KL_NATS = 0.02


def _posterior_means(
    networks: CodingNetworks, symbols: np.ndarray, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means (N, L) and each latent's mean KL to N(0, 1) in nats, (L,)."""
    means, kls = [], []
    for start in range(0, symbols.shape[0], batch_size):
        mean, log_var = networks.posterior(symbols[start : start + batch_size])
        means.append(mean)
        # analytic KL(N(m, s^2) || N(0, 1)), Kingma & Welling 2013, App. B
        kls.append(0.5 * (mean**2 + np.exp(log_var) - 1.0 - log_var))
    return np.concatenate(means), np.concatenate(kls).mean(axis=0)


def compress_lossy(
    networks: CodingNetworks, symbols: np.ndarray, *, latent_bits: int, batch_size: int
) -> np.ndarray:
    """Symbols (N, D) -> payload words (uint32): the active-latent mask, then bucket indices."""
    means, kl_per_latent = _posterior_means(networks, symbols, batch_size)
    active = kl_per_latent >= INACTIVE_KL_NATS  # (L,)
    coder = AnsCoder()
    # pushed last-first: the decoder pops the mask, then the buckets
    encode_uniform(coder, bucket_of(means[:, active].ravel(), latent_bits), latent_bits)
    encode_uniform(coder, active.astype(np.int32), 1)
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
    active = decode_uniform(coder, networks.latent_dim, 1).astype(bool)
    buckets = decode_uniform(coder, num_examples * int(active.sum()), latent_bits)
    z = np.zeros((num_examples, networks.latent_dim))
    z[:, active] = bucket_centres(latent_bits)[buckets].reshape(num_examples, -1)
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
    if likelihood == "discretized_logistic":  # three candidates instead of 256 levels
        mode = logistic_mode(params[:, 0].ravel(), params[:, 1].ravel())
    else:
        mode = LEVEL_ROWS[likelihood](params)(slice(None)).argmax(axis=1)
    return mode.reshape(batch, num_dims).astype(np.int32)
