"""The explorer's API (through a real `vaekit serve` process) and its model side."""

import io
import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from tests.cli.conftest import assert_one_line_error, run_main
from tests.serve.conftest import UPLOAD_LIMIT_BYTES, request
from tests.single_thread import one_thread  # noqa: F401
from vaekit import VAE, VAEConfig
from vaekit.data import DataSpec
from vaekit.errors import ConfigError, DataError
from vaekit.serve import Explorer
from vaekit.serve.explorer import read_image


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def decoded(answer: dict) -> np.ndarray:
    import base64

    return np.frombuffer(base64.b64decode(answer["pixels"]), dtype=np.uint8)


def test_the_server_listens_on_loopback_only(server):
    url, first_line = server
    assert url in first_line  # the address it announces is 127.0.0.1
    port = int(url.rsplit(":", 1)[1])
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None,
                                                           socket.AF_INET)}  # fmt: skip
    for address in addresses - {"127.0.0.1", "127.0.1.1"}:
        with socket.socket() as probe, pytest.raises(OSError):
            probe.settimeout(2)
            probe.connect((address, port))


def test_concurrent_decodes_agree_with_sequential_ones(server):
    url, _ = server
    _, info = request(f"{url}/api/info")
    rng = np.random.default_rng(0)
    latents = [rng.uniform(-2, 2, info["latent_dim"]).tolist() for _ in range(24)]

    def decode(z):
        status, answer = request(f"{url}/api/decode", json.dumps({"z": z}).encode())
        assert status == 200, answer
        return decoded(answer)

    alone = [decode(z) for z in latents]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(decode, latents))
    for one, other in zip(alone, together):
        np.testing.assert_array_equal(one, other)
    assert len({bytes(image) for image in alone}) > 1  # different z, different pictures


def test_bad_requests_get_one_clear_message(server):
    url, _ = server
    status, answer = request(f"{url}/api/decode", b"not json")
    assert status == 400 and "JSON object" in answer["error"]
    status, answer = request(f"{url}/api/decode", json.dumps({"z": [1e9]}).encode())
    assert status == 400 and "list of" in answer["error"]
    status, answer = request(f"{url}/api/interpolate", json.dumps({"start": 0, "end": 99}).encode())
    assert status == 400 and "example index" in answer["error"]
    status, answer = request(f"{url}/api/upload", b"plain text, not a picture")
    assert status == 415 and "not an image" in answer["error"]
    status, answer = request(f"{url}/api/upload", bytes(UPLOAD_LIMIT_BYTES + 1))
    assert status == 413 and str(UPLOAD_LIMIT_BYTES) in answer["error"]


def test_an_uploaded_image_gets_its_reconstruction_nll_and_code_size(server, tiny_run):
    url, _ = server
    digit = np.zeros((8, 8), dtype=np.uint8)
    digit[1:7, 3:5] = 255  # a "1", drawn large: the server resizes it to 8x8
    big = np.kron(digit, np.ones((8, 8), dtype=np.uint8))
    status, answer = request(f"{url}/api/upload", png_bytes(big))
    assert status == 200, answer
    np.testing.assert_array_equal(decoded(answer["input"]), (digit.ravel() >= 128) * 255)
    assert decoded(answer["reconstruction"]).shape == (64,)
    assert 0 < answer["nll_nats"] < 64 * np.log(2) * 4  # a proper, finite bound
    assert answer["bits_per_dim"] == pytest.approx(answer["nll_nats"] / (64 * np.log(2)))
    # the compressed size is that of a real .vkz file, which decompresses to the image
    from vaekit.compression import compress, decompress
    from vaekit.models import load_model

    model = load_model(str(tiny_run))
    file = compress(model, (digit >= 128).astype(np.uint8)[None, None])
    assert answer["compressed_bits"] == 8 * len(file)
    np.testing.assert_array_equal(decompress(model, file)[0, 0], digit >= 128)


def test_read_image_converts_and_refuses():
    rgb = np.zeros((16, 16, 3), dtype=np.uint8)
    rgb[:, :8] = (255, 255, 255)
    grey = read_image(png_bytes(rgb), (1, 4, 4))
    assert grey.shape == (1, 4, 4) and grey[0, :, :2].min() == 1.0 and grey[0, :, 2:].max() == 0
    with pytest.raises(DataError, match="not an image"):
        read_image(b"%PDF-1.4 not a picture", (1, 8, 8))


def test_a_table_run_offers_sliders_with_rows_in_column_units():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(3,), latent_dim=2, hidden_dims=(8,),
                          likelihood="gaussian"))  # fmt: skip
    spec = DataSpec(shape=(3,), kind="table", binarize="none", levels=None, source="t.csv",
                    scaling="standardized", feature_mean=(10.0, 0.0, -5.0),
                    feature_std=(2.0, 1.0, 0.5), feature_names=("a", "b", "c"))  # fmt: skip
    explorer = Explorer(model, spec, None)
    row = explorer.decode([0.5, -1.0])["row"]
    with torch.no_grad():
        mean = model.decode(torch.tensor([[0.5, -1.0]])).mean[0].numpy()
    np.testing.assert_allclose(row, mean * [2.0, 1.0, 0.5] + [10.0, 0.0, -5.0], rtol=1e-6)
    assert explorer.info()["kind"] == "table" and explorer.example_images() == []
    with pytest.raises(ConfigError, match="table rows"):
        explorer.upload(b"")


def test_serve_checks_its_run_and_its_extra(tiny_run, capsys, monkeypatch):
    code, out, err = run_main(capsys, "serve", tiny_run, "--dry-run")
    assert code == 0 and "explorer ready" in out, err
    monkeypatch.setitem(sys.modules, "starlette.applications", None)  # as if not installed
    code, _, err = run_main(capsys, "serve", tiny_run, "--dry-run")
    assert_one_line_error(code, err, "pip install 'vaekit[serve]'")
