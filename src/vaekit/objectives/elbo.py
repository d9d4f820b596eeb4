"""The evidence lower bound, as per-example terms in nats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from vaekit.distributions import Distribution, kl

Decoder = Callable[[torch.Tensor], Distribution]


@dataclass(frozen=True)
class ELBOTerms:
    """Per-example terms, each (B,) in nats; `elbo` is higher-is-better."""

    log_px_given_z: torch.Tensor
    kl: torch.Tensor

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
    """One-sample ELBO terms: log p(x|z) with z ~ q(z|x) reparameterized, and analytic KL(q || p).

    x: (B, *event) data; posterior: batch (B,), event (D,); prior: event (D,).
    Returns ELBOTerms of (B,) tensors in nats (Kingma & Welling 2013, eq. 7 with analytic KL).
    """
    z = posterior.rsample(generator=generator)
    return ELBOTerms(log_px_given_z=decode(z).log_prob(x), kl=kl(posterior, prior))
