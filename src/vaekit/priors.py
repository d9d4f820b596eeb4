"""Priors p(z): modules that return a distribution over the latent vector."""

from __future__ import annotations

import torch
from torch import nn

from vaekit.distributions import DiagonalGaussian


class StandardNormalPrior(nn.Module):
    """p(z) = N(0, I) over `latent_dim` dimensions; follows the module's device and dtype."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.register_buffer("zeros", torch.zeros(latent_dim), persistent=False)

    def forward(self) -> DiagonalGaussian:
        return DiagonalGaussian(self.zeros, self.zeros, event_ndim=1)


PRIORS: dict[str, type[nn.Module]] = {"standard_normal": StandardNormalPrior}
