"""Numpy containers for examples before they become tensors, and the random split of user data."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from vaekit.data.mapped import MappedExamples, take_rows
from vaekit.errors import ConfigError, DataError

TEST_FRACTION = 0.2
VAL_FRACTION = 0.1
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class RawExamples:
    """Examples of one source, validated and scaled, not yet split.

    x: (N, *shape); images float32 in [0, 1] (or MappedExamples, which give such values per
        batch), tables float64 as stored.
    y: (N,) int64 labels >= 0, or None.
    kind: "image" | "table"; levels: distinct stored values or None; scaling: one sentence.
    feature_names: tables read from a CSV: the header's column names (labels left out).
    split: (N,) int of 0 (train), 1 (val), 2 (test) when the file fixes the split (an .npz
        with a `split` member, e.g. latents from `vaekit encode --split all`), else None.
    """

    x: np.ndarray | MappedExamples
    y: np.ndarray | None
    kind: str
    levels: int | None
    scaling: str
    feature_names: tuple[str, ...] | None = None
    split: np.ndarray | None = None


@dataclass(frozen=True)
class RawSplits:
    """Train/val/test arrays sharing kind, levels and scaling (see RawExamples)."""

    train: RawExamples
    val: RawExamples
    test: RawExamples


def take(examples: RawExamples, index: np.ndarray | slice) -> RawExamples:
    """The examples at `index` (an index array or a slice), as contiguous copies or views
    (mapped images stay mapped)."""
    y = None if examples.y is None else examples.y[index]
    return dataclasses.replace(examples, x=take_rows(examples.x, index), y=y)


def split_examples(examples: RawExamples, val_size: int | None, seed: int) -> RawSplits:
    """Split with a RandomState(seed) permutation: 20% test, val_size (default 10%) val, rest train.

    Each split keeps file order (its indices are sorted). Raises DataError for fewer than 3
    examples and ConfigError when val_size leaves no training examples. Examples whose file
    fixes the split (`examples.split`) keep it: see `fixed_split`.
    """
    if examples.split is not None:
        return fixed_split(examples, val_size)
    num = examples.x.shape[0]
    if num < 3:
        raise DataError(f"need at least 3 examples to make train/val/test splits, got {num}")
    num_test = max(1, int(num * TEST_FRACTION))
    num_val = val_size if val_size is not None else max(1, int(num * VAL_FRACTION))
    if num - num_test - num_val < 1:
        raise ConfigError(
            f"val_size={num_val} leaves no training examples ({num} examples, {num_test} for test)"
        )
    # a code per example rather than three sorted slices of the permutation: the same
    # splits, and the permutation (8 bytes an example) is freed before any split is made
    perm = np.random.RandomState(seed).permutation(num)
    codes = np.zeros(num, dtype=np.uint8)
    codes[perm[:num_test]] = SPLIT_CODES["test"]
    codes[perm[num_test : num_test + num_val]] = SPLIT_CODES["val"]
    del perm
    parts = {
        name: take(examples, np.flatnonzero(codes == code)) for name, code in SPLIT_CODES.items()
    }
    return RawSplits(**parts)


def fixed_split(examples: RawExamples, val_size: int | None) -> RawSplits:
    """The split the file records: examples.split (N,) of 0 train, 1 val, 2 test.

    ConfigError when val_size is given (the file decides), DataError when a code is not 0,
    1 or 2 or the train split would be empty.
    """
    if val_size is not None:
        raise ConfigError("val_size cannot apply: the file fixes its own train/val/test split")
    codes = examples.split
    if codes.shape != examples.x.shape[:1] or not np.isin(codes, list(SPLIT_CODES.values())).all():
        raise DataError(
            f"the split member must hold one of 0 (train), 1 (val), 2 (test) per example, "
            f"got shape {codes.shape} with values {np.unique(codes)[:5].tolist()}"
        )
    if not (codes == 0).any():
        raise DataError("the split member puts no example in the train split (code 0)")
    parts = {
        name: take(dataclasses.replace(examples, split=None), np.flatnonzero(codes == code))
        for name, code in SPLIT_CODES.items()
    }
    return RawSplits(**parts)
