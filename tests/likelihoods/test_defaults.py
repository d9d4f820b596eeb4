"""default_likelihood: the likelihood each kind of data gets when none is asked for."""

from __future__ import annotations

import pytest

from vaekit.data import DataSpec
from vaekit.likelihoods import LIKELIHOODS, default_likelihood
from vaekit.likelihoods.defaults import EIGHT_BIT_DEFAULT


def spec(**fields) -> DataSpec:
    base = dict(shape=(1, 8, 8), kind="image", binarize="none", levels=256, source="s", scaling="")
    return DataSpec(**{**base, **fields})


@pytest.mark.parametrize(
    "fields,expected",
    [
        ({}, EIGHT_BIT_DEFAULT),  # uint8 arrays, image folders, fashion-mnist unbinarized
        ({"binarize": "dynamic"}, "bernoulli"),
        ({"binarize": "static", "levels": 2}, "bernoulli"),
        ({"levels": 2}, "bernoulli"),  # 1-bit PNGs, bool arrays
        ({"levels": 17}, "bernoulli"),  # sklearn digits, pixels/16
        ({"levels": None}, "bernoulli"),  # float images in [0, 1]
        ({"kind": "table", "shape": (5,), "levels": None}, "gaussian"),
    ],
)
def test_default_likelihood_follows_the_data(fields, expected):
    assert default_likelihood(spec(**fields)) == expected


def test_eight_bit_default_is_a_discretized_likelihood():
    assert EIGHT_BIT_DEFAULT in LIKELIHOODS and EIGHT_BIT_DEFAULT.startswith("discretized")
