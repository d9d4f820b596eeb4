"""Residual trunks: convolutional (images) and fully connected (vectors).

Every residual branch ends in a layer whose initial weights are scaled down by
BRANCH_INIT_SCALE, so each block starts close to the identity and a deep stack starts close
to a shallow one (VDVAE scales its last convolution the same way; fully zero weights would
also zero the gradients of the branch's first layer): gradients stay well scaled at any
depth without normalisation layers, whose batch statistics would make training and
evaluation outputs differ.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vaekit.nn.conv import downsampled_sizes, upsampling_plan
from vaekit.nn.mlp import ACTIVATIONS

BRANCH_INIT_SCALE = 0.1


def _shrink(layer: nn.Module) -> None:
    with torch.no_grad():
        layer.weight.mul_(BRANCH_INIT_SCALE)
        layer.bias.zero_()


class ResidualConvBlock(nn.Module):
    """x + conv3x3(act(conv3x3(act(x)))): (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, channels: int, activation: str = "relu") -> None:
        super().__init__()
        self.branch = nn.Sequential(
            ACTIVATIONS[activation](),
            nn.Conv2d(channels, channels, 3, padding=1),
            ACTIVATIONS[activation](),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        _shrink(self.branch[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


class ResidualBlock(nn.Module):
    """x + linear(act(linear(act(x)))) on feature vectors: (B, F) -> (B, F)."""

    def __init__(self, features: int, activation: str = "relu", hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or features
        self.branch = nn.Sequential(
            ACTIVATIONS[activation](),
            nn.Linear(features, hidden),
            ACTIVATIONS[activation](),
            nn.Linear(hidden, features),
        )
        _shrink(self.branch[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


class ResConvEncoder(nn.Module):
    """(B, C, H, W) -> (B, out_features): a 3x3 stem, then per stage a stride-2 conv and one
    residual block, then a linear map of the flattened features."""

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        channels: tuple[int, ...],
        out_features: int,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        in_channels, height, width = in_shape
        layers: list[nn.Module] = [nn.Conv2d(in_channels, channels[0], 3, padding=1)]
        width_in = channels[0]
        for width_out in channels:
            layers += [
                ACTIVATIONS[activation](),
                nn.Conv2d(width_in, width_out, 3, stride=2, padding=1),
                ResidualConvBlock(width_out, activation),
            ]
            width_in = width_out
        layers.append(ACTIVATIONS[activation]())
        self.stages = nn.Sequential(*layers)
        final_h = downsampled_sizes(height, len(channels))[-1]
        final_w = downsampled_sizes(width, len(channels))[-1]
        self.head = nn.Linear(width_in * final_h * final_w, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(x).flatten(start_dim=1))


class ResConvDecoder(nn.Module):
    """(B, in_features) -> (B, out_channels, H, W): a linear map, then per stage (in reverse
    order of `channels`) one residual block and a stride-2 transposed conv, then a 3x3 conv.

    output_padding restores the exact side lengths, so odd sizes round-trip (7 -> 4 -> 7).
    """

    def __init__(
        self,
        in_features: int,
        out_shape: tuple[int, int, int],
        channels: tuple[int, ...],
        activation: str = "relu",
    ) -> None:
        super().__init__()
        out_channels, height, width = out_shape
        # the last stage stays at channels[0]; a 3x3 conv then maps to out_channels
        self.start_shape, stages = upsampling_plan(height, width, channels, channels[0])
        self.project = nn.Linear(in_features, math.prod(self.start_shape))
        layers: list[nn.Module] = []
        for width_in, width_out, padding in stages:
            layers += [
                ResidualConvBlock(width_in, activation),
                ACTIVATIONS[activation](),
                nn.ConvTranspose2d(
                    width_in, width_out, 3, stride=2, padding=1, output_padding=padding
                ),
            ]
        layers += [ACTIVATIONS[activation](), nn.Conv2d(channels[0], out_channels, 3, padding=1)]
        self.stages = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.stages(self.project(z).view(z.shape[0], *self.start_shape))
