"""The evidence lower bound, as per-example terms in nats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from vaekit.distributions import DiagonalGaussian, Distribution, kl

Decoder = Callable[[torch.Tensor], Distribution]


@dataclass(frozen=True)
class ELBOTerms:
    """Per-example terms, each (B,) in nats; `elbo` is higher-is-better.

    kl_groups: optional (B, G) split of `kl` into groups (latent dimensions of a VAE, stochastic
    layers of a hierarchical VAE) that sums to `kl`; free bits floor each group separately.
    auxiliary_loss: optional (B,) extra training loss that is not part of the bound (M2's
    weighted classification loss on labelled rows); the trainer adds its batch mean to the
    loss, and `elbo` (hence validation and evaluation) never includes it.
    """

    log_px_given_z: torch.Tensor
    kl: torch.Tensor
    kl_groups: torch.Tensor | None = None
    auxiliary_loss: torch.Tensor | None = None

    @property
    def elbo(self) -> torch.Tensor:
        return self.log_px_given_z - self.kl


def elbo_terms(
    x: torch.Tensor,
    posterior: Distribution,
    prior: Distribution,
    decode: Decoder,
    *,
    generator: torch.Generator | None = None,
) -> ELBOTerms:
    """One-sample ELBO terms: log p(x|z) with z ~ q(z|x) reparameterized, and KL(q || p).

    x: (B, *event) data; posterior: batch (B,), event (D,); prior: event (D,).
    The KL is analytic where a rule exists (Kingma & Welling 2013, eq. 7), with per-dimension
    groups for two diagonal Gaussians; otherwise (a mixture prior) it is the one-sample Monte
    Carlo estimate log q(z|x) - log p(z) at the same z, an unbiased estimate of the KL.
    Returns ELBOTerms of (B,) tensors in nats.
    """
    z = posterior.rsample(generator=generator)
    log_px_given_z = decode(z).log_prob(x)
    if isinstance(posterior, DiagonalGaussian) and isinstance(prior, DiagonalGaussian):
        per_dim = kl(_elementwise(posterior), _elementwise(prior))  # (B, D)
        return ELBOTerms(log_px_given_z, per_dim.sum(dim=-1), kl_groups=per_dim)
    try:
        kl_value = kl(posterior, prior)
    except NotImplementedError:
        kl_value = posterior.log_prob(z) - prior.log_prob(z)
    return ELBOTerms(log_px_given_z=log_px_given_z, kl=kl_value)


def _elementwise(gaussian: DiagonalGaussian) -> DiagonalGaussian:
    """The same Gaussian with its last (latent) axis moved from the event into the batch."""
    return DiagonalGaussian(gaussian.loc, gaussian.log_var, event_ndim=gaussian.event_ndim - 1)
