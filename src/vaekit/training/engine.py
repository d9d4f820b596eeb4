"""How a step computes its loss: the model's batch loss as a module's forward (so that
DistributedDataParallel, which hooks forward, and torch.compile can wrap it), mixed precision
by torch.autocast, and the gradient scaler fp16 needs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch.nn.parallel import DistributedDataParallel

from vaekit.errors import ConfigError
from vaekit.models import HierarchicalVAE, LatentVariableModel
from vaekit.objectives import batch_loss
from vaekit.training.config import PRECISIONS, TrainConfig
from vaekit.training.distributed import World
from vaekit.training.state import fused_path_applies

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class LossModule(torch.nn.Module):
    """forward(x, y, beta, generator) -> (loss, reconstruction, kl), the scalar batch means
    of `batch_loss` in nats per example for the configured objective."""

    def __init__(self, model: LatentVariableModel, config: TrainConfig) -> None:
        super().__init__()
        self.model = model
        self.objective = config.objective
        self.num_samples = config.iw_train_samples
        self.free_bits = config.free_bits

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None,
        beta: float | torch.Tensor,
        generator: torch.Generator | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return batch_loss(
            self.model,
            x,
            y=y,
            kl_weight=beta,
            objective=self.objective,
            num_samples=self.num_samples,
            free_bits=self.free_bits,
            generator=generator,
        )


def build_loss_module(
    model: LatentVariableModel, config: TrainConfig, world: World, *, compile: bool = False
) -> torch.nn.Module:
    """The module a step calls: LossModule, wrapped in DistributedDataParallel when there are
    several ranks (it averages the gradients over them during backward), then compiled when
    asked. Weights are still read and saved from `model` itself."""
    module: torch.nn.Module = LossModule(model, config)
    if world.is_distributed:
        device = next(model.parameters()).device
        device_ids = [device.index] if device.type == "cuda" else None
        module = DistributedDataParallel(module, device_ids=device_ids)
    if compile:
        module = torch.compile(module)
    return module


def check_precision(precision: str, device: torch.device) -> None:
    """ConfigError for a precision the device cannot train in."""
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type == "mps":
        raise ConfigError("fp16 training needs a gradient scaler, which mps lacks; use bf16")


def resolve_precision(
    config: TrainConfig,
    model: LatentVariableModel,
    device: torch.device,
    world: World,
    *,
    compile: bool,
) -> str:
    """The format config.precision asks for, with "auto" made concrete: bf16 on a CPU with
    bf16 dot-product instructions for the models where vaekit has measured it to pay
    (bf16_measured), in one process without torch.compile; fp32 everywhere else."""
    if config.precision != "auto":
        return config.precision
    plain = not world.is_distributed and not compile
    on_bf16_cpu = device.type == "cpu" and cpu_has_bf16_matmul()
    return "bf16" if plain and on_bf16_cpu and bf16_measured(model, config) else "fp32"


def bf16_measured(model: LatentVariableModel, config: TrainConfig) -> bool:
    """Whether bf16 training of `model` was measured on a CPU with bf16 instructions to reach
    fp32's quality in less time: the fused MLP step (whole_run.md: the canonical run 2.47x
    against 1.83x the textbook script, ELBO -242.60 against -242.65) and the hierarchical
    VAE with an MLP trunk and a Bernoulli decoder, the `fast` preset's model, under autocast
    (likelihood_levers_2threads.md: 1.39x the steps in 600 s, NLL -0.30 nats). The class is
    matched exactly: a subclass may compute something else."""
    if fused_path_applies(model, config):
        return True
    if type(model) is not HierarchicalVAE:
        return False
    return (
        model.config.arch == "mlp"
        and model.config.likelihood == "bernoulli"
        and config.objective == "elbo"
    )


def cpu_has_bf16_matmul() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX): without
    those instructions oneDNN emulates bf16 and it is slower than fp32."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # private helpers; an older or newer torch
        return False


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """Run the enclosed forward in `precision` (fp32: no autocast at all, so full-precision
    runs compute exactly what they did before mixed precision existed)."""
    if precision == "fp32":
        yield
        return
    with torch.autocast(device_type=device.type, dtype=AUTOCAST_DTYPES[precision]):
        yield


def make_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler | None:
    """A GradScaler for fp16 (its narrow range underflows small gradients unless the loss is
    scaled up first); None for fp32 and bf16, whose range is fp32's."""
    if precision != "fp16":
        return None
    return torch.amp.GradScaler(device.type)
