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
    rank: int = 0,
    num_ranks: int = 1,
) -> Iterator[Batch]:
    """Yield Batch(x, y) batches covering the split once: x (B, *shape), y (B,) or None.

    With shuffle, the order is torch.randperm(N, generator=generator); without, batches are
    views in file order. drop_last skips a final batch smaller than batch_size.

    With num_ranks > 1 (data-parallel training), batch_size is the global batch: every rank
    draws the same order, and rank `rank` gets its part of each global batch (rows split as
    torch.tensor_split does: B / num_ranks each when that divides). A final batch with fewer
    rows than ranks is skipped by all of them (see `num_batches`).
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not 0 <= rank < num_ranks:
        raise ConfigError(f"rank must be in 0..{num_ranks - 1}, got {rank}")
    num = len(split)
    stop = num - num % batch_size if drop_last else num
    if num_ranks > 1:
        yield from _rank_batches(split, batch_size, stop, shuffle, generator, rank, num_ranks)
        return
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


def num_batches(num: int, batch_size: int, *, drop_last: bool = False, num_ranks: int = 1) -> int:
    """How many batches `iterate_batches` yields for a split of `num` rows (on every rank)."""
    full, rest = divmod(num, batch_size)
    return full + (1 if rest >= num_ranks and not drop_last else 0)


def _rank_batches(
    split: Split,
    batch_size: int,
    stop: int,
    shuffle: bool,
    generator: torch.Generator | None,
    rank: int,
    num_ranks: int,
) -> Iterator[Batch]:
    """This rank's part of each global batch of the (shuffled) order."""
    if shuffle:
        perm_device = generator.device if generator is not None else torch.device("cpu")
        order = torch.randperm(len(split), generator=generator, device=perm_device)
    else:
        order = torch.arange(len(split))
    order = order.to(split.x.device)
    for start in range(0, stop, batch_size):
        global_batch = order[start : start + batch_size]
        if global_batch.shape[0] < num_ranks:
            return  # too few rows to give every rank one: all ranks skip it alike
        idx = global_batch.tensor_split(num_ranks)[rank]
        yield Batch(split.x[idx], None if split.y is None else split.y[idx])
