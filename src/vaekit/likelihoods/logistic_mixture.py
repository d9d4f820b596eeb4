"""Mixture of discretized logistics for 8-bit data (PixelCNN++, Salimans et al. 2017, eq. 2).

Each scalar value (every channel of every pixel) has its own mixture of M logistics with
its own mixture logits; channels are independent given z. (PixelCNN++ shares one mixture
indicator across a pixel's RGB channels and adds linear channel coupling; a VAE decoder
conditions every channel on z already, so the per-value mixture is kept as the simple form.)
Every component is a DiscretizedLogistic on the same 256 bins, so the mixture's
probabilities over the bins sum to one and -log_prob is a code length in nats.
"""

from __future__ import annotations

import torch

from vaekit.distributions import Distribution
from vaekit.distributions.base import full_precision
from vaekit.likelihoods.discretized_logistic import (
    NUM_LEVELS,
    DiscretizedLogistic,
    most_probable_bin,
    to_bins,
)
from vaekit.likelihoods.heads import LikelihoodHead

NUM_COMPONENTS = 5  # PixelCNN++ uses 10 for CIFAR-10's 3-channel pixels; 5 per scalar here


class DiscretizedLogisticMixture(Distribution):
    """Per-value mixtures of M discretized logistics over `event_ndim` trailing dims.

    logits, loc, log_scale: (B, M, *event_shape); the mixture axis is dim 1. loc and
    log_scale are in data units ([0, 1] spans the bins), as in DiscretizedLogistic.
    """

    def __init__(
        self,
        logits: torch.Tensor,
        loc: torch.Tensor,
        log_scale: torch.Tensor,
        event_ndim: int,
        num_levels: int = NUM_LEVELS,
    ) -> None:
        logits, loc, log_scale = map(full_precision, (logits, loc, log_scale))
        self.log_weights = torch.log_softmax(logits, dim=1)
        self.components = DiscretizedLogistic(loc, log_scale, event_ndim, num_levels)
        self.event_ndim = event_ndim
        self.num_levels = num_levels

    @property
    def shape_source(self) -> torch.Tensor:
        return self.log_weights[:, 0]

    def elementwise_log_prob(self, bins: torch.Tensor) -> torch.Tensor:
        """log sum_m w_m P_m(bin) per value; bins: integers (B, *event_shape) -> same shape."""
        per_component = self.components.elementwise_log_prob(bins.unsqueeze(1))
        return torch.logsumexp(self.log_weights + per_component, dim=1)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Sum over event dims of log P(bin of value); value: k/(L-1) in [0, 1] -> (B,)."""
        return self.sum_event(self.elementwise_log_prob(to_bins(value, self.num_levels)))

    @property
    def mean(self) -> torch.Tensor:
        """sum_m w_m E_m[k/(L-1)]: (B, *event_shape)."""
        return (self.log_weights.exp() * self.components.mean).sum(dim=1)

    @property
    def mode(self) -> torch.Tensor:
        """The most probable bin of the mixture, as k/(L-1), one bin at a time."""
        return most_probable_bin(self.elementwise_log_prob, self.shape_source, self.num_levels)

    def rsample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError("discretized samples are not reparameterizable; use sample()")

    def sample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Pick a component per value (Gumbel-max on the weights), then sample it."""
        with torch.no_grad():
            weights = self.log_weights
            uniform = torch.rand(
                weights.shape, generator=generator, device=weights.device, dtype=weights.dtype
            ).clamp(1e-7, 1 - 1e-7)
            chosen = (weights - torch.log(-torch.log(uniform))).argmax(dim=1, keepdim=True)
            loc = self.components.loc.gather(1, chosen).squeeze(1)
            log_scale = self.components.log_scale.gather(1, chosen).squeeze(1)
            picked = DiscretizedLogistic(loc, log_scale, self.event_ndim, self.num_levels)
            return picked.sample(generator=generator)


class DiscretizedLogisticMixtureHead(LikelihoodHead):
    """3 M decoder outputs per data dimension: M mixture logits, M locations, M log-scales.

    features: (B, 3 M C, ...) -> DiscretizedLogisticMixture over (C, ...), data k/255.
    """

    num_components = NUM_COMPONENTS
    params_per_dim = 3 * NUM_COMPONENTS

    def forward(
        self, features: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> DiscretizedLogisticMixture:
        # (B, 3 M C, *rest) -> (B, 3, M, C, *rest): logits, locations, log-scales
        parts = features.reshape(features.shape[0], 3, self.num_components, *self.event_shape)
        logits, loc, log_scale = parts.unbind(dim=1)
        # spread the starting locations over [0, 1] so the components begin apart
        offsets = torch.linspace(0.1, 0.9, self.num_components, device=loc.device)
        loc = loc + offsets.to(loc.dtype).view(1, -1, *([1] * len(self.event_shape)))
        return DiscretizedLogisticMixture(logits, loc, log_scale, event_ndim=len(self.event_shape))
