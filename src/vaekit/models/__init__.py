"""Models: networks composed with distributions, a registry, and (de)serialization."""

from vaekit.models.ae import AE
from vaekit.models.base import LatentVariableModel
from vaekit.models.config import AEConfig, VAEConfig
from vaekit.models.cvae import ConditionalVAE, CVAEConfig
from vaekit.models.hierarchical import HierarchicalVAE, HVAEConfig
from vaekit.models.m2 import M2, M2Config
from vaekit.models.registry import MODELS, build_model, model_class, model_name
from vaekit.models.serialization import (
    load_model,
    load_state_strict,
    read_model_config,
    save_model,
    unwrap,
)
from vaekit.models.vae import VAE

__all__ = [
    "AE",
    "CVAEConfig",
    "ConditionalVAE",
    "M2",
    "M2Config",
    "HVAEConfig",
    "HierarchicalVAE",
    "MODELS",
    "VAE",
    "AEConfig",
    "LatentVariableModel",
    "VAEConfig",
    "build_model",
    "load_model",
    "load_state_strict",
    "model_class",
    "model_name",
    "read_model_config",
    "save_model",
    "unwrap",
]
