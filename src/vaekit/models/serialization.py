"""save_model / load_model: config.json + model.safetensors, with a weights checksum.

config.json records the format version, the vaekit version, the registry key and config of
the model, the SHA-256 of model.safetensors, and any metadata sections (data spec, training
config). Loading checks every one of them; nothing is ever unpickled.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vaekit.errors import CheckpointError, ConfigError
from vaekit.io import read_json, read_tensors, sha256_file, write_json, write_tensors
from vaekit.models.base import LatentVariableModel
from vaekit.models.registry import build_model, model_name
from vaekit.version import __version__

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def unwrap(model: LatentVariableModel) -> LatentVariableModel:
    """The module to save: torch.compile wraps it in `_orig_mod`."""
    return getattr(model, "_orig_mod", model)


def save_model(model: LatentVariableModel, directory: str | os.PathLike) -> None:
    """Write weights, then config.json naming their checksum (each file atomically)."""
    model = unwrap(model)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_tensors(directory / WEIGHTS_FILE, model.state_dict())
    payload: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "vaekit_version": __version__,
        "model": {"name": model_name(model), "config": model.config.to_dict()},
        "weights_sha256": sha256_file(directory / WEIGHTS_FILE),
        **model.metadata,
    }
    write_json(directory / CONFIG_FILE, payload)


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
    """Rebuild a model from config.json and load model.safetensors into it (strictly)."""
    directory = Path(directory)
    payload = read_model_config(directory)
    weights_path = directory / WEIGHTS_FILE
    if not weights_path.is_file():
        raise CheckpointError(f"missing file {weights_path}")
    expected_sha = payload.get("weights_sha256")
    if expected_sha is not None and sha256_file(weights_path) != expected_sha:
        raise CheckpointError(f"{weights_path} does not match the checksum in {CONFIG_FILE}")
    section = payload["model"]
    try:
        model = build_model(section.get("name"), section.get("config"))
    except ConfigError as err:
        raise CheckpointError(f"{directory / CONFIG_FILE}: {err}") from None
    if expected_class is not None and not isinstance(model, expected_class):
        raise CheckpointError(
            f"{directory} holds a {type(model).__name__}, not a {expected_class.__name__}"
        )
    load_state_strict(model, read_tensors(weights_path), weights_path)
    model.metadata = {
        key: value
        for key, value in payload.items()
        if key not in ("format_version", "vaekit_version", "model", "weights_sha256")
    }
    model.eval()
    return model


def load_state_strict(model: LatentVariableModel, tensors: dict, source: Path) -> None:
    """Load tensors, naming any missing, unexpected or wrongly shaped one."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing:
        raise CheckpointError(f"{source} lacks tensor {missing[0]!r} ({len(missing)} missing)")
    if extra:
        raise CheckpointError(f"{source} has unexpected tensor {extra[0]!r} ({len(extra)} extra)")
    for name, tensor in tensors.items():
        if tensor.shape != expected[name].shape:
            raise CheckpointError(
                f"{source}: tensor {name!r} has shape {tuple(tensor.shape)}, "
                f"the model needs {tuple(expected[name].shape)}"
            )
    model.load_state_dict(tensors, strict=True)
