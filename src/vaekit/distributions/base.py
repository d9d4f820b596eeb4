"""The shared vocabulary of vaekit's distributions.

Every distribution has a batch shape and an event shape; `log_prob` sums over event
dimensions only and returns the batch shape. They are plain tensor maths (no parameters),
so that `generator=` can be threaded through sampling; torch.distributions is the test oracle.
"""

from __future__ import annotations

import torch

HALF_DTYPES = (torch.float16, torch.bfloat16)


def full_precision(parameter: torch.Tensor) -> torch.Tensor:
    """A half-precision parameter (from a network under torch.autocast) as float32; any other
    tensor unchanged (the same object). Densities and KLs sum hundreds of terms per example,
    which a 8-bit mantissa cannot hold, so the probability maths always runs in fp32 or
    wider while the networks may run in bf16/fp16."""
    return parameter.float() if parameter.dtype in HALF_DTYPES else parameter


class Distribution:
    """Base class: subclasses set `event_ndim` and implement the methods below."""

    event_ndim: int

    @property
    def shape_source(self) -> torch.Tensor:
        """A tensor of shape (*batch_shape, *event_shape): the mean, unless a subclass has a
        cheaper one."""
        return self.mean

    @property
    def batch_shape(self) -> torch.Size:
        source = self.shape_source
        return source.shape[: source.dim() - self.event_ndim]

    @property
    def event_shape(self) -> torch.Size:
        source = self.shape_source
        return source.shape[source.dim() - self.event_ndim :]

    @property
    def mean(self) -> torch.Tensor:
        raise NotImplementedError

    @property
    def mode(self) -> torch.Tensor:
        raise NotImplementedError

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def log_prob_tiled(self, value: torch.Tensor, num_samples: int) -> torch.Tensor:
        """log_prob of value (B, *event) when this distribution's batch holds num_samples * B
        rows, row k * B + b being sample k of example b (as importance sampling lays them
        out): (K, B). Distributions with costly value-only terms override this to compute
        them once per example instead of K times."""
        tiled = value.unsqueeze(0).expand(num_samples, *value.shape)
        return self.log_prob(tiled.reshape(-1, *value.shape[1:])).view(num_samples, -1)

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
