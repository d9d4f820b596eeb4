"""Configs of the autoencoder models: frozen, validated, JSON round-trippable."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from vaekit.config_fields import config_from_dict, config_to_dict
from vaekit.errors import ConfigError
from vaekit.likelihoods import LIKELIHOODS
from vaekit.nn import ACTIVATIONS
from vaekit.priors import PRIORS

ARCHITECTURES = ("mlp", "conv", "resconv")
# sanity caps, so a hostile config.json cannot ask for terabytes before weights are read
MAX_INPUT_DIMS = 2**26
MAX_WIDTH = 2**16


@dataclass(frozen=True)
class AEConfig:
    """Networks shared by the AE and the VAE.

    input_shape: per-example shape, (C, H, W) for images or (D,) for vectors.
    arch: "mlp" (any shape), "conv" or "resconv" (images only: plain or residual conv
    stages); hidden_dims are the MLP widths (decoder mirrors them); conv_channels the widths
    of the stride-2 conv stages. linear_skip (mlp only) adds a linear map beside the encoder's
    and the decoder's MLP, so the model contains factor analysis (the table recipe's choice).
    """

    input_shape: tuple[int, ...]
    latent_dim: int = 16
    arch: str = "mlp"
    hidden_dims: tuple[int, ...] = (400,)
    conv_channels: tuple[int, ...] = (32, 64)
    activation: str = "relu"
    likelihood: str = "bernoulli"
    linear_skip: bool = False

    def __post_init__(self) -> None:
        if not self.input_shape or any(size < 1 for size in self.input_shape):
            raise ConfigError(f"input_shape must be positive sizes, got {self.input_shape}")
        if math.prod(self.input_shape) > MAX_INPUT_DIMS:
            raise ConfigError(
                f"input_shape {self.input_shape} is larger than {MAX_INPUT_DIMS} values"
            )
        if not 1 <= self.latent_dim <= MAX_WIDTH:
            raise ConfigError(f"latent_dim must be in 1..{MAX_WIDTH}, got {self.latent_dim}")
        _check_choice("arch", self.arch, ARCHITECTURES)
        _check_choice("activation", self.activation, tuple(ACTIVATIONS))
        _check_choice("likelihood", self.likelihood, tuple(LIKELIHOODS))
        if self.arch != "mlp" and len(self.input_shape) != 3:
            raise ConfigError(
                f"arch {self.arch!r} needs (C, H, W) inputs, got shape {self.input_shape}"
            )
        if not isinstance(self.linear_skip, bool):
            raise ConfigError(f"linear_skip must be true or false, got {self.linear_skip!r}")
        if self.linear_skip and self.arch != "mlp":
            raise ConfigError(f"linear_skip applies to arch 'mlp' only, not {self.arch!r}")
        if self.arch != "mlp" and not self.conv_channels:
            raise ConfigError(f"arch {self.arch!r} needs at least one entry in conv_channels")
        if any(not 1 <= width <= MAX_WIDTH for width in (*self.hidden_dims, *self.conv_channels)):
            raise ConfigError(f"hidden_dims and conv_channels must be widths in 1..{MAX_WIDTH}")

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]):
        return config_from_dict(cls, payload)


# the VampPrior's K in Tomczak & Welling (2018)
DEFAULT_PSEUDO_INPUTS = 500
MAX_PSEUDO_INPUTS = 100_000


@dataclass(frozen=True)
class VAEConfig(AEConfig):
    """AEConfig plus the prior p(z). num_pseudo_inputs is the VampPrior's K (prior "vamp"
    only: another prior refuses a value other than the default)."""

    prior: str = "standard_normal"
    num_pseudo_inputs: int = DEFAULT_PSEUDO_INPUTS

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_choice("prior", self.prior, tuple(PRIORS))
        count = self.num_pseudo_inputs
        if isinstance(count, bool) or not isinstance(count, int):
            raise ConfigError(f"num_pseudo_inputs must be an integer, got {count!r}")
        if not 1 <= count <= MAX_PSEUDO_INPUTS:
            raise ConfigError(f"num_pseudo_inputs must be in 1..{MAX_PSEUDO_INPUTS}, got {count}")
        if self.prior != "vamp" and count != DEFAULT_PSEUDO_INPUTS:
            raise ConfigError(
                f"num_pseudo_inputs ({count}) applies to prior 'vamp' only, not {self.prior!r}"
            )


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; choose from {', '.join(choices)}")
