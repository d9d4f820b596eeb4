"""Hiding training labels for semi-supervised learning: keep k per class, mark the rest -1."""

from __future__ import annotations

import numpy as np
import torch

from vaekit.data.mapped import MappedExamples
from vaekit.data.splits import Split
from vaekit.errors import ConfigError, DataError

UNKNOWN_LABEL = -1
# keeps the choice of labelled examples apart from other draws seeded by the same seed
LABEL_CHOICE_SEED_OFFSET = 7919


def keep_labels_per_class(
    y: torch.Tensor | None, per_class: int, *, num_classes: int | None, seed: int, source: str
) -> torch.Tensor:
    """A copy of y (N,) int64 with `per_class` labels kept in each class 0..num_classes-1 and
    every other label set to -1; the kept examples are drawn without replacement by a
    torch.Generator seeded with seed + LABEL_CHOICE_SEED_OFFSET.

    Raises ConfigError when there are no labels, DataError when a class has fewer than
    `per_class` labelled examples.
    """
    if y is None or num_classes is None:
        raise ConfigError(f"labels_per_class={per_class} needs labelled data; {source} has none")
    generator = torch.Generator().manual_seed(seed + LABEL_CHOICE_SEED_OFFSET)
    hidden = torch.full_like(y, UNKNOWN_LABEL)
    for label in range(num_classes):
        members = torch.nonzero(y == label).flatten()
        if members.numel() < per_class:
            raise DataError(
                f"labels_per_class={per_class}: class {label} has only {members.numel()} "
                f"labelled training examples in {source}"
            )
        chosen = members[torch.randperm(members.numel(), generator=generator)[:per_class]]
        hidden[chosen] = label
    return hidden


def repeat_labelled(split: Split, repeats: int, source: str) -> Split:
    """The split with repeats - 1 more copies of each labelled example (y >= 0) appended:
    (N + (repeats - 1) * N_labelled, ...). ConfigError when no example is labelled."""
    if split.y is None or not bool((split.y >= 0).any()):
        raise ConfigError(f"labelled_repeats={repeats} needs labelled training examples; "
                          f"{source} has none")  # fmt: skip
    index = torch.nonzero(split.y >= 0).flatten().repeat(repeats - 1)
    y = torch.cat([split.y, split.y[index]])
    if isinstance(split.x, MappedExamples):  # more rows of the same file, not copies
        return Split(split.x.take(np.concatenate([np.arange(len(split)), index.numpy()])), y)
    return Split(torch.cat([split.x, split.x[index]]), y)
