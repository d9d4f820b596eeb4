"""Decoder heads: decoder features -> p(x|z).

A head declares `params_per_dim`, how many decoder outputs it needs per data dimension
(stacked along the channel axis for images, the feature axis for vectors), and turns
them into a distribution whose event covers one whole example.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vaekit.distributions import Bernoulli, DiagonalGaussian, Distribution


class LikelihoodHead(nn.Module):
    """Base class. forward: features (B, params_per_dim * C, ...) -> distribution over (C, ...).

    `generator` feeds distributions whose `mean` is itself a random draw (the autoregressive
    Bernoulli); heads with a closed-form mean ignore it.
    """

    params_per_dim: int = 1

    def __init__(self, event_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.event_shape = tuple(event_shape)

    def forward(
        self, features: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> Distribution:
        raise NotImplementedError


class BernoulliHead(LikelihoodHead):
    """Features are the logits of independent Bernoullis, one per data dimension."""

    def forward(
        self, features: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> Bernoulli:
        return Bernoulli(features, event_ndim=len(self.event_shape))


class GaussianHead(LikelihoodHead):
    """Features are means; one log-variance per data dimension, learned unless fixed.

    `init_log_var` sets the starting (or fixed) log-variance; log(0.1**2) suits data in [0, 1].
    """

    def __init__(
        self,
        event_shape: tuple[int, ...],
        learn_scale: bool = True,
        init_log_var: float = 2 * math.log(0.1),
    ) -> None:
        super().__init__(event_shape)
        log_var = torch.full(self.event_shape, float(init_log_var))
        if learn_scale:
            self.log_var = nn.Parameter(log_var)
        else:
            self.register_buffer("log_var", log_var)

    def forward(
        self, features: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> DiagonalGaussian:
        return DiagonalGaussian(features, self.log_var, event_ndim=len(self.event_shape))
