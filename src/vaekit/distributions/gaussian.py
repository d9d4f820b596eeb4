"""Diagonal Gaussian, parameterized by mean and log-variance."""

from __future__ import annotations

import math

import torch

from vaekit.distributions.base import Distribution, full_precision

LOG_2PI = math.log(2.0 * math.pi)


class DiagonalGaussian(Distribution):
    """N(mean, diag(exp(log_var))) with `event_ndim` trailing event dimensions.

    mean, log_var: broadcastable tensors, e.g. (B, D) for a posterior over D latents.
    """

    def __init__(self, mean: torch.Tensor, log_var: torch.Tensor, event_ndim: int = 1) -> None:
        self.loc = full_precision(mean)
        self.log_var = full_precision(log_var)
        self.event_ndim = event_ndim

    @property
    def mean(self) -> torch.Tensor:
        return self.loc

    @property
    def mode(self) -> torch.Tensor:
        return self.loc

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.log_var)

    def rsample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reparameterized sample: mean + std * eps, eps ~ N(0, I) (Kingma & Welling 2013)."""
        shape = _sample_shape(self.loc, self.log_var)
        eps = torch.randn(shape, generator=generator, device=self.loc.device, dtype=self.loc.dtype)
        return self.loc + self.std * eps

    def rsample_n(
        self, num_samples: int, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """`num_samples` reparameterized samples stacked in a new leading dim: (K, *shape)."""
        shape = (num_samples, *_sample_shape(self.loc, self.log_var))
        eps = torch.randn(shape, generator=generator, device=self.loc.device, dtype=self.loc.dtype)
        return self.loc + self.std * eps

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """log N(value; mean, var) summed over event dims; value broadcasts against mean."""
        elementwise = -0.5 * (
            LOG_2PI + self.log_var + (value - self.loc) ** 2 * torch.exp(-self.log_var)
        )
        return self.sum_event(elementwise)

    def entropy(self) -> torch.Tensor:
        elementwise = 0.5 * (LOG_2PI + 1.0 + self.log_var) + torch.zeros_like(self.loc)
        return self.sum_event(elementwise)

    def with_temperature(self, temperature: float) -> DiagonalGaussian:
        """Same mean, standard deviation scaled by `temperature`."""
        return DiagonalGaussian(
            self.loc, self.log_var + 2.0 * math.log(temperature), self.event_ndim
        )


def standard_normal(
    event_shape: tuple[int, ...],
    *,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> DiagonalGaussian:
    """N(0, I) over `event_shape`, with an empty batch shape."""
    zeros = torch.zeros(event_shape, device=device, dtype=dtype)
    return DiagonalGaussian(zeros, zeros, event_ndim=len(event_shape))


def _sample_shape(loc: torch.Tensor, log_var: torch.Tensor) -> torch.Size:
    """The broadcast shape of loc and log_var. Usually they are alike; torch.broadcast_shapes
    imports torch.fx's symbolic shapes and sympy on its first call (~1 s, e.g. for the first
    `vaekit sample`) and costs microseconds a step after that."""
    if loc.shape == log_var.shape:
        return loc.shape
    return torch.broadcast_shapes(loc.shape, log_var.shape)
