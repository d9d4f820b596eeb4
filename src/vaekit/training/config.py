"""TrainConfig: every knob of fit(), frozen and validated."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from vaekit.config_fields import config_from_dict, config_to_dict
from vaekit.errors import ConfigError
from vaekit.models import LatentVariableModel, model_name
from vaekit.objectives import OBJECTIVES
from vaekit.training.schedules import LR_SCHEDULES

# the forward's floating-point format; the probability maths and the loss stay in fp32.
# "auto" is resolved when training starts (vaekit.training.engine.resolve_precision)
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    beta weights the KL term; kl_warmup_epochs ramps that weight linearly from 0 to beta
    over the given number of epochs (0 = off). grad_clip is a max global gradient norm
    (None = off). objective is "elbo" or "iwae" (the importance-weighted bound with
    iw_train_samples samples, Burda et al. 2015) and must be one the model's class declares
    (`check_model`); free_bits (nats, ELBO only) floors the batch-mean KL of each latent
    group (Kingma et al. 2016). checkpoint_every adds a checkpoint every N steps besides the
    one at each epoch end (None = epoch ends only). fast_path lets the plain ELBO of a model
    that declares `supports_fused_mlp` (the MLP VAE with ReLUs, a Bernoulli decoder and the
    N(0, I) prior) use the hand-written gradient of vaekit.models.fused_mlp (same loss and
    gradients, fewer kernels); False always uses autograd.

    The recipe: lr_schedule "cosine" anneals the learning rate from lr to
    lr * lr_final_factor over the run (the planned epochs, or time_budget_seconds when set),
    after a linear warm-up of lr_warmup_steps. ema_decay keeps an exponential moving average
    of the weights, which validation uses and the run directory exports.
    early_stopping_patience stops after that many epochs without a better validation ELBO.
    time_budget_seconds ends training once that much wall-clock time has passed (the epoch
    in progress is cut short and validated), whatever `epochs` says.
    data_init starts the decoder's output bias at the training data's mean (its first
    10,000 examples; vaekit.models.data_init), where the model's decoder allows it.
    weight_decay > 0 trains with AdamW's decoupled weight decay at that rate (0: plain Adam).
    precision "bf16" or "fp16" runs the networks under torch.autocast in that format (fp16
    with a gradient scaler); densities, KLs and the loss stay in fp32. "auto" becomes bf16
    where vaekit has measured it to train to the same ELBO in less time (the fused MLP step
    on a CPU with bf16 dot-product instructions) and fp32 elsewhere; fit() records the
    format it chose in the config it saves. batch_size is the
    global batch: with several processes (torchrun) each takes batch_size / processes.

    Non-finite steps (loss or gradient norm NaN/inf) are skipped and counted. After
    `rollback_after` in a row, the weights and optimizer go back to the last good checkpoint
    and the learning rate is multiplied by `rollback_lr_factor`; after `max_rollbacks`
    rollbacks, training stops with TrainingError.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    beta: float = 1.0
    kl_warmup_epochs: float = 0.0
    grad_clip: float | None = None
    eval_batch_size: int | None = None
    log_every: int = 50
    rollback_after: int = 5
    rollback_lr_factor: float = 0.5
    max_rollbacks: int = 3
    checkpoint_every: int | None = None
    objective: str = "elbo"
    iw_train_samples: int = 1
    free_bits: float = 0.0
    fast_path: bool = True
    lr_schedule: str = "constant"
    lr_warmup_steps: int = 0
    lr_final_factor: float = 0.0
    ema_decay: float | None = None
    early_stopping_patience: int | None = None
    time_budget_seconds: float | None = None
    weight_decay: float = 0.0
    data_init: bool = False
    precision: str = "fp32"

    @property
    def validation_batch_size(self) -> int:
        """eval_batch_size, or by default the training batch size capped at 200: batches no
        larger than training's fit in the memory training freed (measured: at batch 128,
        validating in batches of 200 raised the run's peak RSS by ~20 MiB)."""
        if self.eval_batch_size is not None:
            return self.eval_batch_size
        return min(self.batch_size, 200)

    def __post_init__(self) -> None:
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr}
        positive.update(eval_batch_size=self.validation_batch_size, log_every=self.log_every)
        positive.update(rollback_after=self.rollback_after)
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{name} must be > 0, got {value}")
        if not 0 < self.rollback_lr_factor <= 1 or self.max_rollbacks < 0:
            raise ConfigError("rollback_lr_factor must be in (0, 1] and max_rollbacks >= 0")
        if not (0 <= self.beta < math.inf and 0 <= self.kl_warmup_epochs < math.inf):
            raise ConfigError("beta and kl_warmup_epochs must be finite and >= 0")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ConfigError(f"grad_clip must be > 0, got {self.grad_clip}")
        if self.objective not in OBJECTIVES:
            raise ConfigError(
                f"unknown objective {self.objective!r}; choose from {', '.join(OBJECTIVES)}"
            )
        if not 1 <= self.iw_train_samples <= 10_000:
            raise ConfigError(f"iw_train_samples must be in 1..10000, got {self.iw_train_samples}")
        if not 0 <= self.weight_decay < math.inf:
            raise ConfigError(f"weight_decay must be finite and >= 0, got {self.weight_decay}")
        if not 0 <= self.free_bits < math.inf:
            raise ConfigError(f"free_bits must be finite and >= 0, got {self.free_bits}")
        if self.free_bits > 0 and self.objective != "elbo":
            raise ConfigError("free_bits applies to the elbo objective only")
        self._check_recipe()
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"unknown precision {self.precision!r}; choose from {', '.join(PRECISIONS)}"
            )
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise ConfigError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")

    def _check_recipe(self) -> None:
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(
                f"unknown lr_schedule {self.lr_schedule!r}; choose from {', '.join(LR_SCHEDULES)}"
            )
        if self.lr_warmup_steps < 0 or not 0 <= self.lr_final_factor <= 1:
            raise ConfigError("lr_warmup_steps must be >= 0 and lr_final_factor in [0, 1]")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise ConfigError(f"ema_decay must be in (0, 1), got {self.ema_decay}")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ConfigError(
                f"early_stopping_patience must be >= 1, got {self.early_stopping_patience}"
            )
        budget = self.time_budget_seconds
        if budget is not None and not 0 < budget < math.inf:
            raise ConfigError(f"time_budget_seconds must be > 0, got {budget}")

    def check_model(self, model: LatentVariableModel) -> None:
        """Raise ConfigError, before any step is taken, if `model` cannot be trained as
        configured: the objective must be one the model's class declares it trains on."""
        if not model.supports_objective(self.objective):
            raise ConfigError(
                f"objective {self.objective!r} does not apply to model {_model_label(model)}, "
                f"which trains on {', '.join(type(model).training_objectives)} only"
            )

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> TrainConfig:
        return config_from_dict(cls, payload)


def _model_label(model: LatentVariableModel) -> str:
    """The registry key of a model ('ae'), or its class name if it is not registered."""
    try:
        return repr(model_name(model))
    except ConfigError:
        return type(model).__name__
