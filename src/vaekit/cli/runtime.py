"""What every command shares: device, threads, seeding, opening a run, output paths."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

import torch

from vaekit.cli.argtypes import SEED, THREADS
from vaekit.data import (
    DataConfig,
    DataSpec,
    DataSplits,
    Split,
    dequantize_batch,
    load_data,
    noise_widths,
)
from vaekit.data.mapped import MappedExamples, binarized_split
from vaekit.errors import CheckpointError, ConfigError
from vaekit.models import LatentVariableModel, load_model
from vaekit.training.distributed import local_rank_from, rank_from


def add_run_arguments(parser: argparse.ArgumentParser, *, with_split: bool) -> None:
    parser.add_argument("run_dir", help="a run directory written by `vaekit train`")
    if with_split:
        parser.add_argument("--split", default="test", help="train | val | test (default: test)")


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        default="auto",
        help="auto | cpu | cuda[:N] | mps (default: auto = cuda, else mps, else cpu)",
    )
    parser.add_argument(
        "--threads", type=THREADS, default=None, help="CPU threads (default: torch's)"
    )
    parser.add_argument("--seed", type=SEED, default=0, help="random seed (default: 0)")


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return backend is not None and bool(backend.is_available())


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' picks CUDA, then Apple's MPS, then the CPU; anything else must name an
    available device. Under torchrun (local_rank > 0 or WORLD_SIZE > 1), a bare 'cuda'
    means this process's GPU, cuda:<LOCAL_RANK>."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if mps_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for but no CUDA device is available")
        if device.index is None:
            device = torch.device("cuda", local_rank)
        if device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"--device {device} asked for, but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible"
            )
        torch.cuda.set_device(device)
    elif device.type == "mps" and not mps_available():
        raise ConfigError("--device mps was asked for but MPS is not available")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    return device


def process_rank() -> int:
    """This process's rank under torchrun (RANK), 0 when run on its own."""
    return rank_from(os.environ)


def apply_runtime(args: argparse.Namespace) -> torch.device:
    """Set threads and seeds once, for the whole command; return the device (under torchrun,
    this process's GPU for cuda)."""
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return resolve_device(args.device, local_rank_from(os.environ))


def seeded_generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def open_model(run_dir: str, device: torch.device) -> LatentVariableModel:
    return load_model(run_dir).to(device)


def run_data_config(model: LatentVariableModel, *, eval_limit: int | None = None) -> DataConfig:
    """The DataConfig a run was trained with (eval_limit replaced)."""
    payload = model.metadata.get("data_config")
    if payload is None:
        raise CheckpointError(
            "this model records no data config; it was not trained by `vaekit train`"
        )
    return DataConfig.from_dict({**payload, "eval_limit": eval_limit})


def run_data(model: LatentVariableModel, *, eval_limit: int | None = None) -> DataSplits:
    """Reload the data a run was trained on (same source, split and binarization)."""
    return load_data(run_data_config(model, eval_limit=eval_limit))


def grey_run_data(model: LatentVariableModel) -> DataSplits:
    """A binarized run's data before binarization: same source, same splits."""
    return load_data(dataclasses.replace(run_data_config(model), binarize="none"))


def model_data_spec(model: LatentVariableModel) -> DataSpec:
    """The DataSpec a run recorded; for a model never trained by vaekit (save_pretrained
    straight after construction), one made from its input shape: (C, H, W) is an image of
    values in [0, 1], anything else a table in the model's own units."""
    payload = model.metadata.get("data")
    if payload is not None:
        return DataSpec.from_dict(payload)
    shape = tuple(model.config.input_shape)
    kind = "image" if len(shape) == 3 else "table"
    unknown = "unknown: the model records no data"
    return DataSpec(
        shape=shape, kind=kind, binarize="none", levels=None, source=unknown, scaling=unknown
    )


TRAIN_SCORING_SEED = 2  # val uses RandomState(1), test RandomState(0)


def pick_split(data: DataSplits, name: str) -> Split:
    """A split as scored: a dynamically binarized train split is binarized once, with a fixed
    seed, so commands see the same binary data the model was trained on (in distribution);
    a table's integer columns in train are dequantized once the same way."""
    if name not in ("train", "val", "test"):
        raise ConfigError(f"unknown split {name!r}; choose train, val or test")
    split = getattr(data, name)
    if name == "train" and data.spec.binarize == "dynamic":
        split = Split(x=binarized_split(split.x, TRAIN_SCORING_SEED), y=split.y)
    widths = noise_widths(data.spec)
    if name == "train" and widths is not None and isinstance(split.x, MappedExamples):
        columns = data.spec.dequantized_columns  # drawn as read, in raw units, as val and test
        split = Split(x=split.x.dequantized_once(columns, TRAIN_SCORING_SEED), y=split.y)
    elif name == "train" and widths is not None:
        generator = torch.Generator().manual_seed(TRAIN_SCORING_SEED)
        split = Split(x=dequantize_batch(split.x, widths, generator=generator), y=split.y)
    return split


def check_output(path: str | os.PathLike, suffixes: tuple[str, ...]) -> Path:
    """Validate an output path before any work is done."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"output {path} must end in {' or '.join(suffixes)}")
    if path.exists() and path.is_dir():
        raise ConfigError(f"output {path} is a directory")
    return path


def take_examples(x: torch.Tensor, count: int, what: str) -> torch.Tensor:
    if count < 1:
        raise ConfigError(f"{what} must be >= 1, got {count}")
    return x[: min(count, x.shape[0])]
