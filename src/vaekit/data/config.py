"""DataConfig: which data to load and how to split and binarize it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from vaekit.errors import ConfigError

BINARIZE_MODES = ("none", "static", "dynamic")
INPUT_SHAPE_LENGTHS = (1, 3)
IMAGE_CHANNELS = (1, 3, 4)
# memory_map=None maps image files at least this large (read whole, they would take 4x as
# float32); smaller ones are read into memory as before
MEMORY_MAP_MIN_BYTES = 64 << 20


def _check_optional_positive_int(name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be a positive integer or None, got {value!r}")


def _check_input_shape(value: object) -> None:
    """None, (D,) for a table or (C, H, W) for images, all positive ints."""
    if value is None:
        return
    if (
        not isinstance(value, tuple)
        or len(value) not in INPUT_SHAPE_LENGTHS
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in value)
    ):
        raise ConfigError(
            f"input_shape must be (D,) for a table or (C, H, W) for images, positive integers, "
            f"got {value!r}"
        )
    if len(value) == 3 and value[0] not in IMAGE_CHANNELS:
        raise ConfigError(
            f"input_shape (C, H, W) needs C in {IMAGE_CHANNELS} channels, got {value!r}"
        )


def checked_fields(cls: type, d: object) -> dict[str, Any]:
    """A copy of d, checked to hold only fields of the dataclass cls and all its required ones.

    Raises ConfigError for a non-dict, an unknown key or a missing required key, naming it.
    """
    name = cls.__name__
    if not isinstance(d, dict):
        raise ConfigError(f"{name} must be a JSON object (dict), got {type(d).__name__}")
    fields = dataclasses.fields(cls)
    known = {f.name for f in fields}
    for key in d:
        if key not in known:
            raise ConfigError(f"unknown {name} key {key!r}; known: {', '.join(sorted(known))}")
    missing = [
        f.name
        for f in fields
        if f.name not in d
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{name} is missing required key(s): {', '.join(missing)}")
    return dict(d)


@dataclass(frozen=True)
class DataConfig:
    """What to load: a built-in dataset name or a path, plus split and binarization options.

    source: "digits" | "fashion-mnist" | "mnist" | path to a .npy/.npz/.csv file or an image
        folder.
    binarize: "none" | "static" | "dynamic" (images only).
    val_size: number of validation examples; None uses the protocol default (the last 5,000
        training images for fashion-mnist/mnist, 10% of the examples otherwise).
    train_limit: keep only the first N training examples (after splitting).
    eval_limit: keep only the first N validation and test examples (after binarization).
    label_column: CSV only: name of the column holding integer labels.
    seed: seeds the split of user data and the static binarization of train.
    dequantize: tables only: add U(-1/2, 1/2) noise to integer-valued columns (counts, codes,
        0/1 flags) so a continuous density cannot collapse onto the integers.
    input_shape: user arrays only: per-example shape, (C, H, W) to read them as images or
        (D,) to read them as a table; None guesses (a flat uint8/bool array whose width is a
        perfect square becomes (1, s, s) images, other flat arrays stay tables).
    labels_per_class: semi-supervised learning: keep this many labels per class in the
        training split (chosen with a generator seeded by `seed`) and mark the others -1,
        unknown; val and test keep all theirs. None keeps every label.
    labelled_repeats: semi-supervised learning: each labelled training example appears this
        many times per epoch (copies appended to the training split), so that uniformly
        drawn batches hold more labelled rows; 1 keeps the split as it is.
    memory_map: uint8/bool images in a .npy file or an uncompressed .npz member: True leaves
        them in the file, memory-mapped, and scales each batch as it is read (splits are
        views; memory does not grow with the file); False reads them into memory; None
        (auto) maps files whose pixels take at least MEMORY_MAP_MIN_BYTES. Same values
        either way.
    """

    source: str = "digits"
    binarize: str = "none"
    val_size: int | None = None
    train_limit: int | None = None
    eval_limit: int | None = None
    label_column: str | None = None
    seed: int = 0
    dequantize: bool = True
    input_shape: tuple[int, ...] | None = None
    labels_per_class: int | None = None
    labelled_repeats: int = 1
    memory_map: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source:
            raise ConfigError(f"data source must be a non-empty string, got {self.source!r}")
        if self.binarize not in BINARIZE_MODES:
            raise ConfigError(
                f"binarize must be one of {', '.join(BINARIZE_MODES)}, got {self.binarize!r}"
            )
        _check_optional_positive_int("val_size", self.val_size)
        _check_optional_positive_int("train_limit", self.train_limit)
        _check_optional_positive_int("eval_limit", self.eval_limit)
        _check_optional_positive_int("labels_per_class", self.labels_per_class)
        _check_optional_positive_int("labelled_repeats", self.labelled_repeats)
        if self.labelled_repeats is None:
            raise ConfigError("labelled_repeats must be a positive integer, got None")
        if self.label_column is not None and (
            not isinstance(self.label_column, str) or not self.label_column
        ):
            raise ConfigError(f"label_column must be a non-empty string, got {self.label_column!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"seed must be an integer, got {self.seed!r}")
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed must be in [0, 2**32), got {self.seed!r}")
        if not isinstance(self.dequantize, bool):
            raise ConfigError(f"dequantize must be true or false, got {self.dequantize!r}")
        _check_input_shape(self.input_shape)
        if self.memory_map is not None and not isinstance(self.memory_map, bool):
            raise ConfigError(f"memory_map must be true, false or null, got {self.memory_map!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field (input_shape as a list)."""
        d = dataclasses.asdict(self)
        if d["input_shape"] is not None:
            d["input_shape"] = list(d["input_shape"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataConfig:
        """Inverse of to_dict; a non-dict or an unknown key raises ConfigError naming it."""
        fields = checked_fields(cls, d)
        if isinstance(fields.get("input_shape"), list):
            fields["input_shape"] = tuple(fields["input_shape"])
        return cls(**fields)
