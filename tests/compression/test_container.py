import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from tests.compression.conftest import random_vae
from vaekit.compression import compress, decompress
from vaekit.compression.container import FORMAT_VERSION, MAGIC
from vaekit.errors import DataError
from vaekit.models import load_model


@pytest.fixture(scope="module")
def coded():
    model = random_vae("bernoulli")
    array = np.random.default_rng(0).random((20, 28, 28)) < 0.3
    return model, array, compress(model, array)


def test_a_flipped_byte_anywhere_is_refused(coded):
    model, _, data = coded
    for position in (0, 9, 20, 40, len(data) // 2, len(data) - 40, len(data) - 1):
        broken = bytearray(data)
        broken[position] ^= 0x10
        with pytest.raises(DataError):
            decompress(model, bytes(broken))


@pytest.mark.parametrize("keep", [0, 5, 30, -1, -33])
def test_truncated_files_are_refused(coded, keep):
    model, _, data = coded
    with pytest.raises(DataError):
        decompress(model, data[:keep])


def test_another_format_version_is_refused_by_name(coded):
    model, _, data = coded
    body = bytearray(data[:-32])
    struct.pack_into("<H", body, len(MAGIC), FORMAT_VERSION + 1)
    forged = bytes(body) + hashlib.sha256(bytes(body)).digest()  # a well-formed future file
    with pytest.raises(DataError, match="format version"):
        decompress(model, forged)


def test_another_model_is_refused(coded):
    _, _, data = coded
    with pytest.raises(DataError, match="another model"):
        decompress(random_vae("bernoulli", seed=1), data)


def test_a_payload_that_does_not_unwind_is_refused(coded):
    # a consistent file (valid checksum) whose words were tampered with before hashing
    model, _, data = coded
    body = bytearray(data[:-32])
    body[-5] ^= 0x01  # a payload word near the top of the stack
    forged = bytes(body) + hashlib.sha256(bytes(body)).digest()
    try:
        restored = decompress(model, forged)
    except DataError:
        return
    pytest.fail(f"tampered payload decoded silently to {restored.shape}")


def test_a_payload_no_ans_coder_could_write_is_refused(coded):
    model, _, data = coded
    body = bytearray(data[:-32])
    body[-4:] = bytes(4)  # top word zero: constriction itself rejects such a stack
    forged = bytes(body) + hashlib.sha256(bytes(body)).digest()
    with pytest.raises(DataError, match="corrupt"):
        decompress(model, forged)


V1 = Path(__file__).parent / "data" / "format_v1"


def test_version_1_files_still_decode_and_single_layer_files_are_written_the_same():
    # written by vaekit before hierarchical files (format version 2) existed
    model = load_model(V1 / "model")
    images = np.load(V1 / "images.npy")
    lossless, lossy = (V1 / "lossless.vkz").read_bytes(), (V1 / "lossy.vkz").read_bytes()
    assert np.array_equal(decompress(model, lossless), images)
    assert decompress(model, lossy).shape == images.shape
    assert compress(model, images) == lossless
    assert compress(model, images, lossy=True, latent_bits=4) == lossy


def test_a_version_1_file_cannot_claim_the_hierarchical_mode():
    data = (V1 / "lossless.vkz").read_bytes()
    body = bytearray(data[:-32])
    body[len(MAGIC) + 2] = 2  # the mode byte
    forged = bytes(body) + hashlib.sha256(bytes(body)).digest()
    with pytest.raises(DataError, match="mode hierarchical in a version 1 file"):
        decompress(load_model(V1 / "model"), forged)
