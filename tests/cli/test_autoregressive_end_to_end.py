"""The command line with an autoregressive Bernoulli decoder (--likelihood bernoulli_ar)."""

import json

import numpy as np
import pytest

from tests.cli.conftest import run_cli


@pytest.fixture(scope="module")
def ar_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "digits-ar"
    result = run_cli(
        "train", "--data", "digits", "--binarize", "dynamic", "--likelihood", "bernoulli_ar",
        "--epochs", "2", "--latent-dim", "4", "--hidden-dims", "32", "--lr", "3e-3",
        "--out", str(run_dir), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return run_dir


def test_train_and_eval_give_finite_binary_data_figures(ar_run):
    config = json.loads((ar_run / "config.json").read_text())
    assert config["model"]["config"]["likelihood"] == "bernoulli_ar"
    assert (ar_run / "samples.png").is_file() and (ar_run / "reconstructions.png").is_file()
    result = run_cli("eval", str(ar_run), "--iw-samples", "20", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert np.isfinite([report["elbo_nats"], report["nll_nats"], report["bits_per_dim"]]).all()
    assert report["nll_nats"] <= -report["elbo_nats"] + 1.0
    assert report["density_note"] == ""  # binary data: the nats are code lengths
    train = json.loads(run_cli("eval", str(ar_run), "--split", "train", "--json").stdout)
    assert train["density_note"] == ""


def test_sample_is_reproducible_with_its_seed(ar_run, tmp_path):
    arrays = []
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        out = tmp_path / f"{name}.npy"
        result = run_cli("sample", str(ar_run), "-n", "6", "--seed", seed, "--out", str(out))
        assert result.returncode == 0, result.stderr
        arrays.append(np.load(out))
    assert arrays[0].shape == (6, 1, 8, 8) and np.isfinite(arrays[0]).all()
    assert arrays[0].min() >= 0 and arrays[0].max() <= 1
    assert np.array_equal(arrays[0], arrays[1]) and not np.array_equal(arrays[0], arrays[2])


def test_reconstruct_interpolate_traverse(ar_run, tmp_path):
    commands = [
        ("reconstruct", "--split", "test", "-n", "8", "--out", str(tmp_path / "r.npy")),
        ("interpolate", "--split", "test", "--steps", "5", "--out", str(tmp_path / "i.npy")),
        ("traverse", "--dims", "0", "1", "--steps", "3", "--out", str(tmp_path / "t.npy")),
    ]
    for command, *rest in commands:
        result = run_cli(command, str(ar_run), *rest)
        assert result.returncode == 0, (command, result.stderr)
    for name, shape in (("r", (8, 1, 8, 8)), ("i", (5, 1, 8, 8)), ("t", (6, 1, 8, 8))):
        array = np.load(tmp_path / f"{name}.npy")
        assert array.shape == shape and np.isfinite(array).all(), name
        assert array.min() >= 0 and array.max() <= 1, name
    again = tmp_path / "r2.npy"
    run_cli("reconstruct", str(ar_run), "--split", "test", "-n", "8", "--out", str(again))
    assert np.array_equal(np.load(again), np.load(tmp_path / "r.npy"))


def test_compress_refuses_it_with_one_line(ar_run, tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((4, 8, 8)) < 0.5)
    out = tmp_path / "x.vkz"
    result = run_cli("compress", str(ar_run), str(tmp_path / "x.npy"), "-o", str(out), "--quiet")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vaekit: error: "), result.stderr
    assert "bernoulli_ar" in lines[0]
    assert not out.exists()
