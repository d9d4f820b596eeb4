"""Named training recipes: a model and a TrainConfig that go together.

`vaekit train --preset NAME` starts from one of these; any flag given explicitly overrides
the preset's value. Figures for each are in docs/benchmarks/quality.md; the recipes are
sized for 28x28 images on a 2-core CPU and bounded by wall-clock time, not epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vaekit.errors import ConfigError


@dataclass(frozen=True)
class Preset:
    """model: registry key; model_fields: its config fields (besides input_shape and
    likelihood, which come from the data); train_fields: TrainConfig fields."""

    description: str
    model: str
    model_fields: dict[str, Any] = field(default_factory=dict)
    train_fields: dict[str, Any] = field(default_factory=dict)


_HVAE = {
    "arch": "mlp",
    "hidden_dims": (512,),
    "latent_dim": 16,
    "num_latent_layers": 3,
    "state_dim": 256,
}
_RECIPE = {
    "batch_size": 128,
    "lr": 2e-3,
    "lr_schedule": "cosine",
    "lr_warmup_steps": 200,
    "lr_final_factor": 0.02,
    "ema_decay": 0.999,
    "grad_clip": 200.0,
    "epochs": 1000,  # the time budget ends the run
}

# Chosen by measurement (docs/benchmarks/quality_run1.md): with this recipe the hierarchical
# VAE ran about 0.75x the epochs per second of a wide one-layer VAE (MLP 512-512, 32 latents,
# then the `fast` candidate), scored 3.9 nats lower NLL after 1,200 s than that VAE after
# 600 s, and its NLL-time curve was already well ahead at 492 s; so both presets use it.
PRESETS: dict[str, Preset] = {
    "fast": Preset(
        "hierarchical VAE, 3 stochastic layers of 16, 10 minutes of training",
        "hvae",
        _HVAE,
        {**_RECIPE, "time_budget_seconds": 600.0},
    ),
    "best": Preset(
        "hierarchical VAE, 3 stochastic layers of 16, 2 hours of training",
        "hvae",
        _HVAE,
        {**_RECIPE, "time_budget_seconds": 7200.0},
    ),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]
