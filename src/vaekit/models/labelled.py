"""Networks that read a class label beside their input, shared by the conditional VAE and M2.

Labels reach them as class weights (B, num_classes): a one-hot row for a known class, any
probability row for a soft label (a class interpolation, or M2's q(y|x)). `label_weights`
turns the protocol's labels into such rows.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vaekit.errors import ConfigError
from vaekit.models.config import AEConfig
from vaekit.models.networks import build_decoder, build_encoder
from vaekit.nn import ACTIVATIONS, MLP, FlattenMLP

MAX_CLASSES = 100_000


def check_num_classes(num_classes: object) -> None:
    if not isinstance(num_classes, int) or isinstance(num_classes, bool):
        raise ConfigError(f"num_classes must be an integer, got {num_classes!r}")
    if not 2 <= num_classes <= MAX_CLASSES:
        raise ConfigError(f"num_classes must be in 2..{MAX_CLASSES}, got {num_classes}")


def label_weights(
    y: torch.Tensor, num_classes: int, *, dtype: torch.dtype, model_name: str
) -> torch.Tensor:
    """Class weights (B, num_classes) from labels.

    y: (B,) int class indices in 0..num_classes-1 (one-hot rows), or (B, num_classes) floats
    used as they are (soft labels, e.g. rows of probabilities). ConfigError otherwise.
    """
    if y.ndim == 2 and y.is_floating_point():
        if y.shape[1] != num_classes:
            raise ConfigError(
                f"soft labels for a {model_name} need {num_classes} columns, got {y.shape[1]}"
            )
        return y.to(dtype)
    if y.ndim != 1 or y.is_floating_point():
        raise ConfigError(
            f"a {model_name} takes labels (B,) ints or (B, {num_classes}) floats, "
            f"got {y.dtype} {tuple(y.shape)}"
        )
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        bad = int(y.min()) if int(y.min()) < 0 else int(y.max())
        raise ConfigError(
            f"label {bad} is out of range for a {model_name} of {num_classes} classes "
            f"(0..{num_classes - 1}; -1, unknown, is not allowed here)"
        )
    return F.one_hot(y, num_classes).to(dtype)


class LabelledEncoder(nn.Module):
    """(x (B, *input_shape), class weights (B, C)) -> (B, out_features).

    mlp: one MLP over [flattened x, weights] (the label enters at the input, as in Kingma et
    al. 2014); conv/resconv: the conv trunk's features of x, then [features, weights] through
    one hidden layer, since a label cannot join a convolution's input without a broadcast.
    """

    def __init__(self, config: AEConfig, num_classes: int, out_features: int) -> None:
        super().__init__()
        if config.arch == "mlp":
            num_in = math.prod(config.input_shape) + num_classes
            self.trunk = None
            self.head = FlattenMLP(
                (num_in,),
                config.hidden_dims,
                out_features,
                config.activation,
                linear_skip=config.linear_skip,
            )
            return
        width = config.hidden_dims[-1] if config.hidden_dims else 256
        self.trunk = nn.Sequential(build_encoder(config, width), ACTIVATIONS[config.activation]())
        self.head = MLP(width + num_classes, (width,), out_features, config.activation)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        features = x.flatten(start_dim=1) if self.trunk is None else self.trunk(x)
        return self.head(torch.cat([features, weights], dim=-1))


class LabelledDecoder(nn.Module):
    """(z (B, D), class weights (B, C)) -> decoder features (B, params_per_dim * C_x, ...):
    the configured decoder trunk reading [z, weights] at its first layer."""

    def __init__(self, config: AEConfig, num_classes: int, params_per_dim: int) -> None:
        super().__init__()
        self.net = build_decoder(
            config, params_per_dim, in_features=config.latent_dim + num_classes
        )

    def forward(self, z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, weights], dim=-1))


def tile_rows(weights: torch.Tensor, num_rows: int) -> torch.Tensor:
    """weights (B, C) repeated to (num_rows, C), num_rows a multiple of B: row k * B + b is
    row b, the layout the importance-weighted objectives give decoders."""
    repeats, remainder = divmod(num_rows, weights.shape[0])
    if remainder:
        raise ValueError(f"{num_rows} rows are not a multiple of the batch {weights.shape[0]}")
    return weights.repeat(repeats, 1)
