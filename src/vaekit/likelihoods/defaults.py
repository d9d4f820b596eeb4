"""The likelihood a model gets when none is asked for, chosen from what the data are."""

from __future__ import annotations

from vaekit.data import DataSpec

EIGHT_BIT_LEVELS = 256
EIGHT_BIT_DEFAULT = "discretized_logistic"


def is_eight_bit_images(spec: DataSpec) -> bool:
    """Images of 256 stored levels coded as they are (not binarized): uint8 arrays, image
    folders, fashion-mnist or mnist with binarize "none"."""
    return spec.kind == "image" and spec.binarize == "none" and spec.levels == EIGHT_BIT_LEVELS


def default_likelihood(spec: DataSpec) -> str:
    """LIKELIHOODS key to use for data described by `spec`.

    Tables: "gaussian". 8-bit images (256 levels: uint8 arrays, image folders, fashion-mnist
    or mnist unbinarized): the discretized logistic, whose nats are a code length of the
    stored bytes (the mixture form is better per epoch but 2.5x slower per epoch and
    slower to code; the 8-bit presets choose it: docs/data.md). Everything else (binarized
    or 1-bit images, digits' 17 levels, float images): "bernoulli".
    """
    if spec.kind == "table":
        return "gaussian"
    if is_eight_bit_images(spec):
        return EIGHT_BIT_DEFAULT
    return "bernoulli"
