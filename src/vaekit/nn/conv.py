"""Convolutional encoder and decoder trunks for images of any size and channel count.

Each downsampling stage is a stride-2 3x3 convolution, so a side of length s becomes
ceil(s / 2); the decoder mirrors the stages with transposed convolutions whose
output_padding restores the exact sizes, so odd sizes (e.g. 7 -> 4 -> 7) round-trip.
"""

from __future__ import annotations

import torch
from torch import nn

from vaekit.nn.mlp import ACTIVATIONS


def downsampled_sizes(size: int, num_stages: int) -> list[int]:
    """Side lengths after each stride-2 stage: [size, ceil(size/2), ...] (num_stages + 1 items)."""
    sizes = [size]
    for _ in range(num_stages):
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


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
        heights = downsampled_sizes(height, len(channels))
        widths = downsampled_sizes(width, len(channels))
        self.start_shape = (channels[-1], heights[-1], widths[-1])
        self.project = nn.Linear(in_features, channels[-1] * heights[-1] * widths[-1])
        layers: list[nn.Module] = [ACTIVATIONS[activation]()]
        widths_out = (*reversed(channels[:-1]), out_channels)
        width_in = channels[-1]
        for stage, width_out in enumerate(widths_out):
            level = len(channels) - stage  # index of the input side length in heights/widths
            padding = (
                heights[level - 1] - 2 * heights[level] + 1,
                widths[level - 1] - 2 * widths[level] + 1,
            )
            layers.append(
                nn.ConvTranspose2d(
                    width_in, width_out, 3, stride=2, padding=1, output_padding=padding
                )
            )
            if stage < len(widths_out) - 1:
                layers.append(ACTIVATIONS[activation]())
            width_in = width_out
        self.stages = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.stages(self.project(z).view(z.shape[0], *self.start_shape))
