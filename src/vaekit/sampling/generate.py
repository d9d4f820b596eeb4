"""Generation from a trained model: prior samples, reconstructions, interpolations, traversals.

Each returns data-space tensors (the mean of p(x|z), e.g. pixel probabilities) shaped like
the model's input; pictures are made from them in `vaekit.reporting`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

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


def generation_labels(
    model: LatentVariableModel, num_samples: int, label: int | None = None
) -> torch.Tensor | None:
    """The labels to generate with: None for a model that does not read labels; for one that
    does (conditional or classifying), `label` for every sample, or without one the classes
    in turn (0, 1, ..., C-1, 0, ...), so a grid of C columns shows one class per column.
    ConfigError for a label given to a model without classes, or out of range."""
    num_classes = model.num_classes
    if not model.uses_labels or num_classes is None:
        if label is None:
            return None
        raise ConfigError(
            f"a {type(model).__name__} has no classes to generate from; a label applies to "
            "models that are conditional or classify (cvae, m2)"
        )
    if label is None:
        return torch.arange(num_samples) % num_classes
    if not 0 <= label < num_classes:
        raise ConfigError(f"label {label} is out of range 0..{num_classes - 1} of this model")
    return torch.full((num_samples,), label, dtype=torch.long)


def known_labels(
    model: LatentVariableModel, x: torch.Tensor, y: torch.Tensor | None
) -> torch.Tensor | None:
    """Labels for x (B, *input_shape) as the model needs them: None for a model that reads
    none; for a classifying model, y with unknown rows (-1, or all when None) set to the
    classifier's choice; a conditional model must be given every label (ConfigError)."""
    if not model.uses_labels:
        return None
    unknown = (
        torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        if y is None
        else (y.to(x.device) < 0)
    )
    if not bool(unknown.any()):
        return y.to(x.device)
    if not model.classifies:
        raise ConfigError(
            f"a {type(model).__name__} models p(x | y) and needs the label of every example; "
            "these examples have none"
        )
    guess = model.classify(x).argmax(dim=-1)
    return guess if y is None else torch.where(unknown, guess, y.to(x.device))


@torch.inference_mode()
def prior_samples(
    model: LatentVariableModel,
    num_samples: int,
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Decode z ~ p(z) (std scaled by temperature), given labels y (N,) for a model that
    reads them (see generation_labels): (N, *input_shape)."""
    _check_sampling(model, num_samples, temperature)
    return model.sample(num_samples, y=y, temperature=temperature, generator=generator)


@torch.inference_mode()
def prior_draws(
    model: LatentVariableModel,
    num_samples: int,
    *,
    y: torch.Tensor | None = None,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """x ~ p(x|z[, y]) for z ~ p(z) (std scaled by temperature): (N, *input_shape).

    Unlike prior_samples (the decoder's mean), these carry the likelihood's own noise, so
    synthetic table rows spread as much as real rows do.
    """
    _check_sampling(model, num_samples, temperature)
    z = model.prior().with_temperature(temperature).rsample_n(num_samples, generator=generator)
    labels = None if y is None else y.to(z.device)
    return model.decode(z, labels).sample(generator=generator)


@torch.inference_mode()
def reconstructions(
    model: LatentVariableModel, x: torch.Tensor, y: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean of p(x | z = E[z|x][, y]) for x: (B, *input_shape) -> (B, *input_shape).
    y: (B,) labels of x (-1 unknown), for a model that reads them."""
    return model.reconstruct(x, known_labels(model, x, y))


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
    y: torch.Tensor | None = None,
) -> torch.Tensor:
    """Decode latents on a path between the posterior means of two examples.

    x_start, x_end: (*input_shape); y: (2,) their labels, for a model that reads labels
    (see known_labels): the class condition then moves from one one-hot label to the other
    along with z. Returns (num_steps, *input_shape), endpoints included.
    """
    if num_steps < 2:
        raise ConfigError(f"interpolation needs at least 2 steps, got {num_steps}")
    if method not in ("linear", "slerp"):
        raise ConfigError(f"unknown interpolation method {method!r}; choose linear or slerp")
    x = torch.stack([x_start, x_end])
    labels = known_labels(model, x, y)
    z = model.encode(x, labels).mean
    weights = torch.linspace(0.0, 1.0, num_steps, device=z.device, dtype=z.dtype)
    if method == "slerp":
        path = slerp(z[0], z[1], weights)
    else:
        path = torch.lerp(z[0], z[1], weights[:, None])
    if labels is None:
        return model.decode(path).mean
    ends = F.one_hot(labels, model.num_classes).to(z.dtype)
    return model.decode(path, torch.lerp(ends[0], ends[1], weights[:, None])).mean


@torch.inference_mode()
def class_interpolation(
    model: LatentVariableModel,
    label_start: int,
    label_end: int,
    num_steps: int,
    num_rows: int,
    *,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Decode num_rows latents z ~ p(z), each held fixed along its row while the condition
    moves from one-hot label_start to one-hot label_end in num_steps soft labels
    (1 - w) e_a + w e_b. Models that read labels only. Returns
    (num_rows * num_steps, *input_shape), row-major."""
    if num_steps < 2 or num_rows < 1:
        raise ConfigError(f"need >= 2 steps and >= 1 row, got {num_steps} and {num_rows}")
    ends = generation_labels(model, 1, label_start), generation_labels(model, 1, label_end)
    _check_sampling(model, num_rows, temperature)
    prior = model.prior().with_temperature(temperature)
    z = prior.rsample_n(num_rows, generator=generator).repeat_interleave(num_steps, dim=0)
    one_hot = F.one_hot(torch.cat(ends), model.num_classes).to(device=z.device, dtype=z.dtype)
    weights = torch.linspace(0.0, 1.0, num_steps, device=z.device, dtype=z.dtype)
    soft = torch.lerp(one_hot[0], one_hot[1], weights[:, None]).repeat(num_rows, 1)
    return model.decode(z, soft).mean


@torch.inference_mode()
def traverse(
    model: LatentVariableModel,
    x: torch.Tensor,
    dims: list[int],
    values: torch.Tensor,
    y: torch.Tensor | None = None,
) -> torch.Tensor:
    """Vary one latent coordinate at a time around the posterior mean of x.

    x: (*input_shape); dims: latent indices; values: (S,) settings of each coordinate;
    y: () or (1,) label of x for a model that reads labels (see known_labels), held fixed.
    Returns (len(dims) * S, *input_shape), row-major by dim.
    """
    if not dims:
        raise ConfigError("a traversal needs at least one latent dim")
    bad = [d for d in dims if not 0 <= d < model.latent_dim]
    if bad:
        raise ConfigError(f"latent dim {bad[0]} out of range 0..{model.latent_dim - 1}")
    labels = known_labels(model, x.unsqueeze(0), None if y is None else y.reshape(1))
    z = model.encode(x.unsqueeze(0), labels).mean[0]
    values = values.to(device=z.device, dtype=z.dtype)
    rows = []
    for dim in dims:
        grid = z.repeat(values.shape[0], 1)
        grid[:, dim] = values
        rows.append(grid)
    grid = torch.cat(rows)
    if labels is None:
        return model.decode(grid).mean
    return model.decode(grid, labels.expand(grid.shape[0])).mean
