import pytest

from vaekit.data import DataConfig, load_data


@pytest.fixture(scope="session")
def digits():
    return load_data(DataConfig(source="digits", binarize="dynamic"))


@pytest.fixture(autouse=True)
def one_thread():
    # small models: a second thread only adds synchronisation, costly on a busy machine
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
