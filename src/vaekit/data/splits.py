"""Split and DataSplits: the tensors a trainer and evaluator consume."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vaekit.data.config import DataConfig
from vaekit.data.mapped import MappedExamples
from vaekit.data.spec import DataSpec
from vaekit.errors import DataError


@dataclass(frozen=True)
class Split:
    """One split of examples held as a single contiguous tensor, or left in a memory-mapped
    file (MappedExamples: x[start:stop] and x[index] give float32 tensors of those rows only).

    x: (N, *spec.shape) float32; images in [0, 1] ({0, 1} for binarized val/test),
        tables standardized.
    y: (N,) int64 labels, or None.
    """

    x: torch.Tensor | MappedExamples
    y: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.x.dtype != torch.float32 or self.x.ndim < 2:
            raise DataError(
                "Split.x must be float32 with shape (N, ...), "
                f"got {self.x.dtype} {tuple(self.x.shape)}"
            )
        if self.y is not None and (self.y.dtype != torch.int64 or self.y.shape != self.x.shape[:1]):
            raise DataError(
                f"Split.y must be int64 of shape ({self.x.shape[0]},), "
                f"got {self.y.dtype} {tuple(self.y.shape)}"
            )

    def __len__(self) -> int:
        return self.x.shape[0]


@dataclass(frozen=True)
class DataSplits:
    """Train, validation and test splits plus the DataSpec that describes them."""

    train: Split
    val: Split
    test: Split
    spec: DataSpec
    config: DataConfig | None = None  # how load_data made these splits; None if built by hand

    def __post_init__(self) -> None:
        for name, split in (("train", self.train), ("val", self.val), ("test", self.test)):
            if tuple(split.x.shape[1:]) != self.spec.shape:
                raise DataError(
                    f"{name} examples have shape {tuple(split.x.shape[1:])}, "
                    f"spec says {self.spec.shape}"
                )
