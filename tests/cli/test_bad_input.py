"""Bad input: exit code 2 and one clear line on stderr, never a traceback or a partial file."""

import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from tests.cli.conftest import run_cli


def assert_clean_failure(result, *needles):
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vaekit: error: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def train(tmp_path, data, *extra):
    return run_cli(
        "train",
        "--data",
        str(data),
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "run"),
        "--quiet",
        *extra,
    )


def test_missing_file(tmp_path):
    assert_clean_failure(train(tmp_path, tmp_path / "nope.npy"), "nope.npy")


def test_unknown_dataset_name(tmp_path):
    assert_clean_failure(train(tmp_path, "cifar-11"), "cifar-11")


def test_wrong_shape(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((4, 2, 3, 5, 6), dtype=np.uint8))
    assert_clean_failure(train(tmp_path, path))


def test_nan_in_data(tmp_path):
    x = np.random.default_rng(0).random((30, 8, 8))
    x[3, 2, 1] = np.nan
    path = tmp_path / "x.npy"
    np.save(path, x)
    assert_clean_failure(train(tmp_path, path), "NaN")


def write_idx_images(path, count, rows, cols, payload_bytes):
    header = struct.pack(">IIII", 0x803, count, rows, cols)
    with gzip.open(path, "wb") as handle:
        handle.write(header + payload_bytes)


def test_truncated_idx(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    write_idx_images(folder / "train-images-idx3-ubyte.gz", 10, 28, 28, b"\0" * 100)
    for name in (
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        (folder / name).write_bytes(b"")
    monkeypatch.setenv("VAEKIT_DATA", str(tmp_path / "data"))
    assert_clean_failure(train(tmp_path, "mnist"), "train-images")


def test_corrupt_gzip_idx(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        (folder / name).write_bytes(b"\x1f\x8b\x08garbage-that-is-not-deflate")
    monkeypatch.setenv("VAEKIT_DATA", str(tmp_path / "data"))
    assert_clean_failure(train(tmp_path, "mnist"))


def test_image_folder_with_a_non_image_file(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(np.full((6, 6), i * 40, dtype=np.uint8)).save(folder / f"{i}.png")
    (folder / "notes.txt").write_text("not an image")
    assert_clean_failure(train(tmp_path, folder), "notes.txt")


def test_output_of_wrong_kind_is_refused_before_work(tmp_path, digits_run):
    assert_clean_failure(
        run_cli("sample", str(digits_run), "--out", str(tmp_path / "x.jpg")), ".png"
    )
    assert not (tmp_path / "x.jpg").exists()


def test_not_a_run_directory(tmp_path):
    assert_clean_failure(run_cli("eval", str(tmp_path)), "config.json")


def test_refuses_to_overwrite_an_existing_run(digits_run):
    result = run_cli("train", "--data", "digits", "--out", str(digits_run), "--epochs", "1")
    assert_clean_failure(result, "--resume")


def test_unknown_config_key_in_run_is_a_checkpoint_error(tmp_path, digits_run):
    import json
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(digits_run, copy)
    config = json.loads((copy / "config.json").read_text())
    config["model"]["config"]["latent_dims"] = 3
    (copy / "config.json").write_text(json.dumps(config))
    assert_clean_failure(run_cli("eval", str(copy)), "latent_dims")


@pytest.mark.parametrize("flag", [["--iw-samples", "-1"], ["--limit", "0"]])
def test_bad_eval_flags(digits_run, flag):
    assert_clean_failure(run_cli("eval", str(digits_run), *flag))


def save_npy(tmp_path, array, name="x.npy"):
    path = tmp_path / name
    np.save(path, array)
    return path


@pytest.mark.parametrize(
    "array,needle",
    [
        (np.full((20, 8, 8), 2.5, dtype=np.float32), "[0,"),  # pixel values out of range
        (np.zeros((0, 8, 8), dtype=np.uint8), "no examples"),
        (np.zeros((20, 8, 8), dtype=np.complex64), "complex"),
        (np.array([[np.inf, 1.0]] * 20), "inf"),
    ],
)
def test_hostile_arrays(tmp_path, array, needle):
    result = train(tmp_path, save_npy(tmp_path, array))
    assert_clean_failure(result)
    assert needle.lower() in result.stderr.lower(), result.stderr


def test_images_of_mixed_sizes(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(np.zeros((6, 6 + (i == 3)), dtype=np.uint8)).save(folder / f"{i}.png")
    assert_clean_failure(train(tmp_path, folder), "3.png")


def test_wrong_typed_config_field(tmp_path, digits_run):
    import json
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(digits_run, copy)
    config = json.loads((copy / "config.json").read_text())
    config["model"]["config"]["latent_dim"] = "eight"
    (copy / "config.json").write_text(json.dumps(config))
    assert_clean_failure(run_cli("eval", str(copy)), "latent_dim")


def test_checkpoint_with_a_missing_tensor(tmp_path, digits_run):
    import json
    import shutil

    from safetensors.torch import load_file, save_file

    from vaekit.io import sha256_file

    copy = tmp_path / "copy"
    shutil.copytree(digits_run, copy)
    tensors = load_file(str(copy / "model.safetensors"))
    tensors.pop(sorted(tensors)[0])
    save_file(tensors, str(copy / "model.safetensors"))
    config = json.loads((copy / "config.json").read_text())
    config["weights_sha256"] = sha256_file(copy / "model.safetensors")
    (copy / "config.json").write_text(json.dumps(config))
    assert_clean_failure(run_cli("sample", str(copy), "--out", str(tmp_path / "s.png")), "lacks")
    assert not (tmp_path / "s.png").exists()
