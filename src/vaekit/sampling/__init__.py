"""Sampling: prior samples, reconstructions, interpolations, traversals -> tensors."""

from vaekit.sampling.generate import (
    interpolate,
    prior_draws,
    prior_samples,
    reconstructions,
    slerp,
    traverse,
)

__all__ = ["interpolate", "prior_draws", "prior_samples", "reconstructions", "slerp", "traverse"]
