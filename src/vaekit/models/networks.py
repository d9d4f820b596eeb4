"""Build encoder and decoder trunks from a model config."""

from __future__ import annotations

from torch import nn

from vaekit.models.config import AEConfig
from vaekit.nn import (
    ConvDecoder,
    ConvEncoder,
    FlattenMLP,
    MLPToShape,
    ResConvDecoder,
    ResConvEncoder,
)


def build_encoder(config: AEConfig, out_features: int) -> nn.Module:
    """(B, *input_shape) -> (B, out_features)."""
    if config.arch == "resconv":
        return ResConvEncoder(
            config.input_shape, config.conv_channels, out_features, config.activation
        )
    if config.arch == "conv":
        return ConvEncoder(
            config.input_shape, config.conv_channels, out_features, config.activation
        )
    return FlattenMLP(
        config.input_shape,
        config.hidden_dims,
        out_features,
        config.activation,
        linear_skip=config.linear_skip,
    )


def build_decoder(
    config: AEConfig, params_per_dim: int, in_features: int | None = None
) -> nn.Module:
    """(B, in_features) -> (B, params_per_dim * C, ...) with the data's trailing shape.

    in_features defaults to latent_dim (a hierarchical model decodes a wider state).
    """
    in_features = config.latent_dim if in_features is None else in_features
    channels, *rest = config.input_shape
    out_shape = (params_per_dim * channels, *rest)
    if config.arch == "resconv":
        return ResConvDecoder(in_features, out_shape, config.conv_channels, config.activation)
    if config.arch == "conv":
        return ConvDecoder(in_features, out_shape, config.conv_channels, config.activation)
    return MLPToShape(
        in_features,
        tuple(reversed(config.hidden_dims)),
        out_shape,
        config.activation,
        linear_skip=config.linear_skip,
    )
