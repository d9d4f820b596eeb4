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


def _linear_skip(in_features: int, out_features: int, enabled: bool) -> nn.Linear | None:
    """The linear map added beside an MLP, or None. Zero-initialized, so the network starts
    as the plain MLP and the optimizer decides how much of the linear path to use."""
    if not enabled:
        return None
    skip = nn.Linear(in_features, out_features, bias=False)
    nn.init.zeros_(skip.weight)
    return skip


class FlattenMLP(nn.Module):
    """An MLP over flattened inputs: (B, *in_shape) -> (B, out_features).

    With linear_skip, a linear map of the input is added to the MLP's output: the network
    holds factor analysis as a special case, which small tables need (an MLP alone learns a
    near-linear map slowly from a few hundred rows; docs/benchmarks/tables.md).
    """

    def __init__(
        self,
        in_shape: tuple[int, ...],
        hidden_dims: tuple[int, ...],
        out_features: int,
        activation: str,
        linear_skip: bool = False,
    ) -> None:
        super().__init__()
        num_in = 1
        for size in in_shape:
            num_in *= size
        self.mlp = MLP(num_in, hidden_dims, out_features, activation)
        self.skip = _linear_skip(num_in, out_features, linear_skip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(start_dim=1)
        out = self.mlp(flat)
        return out if self.skip is None else out + self.skip(flat)


class MLPToShape(nn.Module):
    """An MLP whose output is reshaped: (B, in_features) -> (B, *out_shape).

    linear_skip adds a linear map of the input to the output, as in FlattenMLP.
    """

    def __init__(
        self,
        in_features: int,
        hidden_dims: tuple[int, ...],
        out_shape: tuple[int, ...],
        activation: str,
        linear_skip: bool = False,
    ) -> None:
        super().__init__()
        num_out = 1
        for size in out_shape:
            num_out *= size
        self.out_shape = tuple(out_shape)
        self.mlp = MLP(in_features, hidden_dims, num_out, activation)
        self.skip = _linear_skip(in_features, num_out, linear_skip)

    @property
    def output_bias(self) -> nn.Parameter:
        """The last layer's bias, (prod(out_shape),): the output for an all-zero hidden state."""
        return self.mlp.layers[-1].bias

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.mlp(z)
        if self.skip is not None:
            out = out + self.skip(z)
        return out.view(z.shape[0], *self.out_shape)
