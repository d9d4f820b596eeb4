"""Writing command outputs: PNG grids or NumPy arrays, atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vaekit.data import DataSpec
from vaekit.errors import ConfigError
from vaekit.io import write_with_atomic
from vaekit.reporting import save_image_grid


def save_tensor_output(
    values: torch.Tensor, path: Path, spec: DataSpec, *, num_columns: int | None = None
) -> None:
    """values: (N, *spec.shape) in model space -> .png grid (images) or .npy array."""
    if path.suffix.lower() == ".png":
        if spec.kind != "image":
            raise ConfigError(f"{spec.source} holds tables, not images; write a .npy file instead")
        save_image_grid(values.cpu(), path, num_columns=num_columns)
        return
    array = values.detach().cpu().numpy()
    if spec.feature_mean is not None and spec.feature_std is not None:
        # tables were standardized for training: give users their own units back
        array = array * np.asarray(spec.feature_std, dtype=array.dtype) + np.asarray(
            spec.feature_mean, dtype=array.dtype
        )
    write_with_atomic(path, lambda tmp: _save_npy(tmp, array))


def _save_npy(tmp: Path, array: np.ndarray) -> None:
    with open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
