"""save_model / load_model: config.json + model.safetensors, with a weights checksum.

config.json records the format version, the vaekit version, the registry key and config of
the model, the SHA-256 of model.safetensors, and any metadata sections (data spec, training
config). Loading checks every one of them; nothing is ever unpickled.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import torch

from vaekit.errors import CheckpointError, ConfigError
from vaekit.io import (
    read_json,
    read_tensor_shapes,
    read_tensors,
    sha256_file,
    write_json,
    write_tensors,
)
from vaekit.models.base import LatentVariableModel
from vaekit.models.registry import model_class, model_name
from vaekit.version import __version__

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def unwrap(model: LatentVariableModel) -> LatentVariableModel:
    """The module to save: torch.compile wraps it in `_orig_mod`."""
    return getattr(model, "_orig_mod", model)


def save_model(model: LatentVariableModel, directory: str | os.PathLike) -> None:
    """Write weights, then config.json naming their checksum (each file atomically)."""
    write_model_files(directory, model_files(model))


def model_files(model: LatentVariableModel) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """What save_model writes, taken now: host copies of the weights, and config.json's
    fields but the checksum. Training may change the model while these are written."""
    model = unwrap(model)
    weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    payload: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "vaekit_version": __version__,
        "model": {"name": model_name(model), "config": model.config.to_dict()},
        **copy.deepcopy(model.metadata),
    }
    return weights, payload


def write_model_files(
    directory: str | os.PathLike, files: tuple[dict[str, torch.Tensor], dict[str, Any]]
) -> None:
    """Write model_files' weights, then config.json naming their checksum."""
    weights, payload = files
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_tensors(directory / WEIGHTS_FILE, weights)
    checksum = sha256_file(directory / WEIGHTS_FILE)
    write_json(directory / CONFIG_FILE, {"weights_sha256": checksum, **payload})


def read_model_config(directory: str | os.PathLike) -> dict[str, Any]:
    """The parsed config.json of a saved model, with its format version checked."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"no model directory at {directory}")
    payload = read_json(directory / CONFIG_FILE)
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{directory / CONFIG_FILE} has format_version {version!r}; "
            f"this vaekit reads {FORMAT_VERSION}"
        )
    if not isinstance(payload.get("model"), dict):
        raise CheckpointError(f"{directory / CONFIG_FILE} has no 'model' section")
    return payload


def load_model(
    directory: str | os.PathLike, *, expected_class: type | None = None
) -> LatentVariableModel:
    """Rebuild a model from config.json and load model.safetensors into it (strictly).

    Order matters for hostile files: the weights' checksum is verified, then the model is
    built on the meta device (no memory) and its tensor names and shapes are checked against
    the safetensors header; only then are real tensors allocated and read.
    """
    directory = Path(directory)
    payload = read_model_config(directory)
    weights_path = directory / WEIGHTS_FILE
    if not weights_path.is_file():
        raise CheckpointError(f"missing file {weights_path}")
    expected_sha = payload.get("weights_sha256")
    if not isinstance(expected_sha, str):
        raise CheckpointError(f"{directory / CONFIG_FILE} lacks the weights_sha256 checksum")
    if sha256_file(weights_path) != expected_sha:
        raise CheckpointError(f"{weights_path} does not match the checksum in {CONFIG_FILE}")
    cls, config = _model_config(payload["model"], directory / CONFIG_FILE)
    if expected_class is not None and not issubclass(cls, expected_class):
        raise CheckpointError(
            f"{directory} holds a {cls.__name__}, not a {expected_class.__name__}"
        )
    with torch.device("meta"):
        skeleton = cls(config)
    check_tensor_shapes(skeleton.state_dict(), read_tensor_shapes(weights_path), weights_path)
    model = cls(config)
    model.load_state_dict(read_tensors(weights_path), strict=True)
    model.metadata = {
        key: value
        for key, value in payload.items()
        if key not in ("format_version", "vaekit_version", "model", "weights_sha256")
    }
    model.eval()
    return model


def _model_config(section: dict, source: Path) -> tuple[type[LatentVariableModel], Any]:
    try:
        cls = model_class(section.get("name"))
        return cls, cls.config_class.from_dict(section.get("config"))
    except ConfigError as err:
        raise CheckpointError(f"{source}: {err}") from None


def check_tensor_shapes(
    expected: dict[str, torch.Tensor], shapes: dict[str, tuple[int, ...]], source: Path
) -> None:
    """Name any missing, unexpected or wrongly shaped tensor."""
    missing = sorted(set(expected) - set(shapes))
    extra = sorted(set(shapes) - set(expected))
    if missing:
        raise CheckpointError(f"{source} lacks tensor {missing[0]!r} ({len(missing)} missing)")
    if extra:
        raise CheckpointError(f"{source} has unexpected tensor {extra[0]!r} ({len(extra)} extra)")
    for name, shape in shapes.items():
        if tuple(shape) != tuple(expected[name].shape):
            raise CheckpointError(
                f"{source}: tensor {name!r} has shape {tuple(shape)}, "
                f"the model needs {tuple(expected[name].shape)}"
            )


def load_state_strict(model: LatentVariableModel, tensors: dict, source: Path) -> None:
    """Load tensors, naming any missing, unexpected or wrongly shaped one."""
    shapes = {name: tuple(tensor.shape) for name, tensor in tensors.items()}
    check_tensor_shapes(model.state_dict(), shapes, source)
    model.load_state_dict(tensors, strict=True)
