"""Bernoulli with logits, for binary (or [0, 1]-valued) data."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vaekit.distributions.base import Distribution, full_precision


class Bernoulli(Distribution):
    """Independent Bernoulli(sigmoid(logits)) over `event_ndim` trailing dims.

    logits: (B, *event_shape). `log_prob` accepts binary targets, and also targets in [0, 1]
    (the cross-entropy then is not a normalized density: reports say so).
    """

    def __init__(self, logits: torch.Tensor, event_ndim: int) -> None:
        self.logits = full_precision(logits)
        self.event_ndim = event_ndim

    @property
    def probs(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)

    @property
    def mean(self) -> torch.Tensor:
        return self.probs

    @property
    def mode(self) -> torch.Tensor:
        return (self.logits > 0).to(self.logits.dtype)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """sum over event dims of x log p + (1 - x) log(1 - p), computed stably from logits."""
        value = value.expand_as(self.logits) if value.shape != self.logits.shape else value
        elementwise = -F.binary_cross_entropy_with_logits(self.logits, value, reduction="none")
        return self.sum_event(elementwise)

    def rsample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError("Bernoulli samples are discrete; use sample()")

    def sample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        uniform = torch.rand(
            self.logits.shape,
            generator=generator,
            device=self.logits.device,
            dtype=self.logits.dtype,
        )
        return (uniform < self.probs).to(self.logits.dtype)
