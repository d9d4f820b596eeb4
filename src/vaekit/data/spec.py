"""DataSpec: what a model needs to know about the data; saved in config.json."""

from __future__ import annotations

import dataclasses
import math
import reprlib
from dataclasses import dataclass
from typing import Any

from vaekit.data.config import BINARIZE_MODES, checked_fields
from vaekit.errors import ConfigError

KINDS = ("image", "table")
_TUPLE_FIELDS = ("shape", "feature_mean", "feature_std", "dequantized_columns", "feature_names")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite_number(value: object) -> bool:
    """A real int or float (not bool) that converts to a finite float."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range, e.g. 10**400
        return False


def _check_feature_stats(name: str, values: tuple[float, ...] | None, num_dims: int) -> None:
    if values is None:
        return
    if not isinstance(values, tuple) or len(values) != num_dims:
        raise ConfigError(f"{name} must be a tuple of {num_dims} floats, got {values!r}")
    for value in values:
        if not _is_finite_number(value):
            raise ConfigError(f"{name} must hold finite numbers, got {reprlib.repr(value)}")


@dataclass(frozen=True)
class DataSpec:
    """Shape, kind and scaling of the examples a model is trained on.

    shape: per-example shape, (C, H, W) for images, (D,) for tables.
    kind: "image" | "table".
    binarize: "none" | "static" | "dynamic".
    levels: number of distinct stored values (2 when binarized, 256 for uint8 images,
        17 for sklearn digits); None for continuous values and tables.
    source: the dataset name or the path given.
    scaling: one human sentence saying how raw values became model inputs.
    feature_mean, feature_std: tables only, per-column train statistics used to standardize.
    num_classes: number of label classes, None without labels.
    dequantized_columns: tables only: indices of the integer-valued columns that carry
        U(-1/2, 1/2) noise (see vaekit.data.dequantize); None when there are none.
    feature_names: tables from a CSV: column names in order (None otherwise), so generated
        rows can be written under the user's header.
    """

    shape: tuple[int, ...]
    kind: str
    binarize: str
    levels: int | None
    source: str
    scaling: str
    feature_mean: tuple[float, ...] | None = None
    feature_std: tuple[float, ...] | None = None
    num_classes: int | None = None
    dequantized_columns: tuple[int, ...] | None = None
    feature_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if (
            not isinstance(self.shape, tuple)
            or not self.shape
            or not all(_is_int(s) and s > 0 for s in self.shape)
        ):
            raise ConfigError(
                f"shape must be a non-empty tuple of positive ints, got {self.shape!r}"
            )
        if self.kind not in KINDS:
            raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.binarize not in BINARIZE_MODES:
            raise ConfigError(
                f"binarize must be one of {', '.join(BINARIZE_MODES)}, got {self.binarize!r}"
            )
        if self.kind == "table" and self.binarize != "none":
            raise ConfigError(f"tables cannot be binarized, got binarize={self.binarize!r}")
        if self.levels is not None and (not _is_int(self.levels) or self.levels < 2):
            raise ConfigError(f"levels must be an integer >= 2 or None, got {self.levels!r}")
        if self.num_classes is not None and (not _is_int(self.num_classes) or self.num_classes < 1):
            raise ConfigError(
                f"num_classes must be a positive integer or None, got {self.num_classes!r}"
            )
        for name in ("source", "scaling"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} must be a string, got {getattr(self, name)!r}")
        _check_feature_stats("feature_mean", self.feature_mean, self.num_dims)
        _check_feature_stats("feature_std", self.feature_std, self.num_dims)
        if self.feature_names is not None and (
            not isinstance(self.feature_names, tuple)
            or len(self.feature_names) != self.num_dims
            or not all(isinstance(name, str) for name in self.feature_names)
        ):
            raise ConfigError(
                f"feature_names must be a tuple of {self.num_dims} strings, "
                f"got {reprlib.repr(self.feature_names)}"
            )
        if self.feature_std is not None and min(self.feature_std) <= 0:
            raise ConfigError(f"feature_std must be positive, got {min(self.feature_std)!r}")
        self._check_dequantized_columns()

    def _check_dequantized_columns(self) -> None:
        columns = self.dequantized_columns
        if columns is None:
            return
        if (
            self.kind != "table"
            or self.feature_std is None
            or not isinstance(columns, tuple)
            or not columns
            or not all(_is_int(j) and 0 <= j < self.num_dims for j in columns)
        ):
            raise ConfigError(
                "dequantized_columns must be a non-empty tuple of column indices of a table "
                f"with feature_std, got {reprlib.repr(columns)}"
            )

    @property
    def num_dims(self) -> int:
        """Number of scalar values per example (product of shape)."""
        return math.prod(self.shape)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; tuples become lists."""
        d = dataclasses.asdict(self)
        for key in _TUPLE_FIELDS:
            if d[key] is not None:
                d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataSpec:
        """Inverse of to_dict; a non-dict, an unknown or a missing key raises ConfigError."""
        fixed = checked_fields(cls, d)
        for key in _TUPLE_FIELDS:
            if isinstance(fixed.get(key), list):
                fixed[key] = tuple(fixed[key])
        return cls(**fixed)
