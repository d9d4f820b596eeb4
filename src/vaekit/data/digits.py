"""scikit-learn's bundled 8x8 digits: 1,797 images with 17 grey levels (0..16)."""

from __future__ import annotations

import numpy as np

from vaekit.data.config import DataConfig
from vaekit.data.raw import RawExamples, RawSplits, split_examples

DIGITS_LEVELS = 17


def load_digits_splits(config: DataConfig) -> RawSplits:
    """Digits as (N, 1, 8, 8) float32 pixels/16 in [0, 1] with labels 0..9.

    Split with RandomState(config.seed): 20% test, 10% (or config.val_size) val, rest train.
    """
    from sklearn.datasets import load_digits  # here: importing sklearn takes over a second

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / np.float32(16)).reshape(-1, 1, 8, 8)
    y = bunch.target.astype(np.int64)
    examples = RawExamples(x, y, "image", DIGITS_LEVELS, "pixels/16 in [0,1]")
    return split_examples(examples, config.val_size, config.seed)
