import pytest

from tests.single_thread import one_thread  # noqa: F401  (autouse fixture)
from vaekit.data import DataConfig, load_data


@pytest.fixture(scope="session")
def digits():
    return load_data(DataConfig(source="digits", binarize="dynamic"))
