"""Mini-batches drawn by index from one contiguous tensor (no per-sample __getitem__)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import torch

from vaekit.data.splits import Split
from vaekit.errors import ConfigError


class Batch(NamedTuple):
    """What flows from the loader to the loss: x (B, *shape) and labels y (B,) int64 or None.

    A label of -1 marks an example whose label is unknown (semi-supervised training); models
    that do not use labels ignore y.
    """

    x: torch.Tensor
    y: torch.Tensor | None = None


def iterate_batches(
    split: Split,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[Batch]:
    """Yield Batch(x, y) batches covering the split once: x (B, *shape), y (B,) or None.

    With shuffle, the order is torch.randperm(N, generator=generator); without, batches are
    views in file order. drop_last skips a final batch smaller than batch_size.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    num = len(split)
    stop = num - num % batch_size if drop_last else num
    if not shuffle:
        for start in range(0, stop, batch_size):
            end = start + batch_size
            y = None if split.y is None else split.y[start:end]
            yield Batch(split.x[start:end], y)
        return
    # draw the order where the generator lives, then index on the data's device
    perm_device = generator.device if generator is not None else torch.device("cpu")
    order = torch.randperm(num, generator=generator, device=perm_device).to(split.x.device)
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        yield Batch(split.x[idx], None if split.y is None else split.y[idx])
