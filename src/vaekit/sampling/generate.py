"""Generation from a trained model: prior samples, reconstructions, interpolations, traversals.

Each returns data-space tensors (the mean of p(x|z), e.g. pixel probabilities) shaped like
the model's input; pictures are made from them in `vaekit.reporting`.
"""

from __future__ import annotations

import torch

from vaekit.errors import ConfigError
from vaekit.models import LatentVariableModel


def _check_sampling(model: LatentVariableModel, num_samples: int, temperature: float) -> None:
    if not model.has_likelihood_bound:
        raise ConfigError(
            f"{type(model).__name__} models have no prior to sample from; train a VAE"
        )
    if num_samples < 1 or temperature <= 0:
        raise ConfigError(
            f"need num_samples >= 1 and temperature > 0, got {num_samples}, {temperature}"
        )


@torch.inference_mode()
def prior_samples(
    model: LatentVariableModel,
    num_samples: int,
    *,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Decode z ~ p(z) (std scaled by temperature): (N, *input_shape)."""
    _check_sampling(model, num_samples, temperature)
    return model.sample(num_samples, temperature=temperature, generator=generator)


@torch.inference_mode()
def prior_draws(
    model: LatentVariableModel,
    num_samples: int,
    *,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """x ~ p(x|z) for z ~ p(z) (std scaled by temperature): (N, *input_shape).

    Unlike prior_samples (the decoder's mean), these carry the likelihood's own noise, so
    synthetic table rows spread as much as real rows do.
    """
    _check_sampling(model, num_samples, temperature)
    z = model.prior().with_temperature(temperature).rsample_n(num_samples, generator=generator)
    return model.decode(z).sample(generator=generator)


@torch.inference_mode()
def reconstructions(model: LatentVariableModel, x: torch.Tensor) -> torch.Tensor:
    """Mean of p(x | z = E[z|x]) for x: (B, *input_shape) -> (B, *input_shape)."""
    return model.reconstruct(x)


def slerp(a: torch.Tensor, b: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between a, b: (D,) at weights (S,) -> (S, D) (White, 2016)."""
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-6:
        return torch.lerp(a, b, weights[:, None])
    w = weights[:, None]
    return (torch.sin((1 - w) * omega) * a + torch.sin(w * omega) * b) / torch.sin(omega)


@torch.inference_mode()
def interpolate(
    model: LatentVariableModel,
    x_start: torch.Tensor,
    x_end: torch.Tensor,
    num_steps: int,
    *,
    method: str = "linear",
) -> torch.Tensor:
    """Decode latents on a path between the posterior means of two examples.

    x_start, x_end: (*input_shape). Returns (num_steps, *input_shape), endpoints included.
    """
    if num_steps < 2:
        raise ConfigError(f"interpolation needs at least 2 steps, got {num_steps}")
    if method not in ("linear", "slerp"):
        raise ConfigError(f"unknown interpolation method {method!r}; choose linear or slerp")
    z = model.encode(torch.stack([x_start, x_end])).mean
    weights = torch.linspace(0.0, 1.0, num_steps, device=z.device, dtype=z.dtype)
    if method == "slerp":
        path = slerp(z[0], z[1], weights)
    else:
        path = torch.lerp(z[0], z[1], weights[:, None])
    return model.decode(path).mean


@torch.inference_mode()
def traverse(
    model: LatentVariableModel,
    x: torch.Tensor,
    dims: list[int],
    values: torch.Tensor,
) -> torch.Tensor:
    """Vary one latent coordinate at a time around the posterior mean of x.

    x: (*input_shape); dims: latent indices; values: (S,) settings of each coordinate.
    Returns (len(dims) * S, *input_shape), row-major by dim.
    """
    if not dims:
        raise ConfigError("a traversal needs at least one latent dim")
    bad = [d for d in dims if not 0 <= d < model.latent_dim]
    if bad:
        raise ConfigError(f"latent dim {bad[0]} out of range 0..{model.latent_dim - 1}")
    z = model.encode(x.unsqueeze(0)).mean[0]
    values = values.to(device=z.device, dtype=z.dtype)
    rows = []
    for dim in dims:
        grid = z.repeat(values.shape[0], 1)
        grid[:, dim] = values
        rows.append(grid)
    return model.decode(torch.cat(rows)).mean
