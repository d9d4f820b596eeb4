"""A point mass: the 'posterior' of a deterministic autoencoder."""

from __future__ import annotations

import torch

from vaekit.distributions.base import Distribution


class PointMass(Distribution):
    """delta(value) over `event_ndim` trailing dims; sampling returns the value itself."""

    def __init__(self, value: torch.Tensor, event_ndim: int = 1) -> None:
        self.value = value
        self.event_ndim = event_ndim

    @property
    def mean(self) -> torch.Tensor:
        return self.value

    @property
    def mode(self) -> torch.Tensor:
        return self.value

    def rsample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.value

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("a point mass has no density")
