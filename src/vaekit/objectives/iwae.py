"""The importance-weighted bound on log p(x) (Burda et al., 2015), chunked over samples."""

from __future__ import annotations

import math

import torch

from vaekit.distributions import DiagonalGaussian, Distribution
from vaekit.objectives.elbo import Decoder


def log_importance_weights(
    x: torch.Tensor,
    posterior: DiagonalGaussian,
    prior: Distribution,
    decode: Decoder,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """log p(x, z_k) - log q(z_k | x) for K samples z_k ~ q(z|x).

    x: (B, *event); posterior: batch (B,), event (D,). Returns (K, B) in nats.
    """
    z = posterior.rsample_n(num_samples, generator=generator)  # (K, B, D)
    batch = x.shape[0]
    flat_z = z.reshape(num_samples * batch, -1)
    # decoders take a flat batch; repeat x so each of the K*B rows meets its own example
    flat_x = x.unsqueeze(0).expand(num_samples, *x.shape).reshape(num_samples * batch, *x.shape[1:])
    log_px_given_z = decode(flat_z).log_prob(flat_x).view(num_samples, batch)
    return log_px_given_z + prior.log_prob(z) - posterior.log_prob(z)


def iwae_bound(
    x: torch.Tensor,
    posterior: DiagonalGaussian,
    prior: Distribution,
    decode: Decoder,
    num_samples: int,
    *,
    chunk_size: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """log (1/K) sum_k p(x, z_k) / q(z_k | x), per example, in nats: (B,).

    Samples are drawn `chunk_size` at a time (default all K) and combined with a running
    log-sum-exp, so memory grows with chunk_size * B, not K * B. K = 1 is a one-sample ELBO
    estimate; the bound rises towards log p(x) as K grows.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    chunk_size = num_samples if chunk_size is None else max(1, min(chunk_size, num_samples))
    running: torch.Tensor | None = None
    remaining = num_samples
    while remaining > 0:
        size = min(chunk_size, remaining)
        log_w = log_importance_weights(x, posterior, prior, decode, size, generator=generator)
        chunk_lse = torch.logsumexp(log_w, dim=0)
        running = chunk_lse if running is None else torch.logaddexp(running, chunk_lse)
        remaining -= size
    return running - math.log(num_samples)
