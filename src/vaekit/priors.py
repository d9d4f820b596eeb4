"""Priors p(z): modules that return a distribution over the latent vector."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from vaekit.distributions import DiagonalGaussian, Distribution


class StandardNormalPrior(nn.Module):
    """p(z) = N(0, I) over `latent_dim` dimensions; follows the module's device and dtype."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.register_buffer("zeros", torch.zeros(latent_dim), persistent=False)

    def forward(self) -> DiagonalGaussian:
        return DiagonalGaussian(self.zeros, self.zeros, event_ndim=1)


class GaussianMixture(Distribution):
    """sum_c pi_c N(means_c, diag(exp(log_vars_c))) over event (D,), with an empty batch shape.

    logits: (C,) unnormalized log mixture weights; means, log_vars: (C, D). The KL from a
    Gaussian posterior to it has no closed form, so objectives estimate it by Monte Carlo.
    """

    event_ndim = 1

    def __init__(self, logits: torch.Tensor, means: torch.Tensor, log_vars: torch.Tensor) -> None:
        self.logits = logits
        self.components = DiagonalGaussian(means, log_vars, event_ndim=1)

    @property
    def weights(self) -> torch.Tensor:
        return torch.softmax(self.logits, dim=-1)

    @property
    def mean(self) -> torch.Tensor:
        return self.weights @ self.components.loc

    @property
    def mode(self) -> torch.Tensor:  # the mean of the heaviest component, a local mode
        return self.components.loc[self.logits.argmax()]

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """value: (..., D) -> (...) nats: logsumexp_c (log pi_c + log N(value; c))."""
        per_component = self.components.log_prob(value.unsqueeze(-2))  # (..., C)
        return torch.logsumexp(torch.log_softmax(self.logits, -1) + per_component, dim=-1)

    def rsample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.rsample_n(1, generator=generator)[0]

    def rsample_n(
        self, num_samples: int, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """(num_samples, D): a component drawn by weight, then reparameterized within it."""
        picks = torch.multinomial(self.weights, num_samples, replacement=True, generator=generator)
        chosen = DiagonalGaussian(
            self.components.loc[picks], self.components.log_var[picks], event_ndim=1
        )
        return chosen.rsample(generator=generator)

    def with_temperature(self, temperature: float) -> GaussianMixture:
        """Same weights and means, every component's standard deviation scaled."""
        return GaussianMixture(
            self.logits,
            self.components.loc,
            self.components.log_var + 2.0 * math.log(temperature),
        )


class MixturePrior(nn.Module):
    """A learned mixture of `num_components` diagonal Gaussians (Tomczak & Welling 2018 use
    such a prior as the cheap cousin of the VampPrior). The means start spread out as N(0, I)
    draws, the variances at 1, the weights equal."""

    def __init__(self, latent_dim: int, num_components: int = 16) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.logits = nn.Parameter(torch.zeros(num_components))
        self.means = nn.Parameter(torch.randn(num_components, latent_dim))
        self.log_vars = nn.Parameter(torch.zeros(num_components, latent_dim))

    def forward(self) -> GaussianMixture:
        return GaussianMixture(self.logits, self.means, self.log_vars)


def standard_normal_prior(config: Any, model: nn.Module) -> StandardNormalPrior:
    return StandardNormalPrior(config.latent_dim)


def mixture_prior(config: Any, model: nn.Module) -> MixturePrior:
    return MixturePrior(config.latent_dim)


# name -> factory(model config, model) -> prior module. A factory gets the model so that a
# prior may be built from the model's own parts (a VampPrior encodes pseudo-inputs); it
# must not register the model as a submodule (that would make the module tree a cycle).
PriorFactory = Callable[[Any, nn.Module], nn.Module]
PRIORS: dict[str, PriorFactory] = {"standard_normal": standard_normal_prior, "mog": mixture_prior}
