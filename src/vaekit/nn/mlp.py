"""Multilayer perceptrons: tensors in, tensors out."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}


class MLP(nn.Module):
    """Linear layers with an activation between them (none after the last).

    in_features -> hidden_dims... -> out_features; an empty `hidden_dims` gives one linear map.
    forward: (B, in_features) -> (B, out_features).
    """

    def __init__(
        self,
        in_features: int,
        hidden_dims: tuple[int, ...],
        out_features: int,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        widths = (in_features, *hidden_dims, out_features)
        layers: list[nn.Module] = []
        for i, (width_in, width_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(width_in, width_out))
            if i < len(widths) - 2:
                layers.append(ACTIVATIONS[activation]())
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class FlattenMLP(nn.Module):
    """An MLP over flattened inputs: (B, *in_shape) -> (B, out_features)."""

    def __init__(
        self,
        in_shape: tuple[int, ...],
        hidden_dims: tuple[int, ...],
        out_features: int,
        activation: str,
    ) -> None:
        super().__init__()
        num_in = 1
        for size in in_shape:
            num_in *= size
        self.mlp = MLP(num_in, hidden_dims, out_features, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x.flatten(start_dim=1))


class MLPToShape(nn.Module):
    """An MLP whose output is reshaped: (B, in_features) -> (B, *out_shape)."""

    def __init__(
        self,
        in_features: int,
        hidden_dims: tuple[int, ...],
        out_shape: tuple[int, ...],
        activation: str,
    ) -> None:
        super().__init__()
        num_out = 1
        for size in out_shape:
            num_out *= size
        self.out_shape = tuple(out_shape)
        self.mlp = MLP(in_features, hidden_dims, num_out, activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(z).view(z.shape[0], *self.out_shape)
