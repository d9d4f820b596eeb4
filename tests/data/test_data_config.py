"""DataConfig and DataSpec: validation and JSON round trips."""

from __future__ import annotations

import json

import pytest

from vaekit.data import DataConfig, DataSpec
from vaekit.errors import ConfigError


def _spec(**overrides):
    fields = dict(
        shape=(2,),
        kind="table",
        binarize="none",
        levels=None,
        source="t.csv",
        scaling="columns standardized",
        feature_mean=(0.5, -1.0),
        feature_std=(1.0, 2.0),
        num_classes=3,
    )
    return DataSpec(**{**fields, **overrides})


def test_config_round_trip():
    config = DataConfig(source="x.csv", val_size=3, train_limit=10, label_column="y", seed=4)
    assert DataConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize(
    "kwargs",
    [
        {"binarize": "yes"},
        {"source": ""},
        {"val_size": 0},
        {"train_limit": -1},
        {"eval_limit": 1.5},
        {"seed": -1},
        {"seed": True},
        {"label_column": ""},
    ],
)
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ConfigError, match=repr(next(iter(kwargs.values()))).replace(".", r"\.")):
        DataConfig(**kwargs)


def test_config_unknown_key():
    with pytest.raises(ConfigError, match="'batch'"):
        DataConfig.from_dict({"source": "digits", "batch": 3})


def test_spec_round_trip_through_json():
    spec = _spec()
    d = json.loads(json.dumps(spec.to_dict()))
    assert isinstance(d["shape"], list)
    back = DataSpec.from_dict(d)
    assert back == spec and isinstance(back.shape, tuple) and isinstance(back.feature_std, tuple)
    assert spec.num_dims == 2
    image = _spec(shape=(3, 4, 5), kind="image", levels=256, feature_mean=None, feature_std=None)
    assert image.num_dims == 60 and DataSpec.from_dict(image.to_dict()) == image


def test_spec_unknown_key():
    with pytest.raises(ConfigError, match="'colour'"):
        DataSpec.from_dict({**_spec().to_dict(), "colour": "red"})


@pytest.mark.parametrize(
    "overrides",
    [
        {"shape": (0,)},
        {"shape": [2]},
        {"kind": "audio"},
        {"binarize": "static"},  # a table
        {"levels": 1},
        {"feature_mean": (0.0,)},
        {"feature_std": (1.0, float("nan"))},
        {"num_classes": 0},
    ],
)
def test_spec_rejects_bad_values(overrides):
    with pytest.raises(ConfigError):
        _spec(**overrides)


# ---- inputs found by fuzzing (tests/fuzz): each once escaped as a non-ConfigError ----


@pytest.mark.parametrize("cls", [DataConfig, DataSpec])
@pytest.mark.parametrize("payload", [[1], "digits", None, 3])
def test_from_dict_rejects_non_dicts(cls, payload):
    with pytest.raises(ConfigError, match="must be a JSON object"):
        cls.from_dict(payload)


def test_spec_missing_keys_are_named():
    """DataSpec.from_dict({"shape": [2]}) was a TypeError from __init__."""
    with pytest.raises(ConfigError, match="missing required key.*kind.*scaling"):
        DataSpec.from_dict({"shape": [2]})


@pytest.mark.parametrize(
    "overrides",
    [
        {"feature_mean": [10**400, 0]},  # was OverflowError from math.isfinite
        {"feature_mean": [float("inf"), 0]},
        {"feature_std": [float("nan"), 1]},
        {"feature_std": [0.0, 1]},
        {"feature_mean": [True, 0]},
        {"num_classes": True},
        {"levels": float("nan")},
        {"source": float("nan")},
        {"scaling": ["s"]},
    ],
)
def test_spec_from_dict_rejects_bad_numbers(overrides):
    with pytest.raises(ConfigError):
        DataSpec.from_dict({**_spec().to_dict(), **overrides})


@pytest.mark.parametrize(
    "overrides", [{"val_size": float("nan")}, {"seed": float("inf")}, {"eval_limit": 2.0}]
)
def test_config_from_dict_rejects_non_integers(overrides):
    with pytest.raises(ConfigError):
        DataConfig.from_dict(overrides)
