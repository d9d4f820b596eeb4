"""A fixture for test modules of tiny models: run torch on one thread.

A second thread only adds synchronisation to such small operations, and on a busy 2-core
machine that synchronisation costs many times the work itself (measured: 70 s against 2 s
for the same short fit). Import `one_thread` into a test module to apply it there.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
