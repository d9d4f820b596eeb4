"""Networks: tensors in, tensors out. Nothing here builds a distribution."""

from vaekit.nn.conv import ConvDecoder, ConvEncoder, downsampled_sizes
from vaekit.nn.mlp import ACTIVATIONS, MLP, FlattenMLP, MLPToShape
from vaekit.nn.resnet import (
    ResConvDecoder,
    ResConvEncoder,
    ResidualBlock,
    ResidualConvBlock,
)

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "ConvDecoder",
    "ConvEncoder",
    "FlattenMLP",
    "MLPToShape",
    "ResConvDecoder",
    "ResConvEncoder",
    "ResidualBlock",
    "ResidualConvBlock",
    "downsampled_sizes",
]
