"""Priors p(z): modules that return a distribution over the latent vector: N(0, I), a learned
mixture of Gaussians, and the VampPrior (a mixture of the model's own posteriors)."""

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


class VampPrior(nn.Module):
    """The VampPrior (Tomczak & Welling 2018): p(z) = (1/K) sum_k q(z | u_k), the model's own
    posterior at K learned pseudo-inputs u_k, each of the model's input shape.

    `pseudo_inputs` (K, *input_shape) is this module's parameter; the encoder belongs to the
    model. The model is held as a plain attribute, not a submodule: the module tree stays a
    tree (model -> prior, never back), state_dict holds the pseudo-inputs alone, and
    `copy.deepcopy(model)` (EMA and evaluation copies) gives a prior that calls the copy's
    encoder, because deepcopy maps the reference through its memo.

    The pseudo-inputs start at 0.5 plus N(0, 0.01^2) noise per value: the middle of the [0, 1]
    pixel range, all nearly alike, so the prior starts as (almost) one posterior and the
    gradient spreads the K copies apart. The paper's code also starts from small noise
    (std 0.01) but clips the pseudo-inputs to [0, 1] with a hardtanh; vaekit leaves them
    unconstrained (a clipped value gets no gradient, and standardized tables have no range).
    The model config holds no data statistics, so no start at the data mean is possible here.
    """

    def __init__(
        self, model: nn.Module, num_pseudo_inputs: int, input_shape: tuple[int, ...]
    ) -> None:
        super().__init__()
        start = 0.5 + 0.01 * torch.randn(num_pseudo_inputs, *input_shape)
        self.pseudo_inputs = nn.Parameter(start)
        object.__setattr__(self, "model", model)  # bypasses nn.Module's submodule registration

    def forward(self) -> GaussianMixture:
        posterior = self.model.encode(self.pseudo_inputs)  # batch (K,), event (D,)
        equal_logits = self.pseudo_inputs.new_zeros(self.pseudo_inputs.shape[0])  # (K,)
        return GaussianMixture(equal_logits, posterior.loc, posterior.log_var)

    def extra_repr(self) -> str:
        return f"num_pseudo_inputs={self.pseudo_inputs.shape[0]}"


def standard_normal_prior(config: Any, model: nn.Module) -> StandardNormalPrior:
    return StandardNormalPrior(config.latent_dim)


def mixture_prior(config: Any, model: nn.Module) -> MixturePrior:
    return MixturePrior(config.latent_dim)


def vamp_prior(config: Any, model: nn.Module) -> VampPrior:
    return VampPrior(model, config.num_pseudo_inputs, tuple(config.input_shape))


# name -> factory(model config, model) -> prior module. A factory gets the model so that a
# prior may be built from the model's own parts (a VampPrior encodes pseudo-inputs); it
# must not register the model as a submodule (that would make the module tree a cycle).
PriorFactory = Callable[[Any, nn.Module], nn.Module]
PRIORS: dict[str, PriorFactory] = {
    "standard_normal": standard_normal_prior,
    "mog": mixture_prior,
    "vamp": vamp_prior,
}
