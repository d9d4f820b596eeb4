"""vaekit: variational autoencoders on PyTorch.

Public API re-exports only; importing vaekit has no side effects. The names are resolved
on first use (PEP 562), so `import vaekit` and the `vaekit` command's first moments do not
wait for torch: a Ctrl-C then ends the command cleanly instead of inside an import.
"""

from __future__ import annotations

import importlib
from typing import Any

from vaekit.version import __version__ as __version__

# public name -> the module that defines it
_EXPORTS = {
    **dict.fromkeys(("Batch", "DataConfig", "DataSpec", "load_data"), "vaekit.data"),
    **dict.fromkeys(("Bernoulli", "DiagonalGaussian", "kl"), "vaekit.distributions"),
    **dict.fromkeys(
        ("CheckpointError", "ConfigError", "DataError", "TrainingError", "VaekitError"),
        "vaekit.errors",
    ),
    **dict.fromkeys(("EvalReport", "evaluate"), "vaekit.evaluation"),
    **dict.fromkeys(
        (
            "AE",
            "MODELS",
            "VAE",
            "AEConfig",
            "CVAEConfig",
            "ConditionalVAE",
            "HierarchicalVAE",
            "LatentVariableModel",
            "M2",
            "M2Config",
            "HVAEConfig",
            "VAEConfig",
            "load_model",
            "save_model",
        ),
        "vaekit.models",
    ),
    **dict.fromkeys(("ELBOTerms", "elbo_terms", "iwae_bound"), "vaekit.objectives"),
    **dict.fromkeys(("TrainConfig", "fit", "table_recipe"), "vaekit.training"),
    "nats_to_bits_per_dim": "vaekit.units",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'vaekit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
