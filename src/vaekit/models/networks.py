"""Build encoder and decoder trunks from a model config."""

from __future__ import annotations

from torch import nn

from vaekit.models.config import AEConfig
from vaekit.nn import ConvDecoder, ConvEncoder, FlattenMLP, MLPToShape


def build_encoder(config: AEConfig, out_features: int) -> nn.Module:
    """(B, *input_shape) -> (B, out_features)."""
    if config.arch == "conv":
        return ConvEncoder(
            config.input_shape, config.conv_channels, out_features, config.activation
        )
    return FlattenMLP(config.input_shape, config.hidden_dims, out_features, config.activation)


def build_decoder(config: AEConfig, params_per_dim: int) -> nn.Module:
    """(B, latent_dim) -> (B, params_per_dim * C, ...) with the data's trailing shape."""
    channels, *rest = config.input_shape
    out_shape = (params_per_dim * channels, *rest)
    if config.arch == "conv":
        return ConvDecoder(config.latent_dim, out_shape, config.conv_channels, config.activation)
    return MLPToShape(
        config.latent_dim, tuple(reversed(config.hidden_dims)), out_shape, config.activation
    )
