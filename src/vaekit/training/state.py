"""TrainState: everything needed to continue training exactly where it stopped."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from vaekit.errors import CheckpointError
from vaekit.models import LatentVariableModel
from vaekit.models.fused_mlp import FusedMLPVAE, fused_mlp_supported
from vaekit.training.adam import FusedAdam, fused_adam_supported
from vaekit.training.config import TrainConfig
from vaekit.training.distributed import World
from vaekit.training.ema import WeightAverage

# FusedAdam, or torch.optim.Adam/AdamW where the fused kernel does not run
Optimizer = FusedAdam | torch.optim.Optimizer


@dataclass
class TrainState:
    """step counts optimizer steps taken; epoch counts finished epochs; batch_in_epoch the
    batches of the current epoch already consumed (0 at an epoch boundary)."""

    model: LatentVariableModel
    optimizer: Optimizer
    noise_generator: torch.Generator
    config: TrainConfig
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    skipped_steps: int = 0
    consecutive_skips: int = 0
    rollbacks: int = 0
    interrupted: bool = False
    # why fit() ended ("finished its 10 epochs", "stopped early after epoch 7: ...") and
    # whether it trained at all (False: resumed a run that was already finished)
    stop_reason: str | None = None
    trained: bool = False
    history: list[dict[str, float]] = field(default_factory=list)
    snapshot: dict[str, Any] | None = field(default=None, repr=False)
    snapshot_step: int = 0
    fast_path: FusedMLPVAE | None = field(default=None, repr=False)
    ema: WeightAverage | None = field(default=None, repr=False)
    train_seconds: float = 0.0  # wall-clock seconds spent in fit(), across resumes
    # this session's seconds by phase of fit(): steps, validation, checkpoints (with
    # metrics.csv); where a run's wall time goes, for timings.json
    phase_seconds: dict[str, float] = field(default_factory=dict, repr=False)
    # fit()'s background checkpoint writer (a training.checkpoint.CheckpointWriter) while
    # fit runs; None outside it: checkpoints are then written in the foreground
    checkpoint_writer: Any = field(default=None, repr=False)
    # how steps run: the ranks training together, the module computing the loss (the model's
    # loss, DDP-wrapped and/or compiled; None: the model's batch_loss directly) and fp16's
    # gradient scaler
    world: World = field(default_factory=World)
    loss_module: torch.nn.Module | None = field(default=None, repr=False)
    scaler: torch.amp.GradScaler | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._clock_origin = time.perf_counter()
        if self.ema is None and self.config.ema_decay is not None:
            self.ema = WeightAverage(self.model, self.config.ema_decay)

    def take_snapshot(self) -> None:
        """Remember the weights and optimizer state as the last good state (in memory)."""
        previous = self.snapshot or {}
        self.snapshot = {
            "model": copy_into(previous.get("model"), self.model.state_dict()),
            "optimizer": copy_into(previous.get("optimizer"), self.optimizer.state_dict()),
        }
        if self.ema is not None:
            self.snapshot["ema"] = (self.ema.state_tensors(), self.ema.num_updates)
        self.snapshot_step = self.step

    def rollback_to_snapshot(self, lr_factor: float) -> None:
        """Restore the last good weights and optimizer state, then scale the learning rate.

        Step, epoch and data position keep moving forward: the batches that caused the
        trouble are not replayed.
        """
        if self.snapshot is None:
            raise RuntimeError("no snapshot to roll back to")
        self.model.load_state_dict(self.snapshot["model"])
        self.optimizer.load_state_dict(self.snapshot["optimizer"])
        if self.ema is not None:
            self.ema.load_state_tensors(*self.snapshot["ema"])
        for group in self.optimizer.param_groups:
            group["lr"] *= lr_factor
        self.rollbacks += 1
        self.consecutive_skips = 0
        self.take_snapshot()  # the lowered rate is part of the new good state

    @classmethod
    def create(cls, model: LatentVariableModel, config: TrainConfig) -> TrainState:
        """Fresh state for training `model`; ConfigError if the model cannot train as
        configured (checked here, so fit() refuses before its first step)."""
        config.check_model(model)
        optimizer = make_adam(model, config.lr, config.weight_decay)
        noise_generator = torch.Generator(device=_device_of(model))
        noise_generator.manual_seed(config.seed + 1)
        return cls(model=model, optimizer=optimizer, noise_generator=noise_generator,
                   config=config, fast_path=_fast_path(model, config))  # fmt: skip

    def start_clock(self) -> None:
        """Count wall-clock time from now on top of the seconds of earlier sessions."""
        self._clock_origin = time.perf_counter() - self.train_seconds

    def elapsed_seconds(self) -> float:
        """Seconds spent training, this session and before; also kept in train_seconds."""
        self.train_seconds = time.perf_counter() - self._clock_origin
        return self.train_seconds

    def add_seconds(self, phase: str, seconds: float) -> None:
        """Count `seconds` of wall time towards `phase` in phase_seconds."""
        self.phase_seconds[phase] = self.phase_seconds.get(phase, 0.0) + seconds

    @property
    def eval_model(self) -> LatentVariableModel:
        """The weights to validate and export: the moving average when one is kept."""
        return self.ema.model if self.ema is not None else self.model

    def counters(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "skipped_steps": self.skipped_steps,
            "rollbacks": self.rollbacks,
            "history": self.history,
            "train_seconds": self.train_seconds,
            "ema_updates": self.ema.num_updates if self.ema is not None else 0,
            **({"scaler": self.scaler.state_dict()} if self.scaler is not None else {}),
        }

    def restore_counters(self, payload: dict[str, Any]) -> None:
        try:
            self.step = int(payload["step"])
            self.epoch = int(payload["epoch"])
            self.batch_in_epoch = int(payload["batch_in_epoch"])
            self.skipped_steps = int(payload["skipped_steps"])
            self.rollbacks = int(payload.get("rollbacks", 0))
            self.history = list(payload["history"])
            self.train_seconds = float(payload.get("train_seconds", 0.0))
            if self.ema is not None:
                self.ema.num_updates = int(payload.get("ema_updates", 0))
            if self.scaler is not None and "scaler" in payload:
                self.scaler.load_state_dict(dict(payload["scaler"]))
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(
                f"train_state.json is missing or has a bad field: {err}"
            ) from None


FUSED_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def _fast_path(model: LatentVariableModel, config: TrainConfig) -> FusedMLPVAE | None:
    """The fused MLP gradient when it computes exactly the configured loss, else None. It
    runs in fp32 and in bf16 (its GEMMs in bf16, as autocast would); fp16 takes autograd,
    for the gradient scaler."""
    dtype = FUSED_DTYPES.get(config.precision)
    if dtype is not None and fused_path_applies(model, config):
        return FusedMLPVAE(model, compute_dtype=dtype)
    return None


def fused_path_applies(model: LatentVariableModel, config: TrainConfig) -> bool:
    """Whether the fused MLP gradient computes exactly `config`'s loss for `model` (the plain
    ELBO of a supported MLP VAE, the fast path not turned off), whatever the precision."""
    plain_elbo = config.objective == "elbo" and config.free_bits == 0
    return config.fast_path and plain_elbo and fused_mlp_supported(model)


def copy_into(previous: Any, value: Any) -> Any:
    """A deep copy of `value` (nested dicts/lists of tensors and plain values) that reuses
    `previous`'s tensors where shapes and dtypes match: snapshots taken every epoch then
    do not allocate afresh each time, which measurably grew peak memory."""
    if isinstance(value, torch.Tensor):
        if (
            isinstance(previous, torch.Tensor)
            and previous.shape == value.shape
            and previous.dtype == value.dtype
            and previous.device == value.device
            and previous.data_ptr() != value.data_ptr()
        ):
            return previous.copy_(value.detach())
        return value.detach().clone()
    if isinstance(value, dict):
        old = previous if isinstance(previous, dict) else {}
        return {key: copy_into(old.get(key), item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        old = (
            previous
            if isinstance(previous, (list, tuple)) and len(previous) == len(value)
            else [None] * len(value)
        )
        return type(value)(copy_into(a, b) for a, b in zip(old, value))
    return copy.deepcopy(value)


def make_adam(model: torch.nn.Module, lr: float, weight_decay: float = 0.0) -> Optimizer:
    """Adam with the fused kernel (one pass over all parameters) where torch offers it;
    weight_decay > 0 gives AdamW's decoupled decay (Loshchilov & Hutter 2019), not an L2 term
    that Adam's scaling would weaken for parameters with large gradients. FusedAdam calls
    that kernel without torch.optim's import of torch._dynamo and per-step wrappers
    (training/adam.py); torch.optim where the kernel does not run."""
    params = list(model.parameters())
    if fused_adam_supported(params):
        return FusedAdam(params, lr, weight_decay=weight_decay)
    cls = torch.optim.AdamW if weight_decay > 0 else torch.optim.Adam
    options = {"lr": lr, "weight_decay": weight_decay} if weight_decay > 0 else {"lr": lr}
    try:
        return cls(model.parameters(), **options, fused=True)
    except (RuntimeError, TypeError, ValueError):  # device or torch version without it
        return cls(model.parameters(), **options)


def optimizer_to_files(optimizer: Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer state_dict into tensors (for safetensors) and JSON."""
    state_dict = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain_state: dict[str, dict[str, Any]] = {}
    for index, param_state in state_dict["state"].items():
        for key, value in param_state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value
            else:
                plain_state.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "plain_state": plain_state}


def optimizer_from_files(
    optimizer: Optimizer, tensors: dict[str, torch.Tensor], payload: dict
) -> None:
    """Inverse of optimizer_to_files; raises CheckpointError if the pieces do not fit."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if not name.startswith("optimizer."):
            continue
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    for index, extras in payload.get("plain_state", {}).items():
        state.setdefault(int(index), {}).update(extras)
    try:
        optimizer.load_state_dict({"state": state, "param_groups": payload["param_groups"]})
    except (KeyError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"optimizer state does not fit the model: {err}") from None


def _device_of(model: torch.nn.Module) -> torch.device:
    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")
