"""The importance-weighted bound on log p(x) (Burda et al., 2015), chunked over samples."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from vaekit.distributions import DiagonalGaussian, Distribution
from vaekit.objectives.elbo import Decoder


@dataclass(frozen=True)
class ImportanceTerms:
    """K importance samples per example, each (K, B) in nats.

    log_px_given_z: log p(x | z_k); log_density_ratio: log q(z_k | x) - log p(z_k), whose
    mean over k is a Monte Carlo estimate of KL(q || p).
    """

    log_px_given_z: torch.Tensor
    log_density_ratio: torch.Tensor

    @property
    def log_weights(self) -> torch.Tensor:
        """log p(x, z_k) - log q(z_k | x): (K, B)."""
        return self.log_px_given_z - self.log_density_ratio


def importance_terms(
    x: torch.Tensor,
    posterior: DiagonalGaussian,
    prior: Distribution,
    decode: Decoder,
    num_samples: int,
    *,
    generator: torch.Generator | None = None,
) -> ImportanceTerms:
    """Terms of K reparameterized samples z_k ~ q(z|x) (differentiable).

    x: (B, *event); posterior: batch (B,), event (D,). Returns (K, B) terms in nats.
    """
    z = posterior.rsample_n(num_samples, generator=generator)  # (K, B, D)
    # decoders take a flat batch: row k * B + b is sample k of example b
    flat_z = z.reshape(num_samples * x.shape[0], -1)
    log_px_given_z = decode(flat_z).log_prob_tiled(x, num_samples)
    return ImportanceTerms(log_px_given_z, posterior.log_prob(z) - prior.log_prob(z))


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
    terms = importance_terms(x, posterior, prior, decode, num_samples, generator=generator)
    return terms.log_weights


def iwae_from_log_weights(log_weights: torch.Tensor) -> torch.Tensor:
    """log (1/K) sum_k w_k from log weights (K, B): (B,) nats (Burda et al. 2015, eq. 8)."""
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])


def chunked_iwae(
    draw_log_weights: Callable[[int], torch.Tensor],
    num_samples: int,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """The IWAE bound from `draw_log_weights(k) -> (k, B)` called chunk by chunk: (B,) nats.

    The chunks are combined with a running log-sum-exp, so memory grows with chunk_size * B,
    not K * B.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    chunk_size = num_samples if chunk_size is None else max(1, min(chunk_size, num_samples))
    running: torch.Tensor | None = None
    remaining = num_samples
    while remaining > 0:
        size = min(chunk_size, remaining)
        chunk_lse = torch.logsumexp(draw_log_weights(size), dim=0)
        running = chunk_lse if running is None else torch.logaddexp(running, chunk_lse)
        remaining -= size
    return running - math.log(num_samples)


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

    Samples are drawn `chunk_size` at a time (default all K). K = 1 is a one-sample ELBO
    estimate; the bound rises towards log p(x) as K grows.
    """
    return chunked_iwae(
        lambda size: log_importance_weights(x, posterior, prior, decode, size, generator=generator),
        num_samples,
        chunk_size,
    )
