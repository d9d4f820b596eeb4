"""Flat uint8 arrays train as 8-bit images from a relative path; tables sample as rows."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.cli.conftest import run_cli
from vaekit.likelihoods.defaults import EIGHT_BIT_DEFAULT

TINY = ("--epochs", "1", "--latent-dim", "4", "--hidden-dims", "32", "--quiet")


def _flat_digit_bytes(count=400):
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.round(digits.data[:count] * 255 / 16).astype(np.uint8), digits.target[:count]


@pytest.fixture(scope="module")
def flat_run(tmp_path_factory):
    """A run trained from a relative .npz path holding data (N, 64) uint8 + labels."""
    work = tmp_path_factory.mktemp("work")
    pixels, labels = _flat_digit_bytes()
    np.savez(work / "pixels.npz", data=pixels, labels=labels)
    result = run_cli("train", "--data", "pixels.npz", *TINY, "--out", "run", cwd=work)
    assert result.returncode == 0, result.stderr
    return work / "run", result.stderr


def test_flat_uint8_trains_as_8_bit_images_with_one_warning(flat_run):
    run_dir, stderr = flat_run
    assert "read as 400 images of 1x8x8" in stderr and stderr.count("WARNING") == 1
    config = json.loads((run_dir / "config.json").read_text())
    assert config["data"]["shape"] == [1, 8, 8] and config["data"]["num_classes"] == 10
    assert config["model"]["config"]["likelihood"] == EIGHT_BIT_DEFAULT
    assert config["data_config"]["source"] == str(run_dir.parent / "pixels.npz")


def test_commands_work_from_another_directory(flat_run, tmp_path):
    run_dir, _ = flat_run
    result = run_cli("eval", str(run_dir), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["density_note"] == "" and np.isfinite(report["bits_per_dim"])
    result = run_cli("sample", str(run_dir), "-n", "8", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "samples.png").is_file()  # images default to a picture


def test_input_shape_d_trains_a_table_whose_samples_default_to_csv(tmp_path):
    pixels, _ = _flat_digit_bytes(200)
    np.save(tmp_path / "pixels.npy", pixels)
    run_dir = tmp_path / "run"
    result = run_cli(
        "train", "--data", str(tmp_path / "pixels.npy"), "--input-shape", "64", *TINY,
        "--out", str(run_dir),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = json.loads((run_dir / "config.json").read_text())
    assert config["data"]["kind"] == "table" and config["data_config"]["input_shape"] == [64]
    result = run_cli("sample", str(run_dir), "-n", "5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "samples.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [f"column_{i}" for i in range(64)] and len(rows) == 6


def test_table_samples_are_rows_in_column_units(tmp_path):
    rng = np.random.RandomState(0)
    table = np.column_stack([1000 + rng.randn(300), rng.rand(300) * 1e-3, rng.randint(0, 3, 300)])
    path = tmp_path / "t.csv"
    np.savetxt(path, table, delimiter=",", header="big,tiny,label", comments="", fmt="%.9g")
    run_dir = tmp_path / "run"
    args = ("--data", str(path), "--label-column", "label", *TINY, "--out", str(run_dir))
    assert run_cli("train", *args).returncode == 0
    rows_path = tmp_path / "rows.csv"
    result = run_cli("sample", str(run_dir), "-n", "200", "--out", str(rows_path))
    assert result.returncode == 0, result.stderr
    with open(rows_path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["big", "tiny"] and len(rows) == 201
    values = np.array(rows[1:], dtype=np.float64)
    assert 990 < values[:, 0].mean() < 1010 and abs(values[:, 1].mean()) < 0.05
    npy = tmp_path / "rows.npy"
    assert run_cli("sample", str(run_dir), "-n", "200", "--out", str(npy)).returncode == 0
    np.testing.assert_allclose(np.load(npy), values, rtol=1e-6)
    refused = run_cli("sample", str(run_dir), "--out", str(tmp_path / "s.png"))
    assert refused.returncode == 2 and "holds tables: write a .csv or .npy file" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
