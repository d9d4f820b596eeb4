import numpy as np
import pytest

from vaekit.compression.symbols import restore, to_symbols
from vaekit.errors import DataError

SHAPE = (1, 2, 2)


@pytest.mark.parametrize(
    "array,levels",
    [
        (np.full((3, 2, 2), 0.5, dtype=np.float32), 2),  # grey pixels for a binary model
        (np.full((3, 4), 2, dtype=np.uint8), 2),
        (np.full((3, 4), 256, dtype=np.int32), 256),
        (np.full((3, 4), -1, dtype=np.int16), 256),
        (np.full((3, 4), 0.3, dtype=np.float32), 256),  # not k/255
        (np.full((3, 4), np.nan, dtype=np.float32), 256),
        (np.zeros((3, 5), dtype=np.uint8), 256),  # not whole examples
        (np.zeros((0, 4), dtype=np.uint8), 256),
        (np.array(["a", "b", "c", "d"]), 256),
    ],
)
def test_values_the_model_cannot_code_exactly_are_refused(array, levels):
    with pytest.raises(DataError):
        to_symbols(array, levels, SHAPE)


def test_levels_map_to_symbols_and_back():
    levels = np.arange(256, dtype=np.uint8).reshape(64, 4)
    symbols = to_symbols(levels / np.float32(255), 256, SHAPE)
    assert np.array_equal(symbols, levels.astype(np.int32))
    assert restore(symbols, 256, np.dtype(np.uint8), (64, 2, 2)).tobytes() == levels.tobytes()
