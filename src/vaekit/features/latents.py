"""Posterior means as features."""

from __future__ import annotations

import torch

from vaekit.errors import ConfigError
from vaekit.models import LatentVariableModel


@torch.inference_mode()
def posterior_means(
    model: LatentVariableModel, x: torch.Tensor, *, batch_size: int = 1000
) -> torch.Tensor:
    """Means of q(z|x) for every example, in batches on the model's device.

    x: (N, *input_shape) model inputs. Returns (N, latent_dim) float32 on the CPU.
    Raises ConfigError for a conditional model, whose posterior needs the label.
    """
    if model.is_conditional:
        raise ConfigError(
            f"{type(model).__name__} is conditional: its posterior q(z|x, y) needs the label, "
            "so its latents are no label-free features"
        )
    device = next(model.parameters()).device
    means = [
        model.encode(x[start : start + batch_size].to(device)).mean.float().cpu()
        for start in range(0, x.shape[0], batch_size)
    ]
    return torch.cat(means)
