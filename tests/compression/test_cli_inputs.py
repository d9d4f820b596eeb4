"""`vaekit compress` on a folder of 1-bit PNGs, and its one-line refusal of a Gaussian decoder."""

import numpy as np
from PIL import Image

from tests.cli.conftest import run_cli
from tests.compression.conftest import random_vae
from vaekit.models import save_model


def test_folder_of_one_bit_pngs_round_trips_through_a_binary_model(tmp_path):
    save_model(random_vae("bernoulli", seed=0), tmp_path / "run")
    bits = np.random.default_rng(0).random((4, 28, 28)) < 0.3
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, image in enumerate(bits):
        Image.fromarray(image).convert("1").save(folder / f"{i}.png")
    packed, restored = tmp_path / "b.vkz", tmp_path / "b.npy"
    result = run_cli("compress", str(tmp_path / "run"), str(folder), "-o", str(packed), "--quiet")
    assert result.returncode == 0, result.stderr
    result = run_cli("decompress", str(tmp_path / "run"), str(packed), "-o", str(restored))
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(restored).reshape(bits.shape), bits.astype(np.uint8))


def test_gaussian_decoders_are_refused_in_one_line(tmp_path):
    save_model(random_vae("gaussian", seed=0), tmp_path / "run")
    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28), dtype=np.uint8))
    out = tmp_path / "x.vkz"
    result = run_cli("compress", str(tmp_path / "run"), str(tmp_path / "x.npy"), "-o", str(out))
    assert result.returncode == 2 and "not 'gaussian'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()
