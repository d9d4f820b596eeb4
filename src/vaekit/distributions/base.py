"""The shared vocabulary of vaekit's distributions.

Every distribution has a batch shape and an event shape; `log_prob` sums over event
dimensions only and returns the batch shape. They are plain tensor maths (no parameters),
so that `generator=` can be threaded through sampling; torch.distributions is the test oracle.
"""

from __future__ import annotations

import torch


class Distribution:
    """Base class: subclasses set `event_ndim` and implement the methods below."""

    event_ndim: int

    @property
    def batch_shape(self) -> torch.Size:
        return self.mean.shape[: self.mean.dim() - self.event_ndim]

    @property
    def event_shape(self) -> torch.Size:
        return self.mean.shape[self.mean.dim() - self.event_ndim :]

    @property
    def mean(self) -> torch.Tensor:
        raise NotImplementedError

    @property
    def mode(self) -> torch.Tensor:
        raise NotImplementedError

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        with torch.no_grad():
            return self.rsample(generator=generator)

    def rsample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def sum_event(self, elementwise: torch.Tensor) -> torch.Tensor:
        """Sum the trailing `event_ndim` dimensions of an elementwise term."""
        if self.event_ndim == 0:
            return elementwise
        return elementwise.sum(dim=tuple(range(-self.event_ndim, 0)))
