import pytest

from vaekit.data import DataConfig, load_data


@pytest.fixture(scope="session")
def digits():
    return load_data(DataConfig(source="digits", binarize="dynamic"))
