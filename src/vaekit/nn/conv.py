"""Convolutional encoder and decoder trunks for images of any size and channel count.

Each downsampling stage is a stride-2 3x3 convolution, so a side of length s becomes
ceil(s / 2); the decoder mirrors the stages with transposed convolutions whose
output_padding restores the exact sizes, so odd sizes (e.g. 7 -> 4 -> 7) round-trip.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vaekit.nn.mlp import ACTIVATIONS


def downsampled_sizes(size: int, num_stages: int) -> list[int]:
    """Side lengths after each stride-2 stage: [size, ceil(size/2), ...] (num_stages + 1 items)."""
    sizes = [size]
    for _ in range(num_stages):
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


def upsampling_plan(
    height: int, width: int, channels: tuple[int, ...], out_channels: int
) -> tuple[tuple[int, int, int], list[tuple[int, int, tuple[int, int]]]]:
    """How a decoder walks an encoder's stride-2 stages back up to (height, width).

    Returns the start shape (channels[-1], h, w) and, per stride-2 transposed conv in order,
    (in_channels, out_channels, output_padding); the paddings restore the exact side
    lengths. The last stage outputs `out_channels`.
    """
    heights = downsampled_sizes(height, len(channels))
    widths = downsampled_sizes(width, len(channels))
    widths_out = (*reversed(channels[:-1]), out_channels)
    stages, width_in = [], channels[-1]
    for stage, width_out in enumerate(widths_out):
        level = len(channels) - stage  # index of the input side length in heights/widths
        padding = (
            heights[level - 1] - 2 * heights[level] + 1,
            widths[level - 1] - 2 * widths[level] + 1,
        )
        stages.append((width_in, width_out, padding))
        width_in = width_out
    return (channels[-1], heights[-1], widths[-1]), stages


class ConvEncoder(nn.Module):
    """(B, C, H, W) -> (B, out_features) through stride-2 conv stages and a linear map."""

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        channels: tuple[int, ...],
        out_features: int,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        in_channels, height, width = in_shape
        layers: list[nn.Module] = []
        for width_out in channels:
            layers += [
                nn.Conv2d(in_channels, width_out, 3, stride=2, padding=1),
                ACTIVATIONS[activation](),
            ]
            in_channels = width_out
        self.stages = nn.Sequential(*layers)
        final_h = downsampled_sizes(height, len(channels))[-1]
        final_w = downsampled_sizes(width, len(channels))[-1]
        self.head = nn.Linear(in_channels * final_h * final_w, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(x).flatten(start_dim=1))


class ConvDecoder(nn.Module):
    """(B, in_features) -> (B, out_channels, H, W): a linear map then stride-2 transposed convs.

    `channels` lists the encoder's stage widths; the decoder walks them in reverse.
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
        self.start_shape, stages = upsampling_plan(height, width, channels, out_channels)
        self.project = nn.Linear(in_features, math.prod(self.start_shape))
        layers: list[nn.Module] = [ACTIVATIONS[activation]()]
        for stage, (width_in, width_out, padding) in enumerate(stages):
            layers.append(
                nn.ConvTranspose2d(
                    width_in, width_out, 3, stride=2, padding=1, output_padding=padding
                )
            )
            if stage < len(stages) - 1:
                layers.append(ACTIVATIONS[activation]())
        self.stages = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.stages(self.project(z).view(z.shape[0], *self.start_shape))
