"""MNIST and Fashion-MNIST from IDX files: train 55,000 / val the last 5,000 / test 10,000."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from vaekit.data.config import DataConfig
from vaekit.data.download import fetch_dataset
from vaekit.data.idx_cache import read_idx_cached
from vaekit.data.locate import find_dataset_dir, idx_file_path, user_cache_dir
from vaekit.data.mapped import MappedExamples, row_indices
from vaekit.data.raw import RawExamples, RawSplits
from vaekit.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

DEFAULT_VAL_SIZE = 5000
NUM_CLASSES = 10
SCALING = "pixels/255 in [0,1]"


def _read_pair(folder: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) uint8 and labels (N,) uint8 of `prefix` ("train" or "t10k")."""
    images_path = idx_file_path(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = idx_file_path(folder, f"{prefix}-labels-idx1-ubyte")
    if images_path is None or labels_path is None:
        raise DataError(f"{folder}: {prefix} IDX files are missing")
    # decoded copies in the user cache: a second run does not inflate the files again
    cache = user_cache_dir("decoded")
    images, labels = read_idx_cached(images_path, cache), read_idx_cached(labels_path, cache)
    if images.ndim != 3:
        raise DataError(f"{images_path}: expected (N, H, W) images, got shape {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(
            f"{labels_path}: {labels.shape} labels do not match {images.shape[0]} images"
        )
    if labels.max() >= NUM_CLASSES:
        raise DataError(f"{labels_path}: label {int(labels.max())} is not in 0..{NUM_CLASSES - 1}")
    return images, labels


def _examples(images: np.ndarray, labels: np.ndarray) -> RawExamples:
    x = images.astype(np.float32)
    x /= np.float32(255)
    return RawExamples(x[:, None], labels.astype(np.int64), "image", 256, SCALING)


def _stored_examples(images: np.ndarray, labels: np.ndarray) -> RawExamples:
    """The images left as bytes, each batch scaled as it is read (MappedExamples over the
    array in memory): the same float32 values as _examples gives, without a float32 copy of
    the split. That copy of the 55,000 training images is 172 MB, and writing fresh memory
    is what made up most of the data load: ~1.8 s on a machine with slow page faults."""
    stored = np.ascontiguousarray(images[:, None])
    rows = row_indices(np.arange(len(stored)), len(stored))
    x = MappedExamples(stored, rows, "pixels", stored.shape[1:])
    return RawExamples(x, labels.astype(np.int64), "image", 256, SCALING)


def _dataset_dir(name: str) -> Path:
    """The folder holding the files, downloading them into the user cache when none does."""
    folder = find_dataset_dir(name)
    if folder is None:
        logger.info("%s not found locally; downloading into %s", name, user_cache_dir(name))
        fetch_dataset(name, user_cache_dir(name))
        folder = user_cache_dir(name)
    return folder


def load_idx_splits(name: str, config: DataConfig) -> RawSplits:
    """Load `name` ("mnist" or "fashion-mnist") as (N, 1, 28, 28) float32 in [0, 1].

    Val is the last config.val_size (default 5,000) training images, train the rest, test
    the t10k file; file order is kept.
    """
    folder = _dataset_dir(name)
    logger.info("reading %s from %s", name, folder)
    train_images, train_labels = _read_pair(folder, "train")
    test_images, test_labels = _read_pair(folder, "t10k")
    if train_images.shape[1:] != test_images.shape[1:]:
        raise DataError(
            f"{folder}: train images {train_images.shape[1:]} and test images "
            f"{test_images.shape[1:]} differ in size"
        )
    val_size = DEFAULT_VAL_SIZE if config.val_size is None else config.val_size
    num_train = train_images.shape[0] - val_size
    if num_train < 1:
        raise ConfigError(
            f"val_size={val_size} leaves no training images ({train_images.shape[0]} in {folder})"
        )
    # memory_map=False asks for the splits as tensors in memory
    train = _examples if config.memory_map is False else _stored_examples
    return RawSplits(
        train=train(train_images[:num_train], train_labels[:num_train]),
        val=_examples(train_images[num_train:], train_labels[num_train:]),
        test=_examples(test_images, test_labels),
    )
