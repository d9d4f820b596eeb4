"""load_data: from a DataConfig to train/val/test tensors and the DataSpec describing them."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from vaekit.data.binarize import TEST_BINARIZE_SEED, VAL_BINARIZE_SEED, binarize_once
from vaekit.data.config import DataConfig
from vaekit.data.csvfile import read_csv_table
from vaekit.data.dequantize import dequantize_once, integer_columns
from vaekit.data.digits import load_digits_splits
from vaekit.data.imagefolder import read_image_folder
from vaekit.data.labels import keep_labels_per_class, repeat_labelled
from vaekit.data.mapped import MappedExamples
from vaekit.data.mnist import load_idx_splits
from vaekit.data.npfiles import read_npy, read_npz
from vaekit.data.npmap import map_examples
from vaekit.data.raw import RawExamples, RawSplits, split_examples
from vaekit.data.spec import DataSpec
from vaekit.data.splits import DataSplits, Split
from vaekit.data.standardize import column_stats, constant_columns, standardize
from vaekit.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

BUILTIN_LOADERS: dict[str, Callable[[DataConfig], RawSplits]] = {
    "digits": load_digits_splits,
    "fashion-mnist": functools.partial(load_idx_splits, "fashion-mnist"),
    "mnist": functools.partial(load_idx_splits, "mnist"),
}
DATASETS = tuple(BUILTIN_LOADERS)
FILE_READERS: dict[str, Callable[[Path, DataConfig], RawExamples]] = {
    ".npy": read_npy,
    ".npz": read_npz,
    ".csv": read_csv_table,
}
STATIC_TRAIN_SEED_OFFSET = 1000
_EVAL_BINARIZED = "val/test binarized once (val RandomState(1), test RandomState(0))"


def _read_source(config: DataConfig) -> RawSplits:
    """Built-in dataset splits, or a user file/folder read and split by config.seed."""
    if config.source in BUILTIN_LOADERS:
        if config.label_column is not None:
            raise ConfigError(f"label_column applies to CSV files only, not {config.source!r}")
        if config.input_shape is not None:
            raise ConfigError(
                f"input_shape applies to user files only; {config.source!r} has its own shape"
            )
        return BUILTIN_LOADERS[config.source](config)
    path = Path(config.source).expanduser()
    if not path.exists():
        raise DataError(
            f"no built-in dataset or file named {config.source!r}; "
            f"built-in datasets: {', '.join(DATASETS)}"
        )
    reader = read_image_folder if path.is_dir() else FILE_READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{path}: unsupported file type; use .npy, .npz, .csv or an image folder")
    if config.label_column is not None and reader is not read_csv_table:
        raise ConfigError(f"label_column applies to CSV files only, not {config.source!r}")
    # uint8/bool images stored uncompressed stay in the file, mapped; the rest is read
    examples = map_examples(path, config) if reader in (read_npy, read_npz) else None
    if examples is None:
        examples = reader(path, config)
    return split_examples(examples, config.val_size, config.seed)


def absolute_source(source: str) -> str:
    """A built-in dataset name as given; an existing file or folder as its absolute path, so a
    saved DataConfig still finds it from another working directory; anything else as given
    (load_data names it in its error)."""
    if source in BUILTIN_LOADERS:
        return source
    path = Path(source).expanduser()
    return str(path.resolve()) if path.exists() else source


def _with_x(examples: RawExamples, x: np.ndarray) -> RawExamples:
    return dataclasses.replace(examples, x=x)


def _standardize(
    raw: RawSplits, source: str, dequantized: tuple[int, ...]
) -> tuple[RawSplits, np.ndarray, np.ndarray]:
    """Tables standardized by train-split column mean/std; returns (splits, mean, std).

    The `dequantized` integer columns of val and test get their noise once, before scaling
    (val RandomState(1), test RandomState(0)); train's noise is drawn per batch by fit().
    """
    mean, std = column_stats(raw.train.x, source, dequantized)
    constant = [j for j in constant_columns(raw.train.x) if j not in dequantized]
    if constant:  # a Gaussian scores such a column at its variance floor: a free few nats
        logger.warning(
            "%s: column(s) %s hold one value in the training split and carry no information; "
            "consider dropping them",
            source,
            [int(j) for j in constant],
        )
    named = {
        "train": raw.train,
        "val": _with_x(raw.val, dequantize_once(raw.val.x, dequantized, VAL_BINARIZE_SEED)),
        "test": _with_x(raw.test, dequantize_once(raw.test.x, dequantized, TEST_BINARIZE_SEED)),
    }
    scaled = {
        name: _with_x(e, standardize(e.x, mean, std, source=source, split=name))
        for name, e in named.items()
    }
    return RawSplits(**scaled), mean, std


def _binarized_once(
    x: np.ndarray | MappedExamples, seed: int, *, shuffled: bool = False
) -> np.ndarray | MappedExamples:
    """binarize_once(x, seed); mapped images are binarized batch by batch as they are read
    (the same values), or, for a split read in shuffled order, kept as packed bits."""
    if not isinstance(x, MappedExamples):
        return binarize_once(x, seed)
    return x.packed_bits_once(seed) if shuffled else x.binarized_once(seed)


def _binarize(raw: RawSplits, config: DataConfig) -> RawSplits:
    """Static: train once with RandomState(seed + 1000); static and dynamic: val and test per
    protocol. The offset keeps train's noise apart from test's RandomState(0) at seed 0."""
    if config.binarize == "none":
        return raw
    train = raw.train
    if config.binarize == "static":
        seed = STATIC_TRAIN_SEED_OFFSET + config.seed
        train = _with_x(train, _binarized_once(train.x, seed, shuffled=True))
    return RawSplits(
        train=train,
        val=_with_x(raw.val, _binarized_once(raw.val.x, VAL_BINARIZE_SEED)),
        test=_with_x(raw.test, _binarized_once(raw.test.x, TEST_BINARIZE_SEED)),
    )


def _scaling(raw: RawSplits, config: DataConfig) -> str:
    """One sentence saying how stored values became model inputs."""
    if config.binarize == "static":
        return (
            f"{raw.train.scaling}; train binarized once x~Bernoulli(pixel) "
            f"(RandomState({STATIC_TRAIN_SEED_OFFSET + config.seed})); {_EVAL_BINARIZED}"
        )
    if config.binarize == "dynamic":
        return (
            f"{raw.train.scaling}; train dynamically binarized x~Bernoulli(pixel) per batch; "
            f"{_EVAL_BINARIZED}"
        )
    return raw.train.scaling


def _to_split(examples: RawExamples, limit: int | None) -> Split:
    """Tensors of the first `limit` examples (all when None), copied so nothing else is kept;
    mapped images stay mapped (a view of the first `limit`)."""
    y = None if examples.y is None else examples.y[:limit]
    y_tensor = None if y is None else torch.from_numpy(np.array(y, dtype=np.int64, order="C"))
    if isinstance(examples.x, MappedExamples):
        return Split(examples.x.take(slice(limit)), y_tensor)
    x = examples.x[:limit]
    x_tensor = torch.from_numpy(np.array(x, dtype=np.float32, order="C", copy=limit is not None))
    return Split(x_tensor, y_tensor)


def _num_classes(raw: RawSplits) -> int | None:
    labels = [e.y for e in (raw.train, raw.val, raw.test) if e.y is not None]
    return int(max(y.max() for y in labels)) + 1 if labels else None


def _make_spec(
    raw: RawSplits,
    config: DataConfig,
    stats: tuple[np.ndarray, np.ndarray] | None,
    dequantized: tuple[int, ...],
) -> DataSpec:
    """DataSpec of the final splits; stats are the table (mean, std), None for images."""
    scaling = _scaling(raw, config)
    if dequantized:
        scaling += (
            f"; integer columns {list(dequantized)} dequantized with U(-1/2, 1/2) noise "
            "before scaling (train per batch, val RandomState(1) and test RandomState(0) once)"
        )
    return DataSpec(
        shape=tuple(int(s) for s in raw.train.x.shape[1:]),
        kind=raw.train.kind,
        binarize=config.binarize,
        levels=2 if config.binarize != "none" else raw.train.levels,
        source=config.source,
        scaling=scaling,
        dequantized_columns=dequantized or None,
        feature_mean=None if stats is None else tuple(float(m) for m in stats[0]),
        feature_std=None if stats is None else tuple(float(s) for s in stats[1]),
        num_classes=_num_classes(raw),
        feature_names=raw.train.feature_names if raw.train.kind == "table" else None,
    )


def load_data(config: DataConfig) -> DataSplits:
    """Load, split, scale and binarize the data that `config` names.

    Returns DataSplits whose x tensors are float32 (N, *spec.shape): images in [0, 1]
    (val/test in {0, 1} when binarized), tables standardized by train statistics (their
    integer-valued columns dequantized, see vaekit.data.dequantize, unless config.dequantize
    is False; train keeps the integers, fit() adds fresh noise to each batch).
    With config.labels_per_class = k, train keeps k labels per class, the others become -1;
    with config.labelled_repeats = r > 1, train then holds each labelled example r times.
    Raises DataError for missing or malformed data, ConfigError for options that do not fit.
    """
    raw = _read_source(config)
    stats, dequantized = None, ()
    if raw.train.kind == "table":
        if config.binarize != "none":
            raise ConfigError(f"tables cannot be binarized, got binarize={config.binarize!r}")
        dequantized = integer_columns(raw.train.x) if config.dequantize else ()
        raw, mean, std = _standardize(raw, config.source, dequantized)
        stats = (mean, std)
    raw = _binarize(raw, config)
    spec = _make_spec(raw, config, stats, dequantized)
    train = _to_split(raw.train, config.train_limit)
    if config.labels_per_class is not None:
        y = keep_labels_per_class(
            train.y,
            config.labels_per_class,
            num_classes=spec.num_classes,
            seed=config.seed,
            source=config.source,
        )
        train = Split(train.x, y)
    if config.labelled_repeats > 1:
        train = repeat_labelled(train, config.labelled_repeats, config.source)
    splits = DataSplits(
        train=train,
        val=_to_split(raw.val, config.eval_limit),
        test=_to_split(raw.test, config.eval_limit),
        spec=spec,
        config=config,
    )
    logger.info(
        "loaded %s: train %d, val %d, test %d, shape %s%s",
        config.source,
        len(splits.train),
        len(splits.val),
        len(splits.test),
        splits.spec.shape,
        " (memory-mapped, scaled per batch)" if isinstance(splits.val.x, MappedExamples) else "",
    )
    return splits
