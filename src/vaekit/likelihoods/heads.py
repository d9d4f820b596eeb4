"""Decoder heads: decoder features -> p(x|z).

A head declares `params_per_dim`, how many decoder outputs it needs per data dimension
(stacked along the channel axis for images, the feature axis for vectors), and turns
them into a distribution whose event covers one whole example.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
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

    def features_for_mean(self, mean: torch.Tensor) -> torch.Tensor | None:
        """Decoder outputs (params_per_dim * C, ...) whose distribution has mean `mean`
        (C, ...), or None when the head has no such inverse. Data-dependent initialisation
        starts the decoder's output bias there, so the first steps do not spend themselves
        learning the average example."""
        return None


class BernoulliHead(LikelihoodHead):
    """Features are the logits of independent Bernoullis, one per data dimension."""

    def features_for_mean(self, mean: torch.Tensor) -> torch.Tensor:
        # a pixel that is never on in the data would otherwise get logit -inf
        return torch.logit(mean.clamp(1e-3, 1 - 1e-3))

    def forward(
        self, features: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> Bernoulli:
        return Bernoulli(features, event_ndim=len(self.event_shape))


# The smallest standard deviation a Gaussian head may give, in data units: a quarter of an
# 8-bit step for images in [0, 1], a thousandth of a column's spread for standardized tables.
# Without a floor, a learned scale collapses onto repeated values (a near-constant column, a
# column of codes) and the log-density grows without bound on train and test rows alike.
MIN_STD = 1e-3
MIN_LOG_VAR = 2 * math.log(MIN_STD)


def default_init_log_var(event_shape: tuple[int, ...]) -> float:
    """Starting log-variance: std 1 for vectors (vaekit standardizes tables column by column),
    std 0.1 for images in [0, 1]. A start far from the data's scale costs thousands of Adam
    steps (the log-variance moves about lr per step), more than a small table ever gets."""
    return 0.0 if len(event_shape) == 1 else 2 * math.log(0.1)


class GaussianHead(LikelihoodHead):
    """Features are means; one log-variance per data dimension, learned unless fixed.

    `init_log_var` sets the starting (or fixed) log-variance (default_init_log_var when None);
    the variance in use never goes below MIN_STD**2.
    """

    def __init__(
        self,
        event_shape: tuple[int, ...],
        learn_scale: bool = True,
        init_log_var: float | None = None,
    ) -> None:
        super().__init__(event_shape)
        if init_log_var is None:
            init_log_var = default_init_log_var(self.event_shape)
        log_var = torch.full(self.event_shape, float(init_log_var))
        if learn_scale:
            self.log_var = nn.Parameter(log_var)
        else:
            self.register_buffer("log_var", log_var)

    def forward(
        self, features: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> DiagonalGaussian:
        # a smooth floor: the gradient never vanishes entirely, unlike a clamp's
        log_var = MIN_LOG_VAR + F.softplus(self.log_var - MIN_LOG_VAR)
        return DiagonalGaussian(features, log_var, event_ndim=len(self.event_shape))

    def features_for_mean(self, mean: torch.Tensor) -> torch.Tensor:
        return mean.clone()
