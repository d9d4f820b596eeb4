"""PNG grids of images: the only place vaekit turns tensors into pictures."""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from PIL import Image

from vaekit.errors import DataError
from vaekit.io import write_with_atomic


def image_grid(
    images: torch.Tensor, *, num_columns: int | None = None, padding: int = 2
) -> np.ndarray:
    """Tile images (N, C, H, W) with values in [0, 1] into one uint8 array (H', W', C)."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise DataError(
            f"image grids need (N, 1 or 3, H, W) tensors, got shape {tuple(images.shape)}"
        )
    count, channels, height, width = images.shape
    columns = num_columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = (
        np.ones(
            (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
            dtype=np.uint8,
        )
        * 255
    )
    pixels = (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    for index in range(count):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top : top + height, left : left + width] = pixels[index].transpose(1, 2, 0)
    return grid


def save_image_grid(
    images: torch.Tensor,
    path: str | os.PathLike,
    *,
    num_columns: int | None = None,
    min_side: int = 512,
) -> None:
    """Write a PNG grid of images (N, C, H, W) in [0, 1], upscaled (nearest) to >= min_side px."""
    grid = image_grid(images, num_columns=num_columns)
    picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    scale = max(1, math.ceil(min_side / max(picture.size)))
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    write_with_atomic(path, lambda tmp: picture.save(tmp, format="PNG"))
