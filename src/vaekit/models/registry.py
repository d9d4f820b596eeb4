"""Registered model classes, by the key config.json stores."""

from __future__ import annotations

from vaekit.errors import ConfigError
from vaekit.models.ae import AE
from vaekit.models.base import LatentVariableModel
from vaekit.models.cvae import ConditionalVAE
from vaekit.models.hierarchical import HierarchicalVAE
from vaekit.models.m2 import M2
from vaekit.models.vae import VAE

MODELS: dict[str, type[LatentVariableModel]] = {
    "vae": VAE,
    "ae": AE,
    "hvae": HierarchicalVAE,
    "cvae": ConditionalVAE,
    "m2": M2,
}


def model_name(model: LatentVariableModel) -> str:
    """The registry key of a model instance."""
    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise ConfigError(f"{type(model).__name__} is not a registered model")


def model_class(name: str) -> type[LatentVariableModel]:
    if not isinstance(name, str) or name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name]


def build_model(name: str, config_payload: dict) -> LatentVariableModel:
    """Build a registered model from its name and a JSON config dict."""
    cls = model_class(name)
    return cls(cls.config_class.from_dict(config_payload))
