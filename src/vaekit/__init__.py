"""vaekit: variational autoencoders on PyTorch.

Public API re-exports only; importing vaekit has no side effects.
"""

from vaekit.data import DataConfig, DataSpec, load_data
from vaekit.distributions import Bernoulli, DiagonalGaussian, kl
from vaekit.errors import CheckpointError, ConfigError, DataError, TrainingError, VaekitError
from vaekit.evaluation import EvalReport, evaluate
from vaekit.models import (
    AE,
    MODELS,
    VAE,
    AEConfig,
    HierarchicalVAE,
    HVAEConfig,
    VAEConfig,
    load_model,
    save_model,
)
from vaekit.objectives import ELBOTerms, elbo_terms, iwae_bound
from vaekit.training import TrainConfig, fit, table_recipe
from vaekit.units import nats_to_bits_per_dim
from vaekit.version import __version__

__all__ = [
    "AE",
    "MODELS",
    "VAE",
    "AEConfig",
    "Bernoulli",
    "CheckpointError",
    "ConfigError",
    "DataConfig",
    "DataError",
    "DataSpec",
    "DiagonalGaussian",
    "ELBOTerms",
    "EvalReport",
    "HVAEConfig",
    "HierarchicalVAE",
    "TrainConfig",
    "TrainingError",
    "VAEConfig",
    "VaekitError",
    "__version__",
    "elbo_terms",
    "evaluate",
    "fit",
    "iwae_bound",
    "kl",
    "load_data",
    "load_model",
    "nats_to_bits_per_dim",
    "save_model",
    "table_recipe",
]
