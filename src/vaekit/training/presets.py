"""Named training recipes: a model and a TrainConfig that go together.

`vaekit train --preset NAME` starts from one of these; any flag given explicitly overrides
the preset's value. A preset may hold a variant per kind of data (DATA_KINDS): 8-bit images
get a single-latent VAE with a discretized-logistic decoder that `vaekit compress` can code.
Figures are in docs/benchmarks/quality.md and eightbit.md; the recipes are sized for 28x28
images on a 2-core CPU and bounded by wall-clock time, not epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from vaekit.data import DataSpec
from vaekit.errors import ConfigError
from vaekit.likelihoods import LIKELIHOODS, is_eight_bit_images

EIGHT_BIT = "8-bit images"
OTHER_DATA = "other data"
DATA_KINDS = (EIGHT_BIT, OTHER_DATA)


def data_kind(spec: DataSpec) -> str:
    """Which DATA_KINDS entry the data described by `spec` are."""
    return EIGHT_BIT if is_eight_bit_images(spec) else OTHER_DATA


@dataclass(frozen=True)
class Preset:
    """model: registry key; model_fields: its config fields (besides input_shape);
    likelihood: a LIKELIHOODS key, or None to take the data's default (likelihoods/
    defaults.py); train_fields: TrainConfig fields; variants: the recipe to use instead for
    a kind of data (a DATA_KINDS key), see for_data."""

    description: str
    model: str
    model_fields: dict[str, Any] = field(default_factory=dict)
    train_fields: dict[str, Any] = field(default_factory=dict)
    likelihood: str | None = None
    variants: dict[str, Preset] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.likelihood is not None and self.likelihood not in LIKELIHOODS:
            raise ConfigError(f"unknown likelihood {self.likelihood!r} in preset")
        for kind in self.variants.keys() - set(DATA_KINDS):
            raise ConfigError(f"unknown data kind {kind!r}; choose from {', '.join(DATA_KINDS)}")

    def for_data(self, spec: DataSpec) -> Preset:
        """The recipe for data described by `spec`: its kind's variant, else this one."""
        return self.variants.get(data_kind(spec), self)


_HVAE = {
    "arch": "mlp",
    "hidden_dims": (512,),
    "latent_dim": 16,
    "num_latent_layers": 4,
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
# The hierarchical presets take larger batches: in 600 s a batch of 512 goes through ~2x the
# examples a batch of 128 does on this CPU (106 epochs against 44 on 2 threads), with the
# learning rate raised to match (docs/benchmarks/likelihood_levers.md: -0.40 nats NLL on one
# thread; 1024 gained less; quality.md: `fast` 229.57 against 230.76 in fp32, 229.25 in
# bf16). `best`'s one- and two-hour figures were measured with batch 128 and lr 2e-3, before
# this change.
_HVAE_RECIPE = {**_RECIPE, "batch_size": 512, "lr": 4e-3}

# Measured (docs/benchmarks/, NLL K = 1000 on the first 2,000 test images): this model and
# recipe 231.00 nats after 600 s and 230.24 after 1,200 s; the wide MLP VAE (512-512, 32
# latents) that `fast` used to be, 234.13 after 600 s; with the autoregressive decoder
# (bernoulli_ar) the hierarchical VAE scored worse within these budgets (232.23 / 231.33).
# With all 10,000 test images (docs/benchmarks/quality.md): fast 230.76, best 229.54 (batch
# 128, lr 2e-3, before _HVAE_RECIPE). `best` trains one hour: its NLL-against-time curve
# gained under a nat in the second half-hour. Levers on `fast` in 600 s, one thread, NLL on
# 1,000 test images (docs/benchmarks/likelihood_levers.md): batch 512 with lr 4e-3 -0.40
# nats; the IWAE objective (K = 4), data-dependent init, a mixture top prior and
# torch.compile did not help. On a CPU with bf16 instructions `vaekit train` runs this model
# in bf16 (--precision auto): 2 threads, 600 s, first 1,000 test images
# (likelihood_levers_2threads.md): 1.39x the steps, NLL 228.53 against 228.82 in fp32.
# A fourth stochastic layer of 16 (likelihood_levers_bf16.md and _seed1.md, bf16, 2 threads,
# 600 s, two seeds) lowered the test -ELBO by 0.51 and 0.40 nats and the NLL by 0.24 and 0.14
# against 3 layers, though it fits ~15% fewer steps in the budget; 3 layers of 32, an MLP
# 512-512 and an MLP 1024 with state 512 were worse. The figures above these lines that name
# no layer count were measured with 3 layers.
#
# 8-bit images (docs/benchmarks/eightbit.md, 600 s on the shared 2-core machine, -ELBO on the
# 10,000 test images): a single-latent VAE with convolutional encoder and decoder (channels
# 32, 64), which the bits-back coder codes exactly, 3.342 bits/dim; the ReLU MLP 512 it
# replaced 3.457, the hierarchical VAE (3 x 16 latents, MLP) 3.459, the MLP with a mixture
# of 5 discretized logistics 3.603 (fewer epochs: 15 decoder outputs per pixel). `best`
# (3,600 s, 128 epochs): 3.279, coded at 3.2792.
_EIGHT_BIT_VAE = {
    "arch": "conv",
    "conv_channels": (32, 64),
    "hidden_dims": (512,),
    "latent_dim": 64,
    "activation": "relu",
}
_EIGHT_BIT_LIKELIHOOD = "discretized_logistic"


def _eight_bit(minutes: int) -> Preset:
    return Preset(
        f"VAE, convolutional (channels 32, 64), 64 latents, discretized logistic, {minutes} "
        "minutes of training "
        "(codable by vaekit compress)",
        "vae",
        _EIGHT_BIT_VAE,
        {**_RECIPE, "time_budget_seconds": 60.0 * minutes},
        likelihood=_EIGHT_BIT_LIKELIHOOD,
    )


PRESETS: dict[str, Preset] = {
    "fast": Preset(
        "hierarchical VAE, 4 stochastic layers of 16, 10 minutes of training",
        "hvae",
        _HVAE,
        {**_HVAE_RECIPE, "time_budget_seconds": 600.0},
        variants={EIGHT_BIT: _eight_bit(10)},
    ),
    "best": Preset(
        "hierarchical VAE, 4 stochastic layers of 16, 1 hour of training",
        "hvae",
        _HVAE,
        {**_HVAE_RECIPE, "time_budget_seconds": 3600.0},
        variants={EIGHT_BIT: _eight_bit(60)},
    ),
}


def preset_train_fields(
    preset: Preset, given: dict[str, Any], num_train_examples: int
) -> tuple[dict[str, Any], list[str]]:
    """The preset's TrainConfig fields overridden by the `given` ones, and notes on what
    was adapted. The presets are time-bounded (epochs=1000 and a time budget): when epochs
    are given and no budget, the budget is dropped so the run and its learning-rate
    schedule follow the epochs, and a warm-up longer than a tenth of the planned steps is
    cut to that tenth, so a short run does not end inside its warm-up."""
    fields = {**preset.train_fields, **given}
    notes = []
    budget = preset.train_fields.get("time_budget_seconds")
    if "epochs" in given and "time_budget_seconds" not in given and budget is not None:
        del fields["time_budget_seconds"]
        notes.append(
            f"--epochs {given['epochs']} replaces the preset's time budget of {budget:g} s: "
            "the run and its learning-rate schedule follow the epochs"
        )
        steps = given["epochs"] * math.ceil(num_train_examples / fields.get("batch_size", 128))
        warmup = fields.get("lr_warmup_steps", 0)
        if "lr_warmup_steps" not in given and warmup > steps // 10:
            fields["lr_warmup_steps"] = steps // 10
            notes.append(
                f"the preset's {warmup}-step learning-rate warm-up is cut to {steps // 10} "
                f"steps, a tenth of this run's {steps}"
            )
    return fields, notes


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]


# Table recipe, measured on scikit-learn's tables and a 100,000-row synthetic one
# (docs/benchmarks/tables.md): a linear path beside a 128-wide MLP, as many latents as
# columns (capped), small batches and early stopping for a few hundred rows.
TABLE_HIDDEN_DIMS = (128,)
TABLE_MAX_LATENT_DIM = 64
TABLE_STEPS = 60_000  # the most steps a table run plans; early stopping usually ends it
TABLE_PATIENCE_STEPS = 1_500


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def table_recipe(num_rows: int, num_columns: int) -> Preset:
    """The default VAE and training for a table of `num_rows` training rows x `num_columns`.

    Small tables get batches of 32 and up to 3,000 epochs; early stopping on the validation
    ELBO (patience ~1,500 steps, 5 to 50 epochs) ends the run once it stops improving.
    """
    if num_rows < 1 or num_columns < 1:
        raise ConfigError(f"a table needs rows and columns, got {num_rows} x {num_columns}")
    batch_size = 32 if num_rows < 2_000 else 128 if num_rows < 20_000 else 256
    steps_per_epoch = -(-num_rows // batch_size)
    return Preset(
        f"table recipe for {num_rows} rows x {num_columns} columns",
        "vae",
        {
            "hidden_dims": TABLE_HIDDEN_DIMS,
            "latent_dim": min(num_columns, TABLE_MAX_LATENT_DIM),
            "linear_skip": True,
        },
        {
            "batch_size": batch_size,
            "lr": 1e-3,
            "epochs": _clamp(-(-TABLE_STEPS // steps_per_epoch), 20, 3_000),
            "early_stopping_patience": _clamp(-(-TABLE_PATIENCE_STEPS // steps_per_epoch), 5, 50),
        },
    )
