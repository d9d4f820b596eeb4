"""Discretized logistic likelihood for 8-bit (256-level) data (Salimans et al., 2017).

Data arrive as floats k/255 in [0, 1] (vaekit's loaders divide uint8 pixels by 255), so bin k
covers [(k - 0.5)/255, (k + 0.5)/255] of a continuous logistic, and the two edge bins take
the tails: P(0) = sigma((0.5/255 - loc)/s), P(255) = 1 - sigma((254.5/255 - loc)/s). The
256 probabilities sum to one exactly, so -log_prob is a code length in nats.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from vaekit.distributions import Distribution
from vaekit.distributions.base import full_precision
from vaekit.likelihoods.heads import LikelihoodHead

NUM_LEVELS = 256
# below exp(-7) ~ 0.0009 (a quarter of a bin) the density is a spike anyway; the floor keeps
# gradients finite when a pixel is perfectly predicted (the PixelCNN++ choice)
MIN_LOG_SCALE = -7.0


def to_bins(value: torch.Tensor, num_levels: int = NUM_LEVELS) -> torch.Tensor:
    """Values k/(L-1) in [0, 1] -> integer bins k in 0..L-1 (int64), rounding to the nearest."""
    return torch.round(value * (num_levels - 1)).clamp(0, num_levels - 1).to(torch.int64)


def most_probable_bin(
    elementwise_log_prob: Callable[[torch.Tensor], torch.Tensor],
    like: torch.Tensor,
    num_levels: int,
) -> torch.Tensor:
    """argmax_k log P(bin k) per element, as k/(L-1), one bin at a time (memory stays flat).

    elementwise_log_prob: integer bins shaped like `like` -> log-probabilities of that shape.
    """
    best_value = torch.zeros_like(like)
    best_log_prob = torch.full_like(like, -float("inf"))
    for k in range(num_levels):
        log_prob = elementwise_log_prob(torch.full_like(like, k, dtype=torch.int64))
        better = log_prob > best_log_prob
        best_log_prob = torch.where(better, log_prob, best_log_prob)
        best_value = torch.where(better, torch.full_like(best_value, k), best_value)
    return best_value / (num_levels - 1)


class DiscretizedLogistic(Distribution):
    """Independent discretized logistics over `event_ndim` trailing dims, on L equal bins.

    loc: (B, *event_shape) in data units ([0, 1] spans the bins); log_scale: same shape,
    natural log of the logistic scale in data units (clamped below at MIN_LOG_SCALE).
    """

    def __init__(
        self,
        loc: torch.Tensor,
        log_scale: torch.Tensor,
        event_ndim: int,
        num_levels: int = NUM_LEVELS,
    ) -> None:
        self.loc = full_precision(loc)
        self.log_scale = full_precision(log_scale).clamp(min=MIN_LOG_SCALE)
        self.event_ndim = event_ndim
        self.num_levels = num_levels

    @property
    def half_bin(self) -> float:
        return 0.5 / (self.num_levels - 1)

    def elementwise_log_prob(self, bins: torch.Tensor) -> torch.Tensor:
        """log P(bin) per element; bins: integer tensor broadcastable to loc."""
        centre = bins.to(self.loc.dtype) / (self.num_levels - 1)
        inv_scale = torch.exp(-self.log_scale)
        upper = (centre + self.half_bin - self.loc) * inv_scale
        lower = (centre - self.half_bin - self.loc) * inv_scale
        # sigma(a) - sigma(b) = sigma(a) sigma(-b) (1 - exp(b - a)): no cancellation anywhere
        width = 2 * self.half_bin * inv_scale  # a - b > 0
        interior = F.logsigmoid(upper) + F.logsigmoid(-lower) + torch.log(-torch.expm1(-width))
        first = F.logsigmoid(upper)  # bin 0 takes the left tail
        last = F.logsigmoid(-lower)  # bin L-1 takes the right tail
        out = torch.where(bins <= 0, first, interior)
        return torch.where(bins >= self.num_levels - 1, last, out)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Sum over event dims of log P(bin of value); value: k/(L-1) in [0, 1]."""
        return self.sum_event(self.elementwise_log_prob(to_bins(value, self.num_levels)))

    def _survival(self, k: int) -> torch.Tensor:
        """P(bin >= k) for 1 <= k <= L-1, elementwise."""
        edge = (k - 0.5) / (self.num_levels - 1)
        return torch.sigmoid((self.loc - edge) * torch.exp(-self.log_scale))

    @property
    def mean(self) -> torch.Tensor:
        """E[k/(L-1)] = sum_k P(bin >= k) / (L-1), one bin at a time to keep memory flat."""
        total = torch.zeros_like(self.loc)
        for k in range(1, self.num_levels):
            total = total + self._survival(k)
        return total / (self.num_levels - 1)

    @property
    def mode(self) -> torch.Tensor:
        """The most probable bin, as k/(L-1); edge bins count their tails."""
        return most_probable_bin(self.elementwise_log_prob, self.loc, self.num_levels)

    def rsample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError("discretized samples are not reparameterizable; use sample()")

    def sample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Inverse-CDF sample of the logistic, binned; clamping gives the edge bins their tails."""
        with torch.no_grad():
            uniform = torch.rand(
                self.loc.shape, generator=generator, device=self.loc.device, dtype=self.loc.dtype
            ).clamp(1e-7, 1 - 1e-7)
            continuous = self.loc + torch.exp(self.log_scale) * (
                torch.log(uniform) - torch.log1p(-uniform)
            )
            return to_bins(continuous, self.num_levels).to(self.loc.dtype) / (self.num_levels - 1)


class DiscretizedLogisticHead(LikelihoodHead):
    """Two decoder outputs per data dimension: the location, then the log-scale.

    features: (B, 2C, ...) -> DiscretizedLogistic over (C, ...), for data k/255 in [0, 1].
    """

    params_per_dim = 2

    def forward(
        self, features: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> DiscretizedLogistic:
        loc, log_scale = features.chunk(2, dim=1)
        return DiscretizedLogistic(loc, log_scale, event_ndim=len(self.event_shape))
