"""What the coder refuses, and that the refusal says what is wrong."""

import numpy as np
import pytest

from tests.compression.conftest import random_vae
from vaekit.compression import compress
from vaekit.errors import ConfigError, DataError
from vaekit.models import AE, AEConfig


def test_images_of_another_size_are_not_recut_into_the_models_shape():
    model = random_vae("bernoulli")  # 28x28
    # 4 images of 14x56 hold 4 * 784 values, a whole number of 28x28 examples
    with pytest.raises(DataError, match=r"\(4, 14, 56\).*\(1, 28, 28\)"):
        compress(model, np.zeros((4, 14, 56), dtype=np.uint8))
    with pytest.raises(DataError, match=r"shape \(\)"):
        compress(model, np.array(0, dtype=np.uint8))


@pytest.mark.parametrize(
    "shape", [(3, 28, 28), (3, 1, 28, 28), (3, 784), (2, 3, 784), (28, 28), (1, 28, 28)]
)
def test_the_shapes_that_hold_examples_are_accepted(shape):
    model = random_vae("bernoulli")
    assert len(compress(model, np.zeros(shape, dtype=np.uint8), lossy=True)) > 0


def test_a_model_without_a_posterior_to_code_with_is_refused():
    with pytest.raises(ConfigError, match="AE cannot be coded"):
        compress(AE(AEConfig(input_shape=(1, 8, 8))), np.zeros((2, 8, 8), dtype=np.uint8))
