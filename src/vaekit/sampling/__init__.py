"""Sampling: prior samples, reconstructions, interpolations, traversals -> tensors."""

from vaekit.sampling.generate import (
    class_interpolation,
    generation_labels,
    interpolate,
    known_labels,
    prior_draws,
    prior_samples,
    reconstructions,
    slerp,
    traverse,
)

__all__ = [
    "class_interpolation",
    "generation_labels",
    "interpolate",
    "known_labels",
    "prior_draws",
    "prior_samples",
    "reconstructions",
    "slerp",
    "traverse",
]
