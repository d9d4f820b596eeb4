import json

import numpy as np
import pytest
from PIL import Image

from tests.cli.conftest import FMNIST, run_cli


def test_train_writes_a_complete_run(digits_run):
    for name in ("config.json", "model.safetensors", "metrics.csv", "samples.png", "report.md"):
        assert (digits_run / name).is_file(), name
    report = (digits_run / "report.md").read_text()
    assert "Samples from the prior" in report
    # the command line's --precision auto is recorded as the format it chose
    chosen = json.loads((digits_run / "config.json").read_text())["train"]["precision"]
    assert chosen in ("fp32", "bf16")
    assert f"- precision: `{chosen}`" in report


def test_eval_json_has_the_promised_fields_and_trained_beats_untrained(digits_run, tmp_path):
    result = run_cli("eval", str(digits_run), "--iw-samples", "50", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("elbo_nats", "nll_nats", "bits_per_dim", "iw_samples", "num_examples"):
        assert key in report
    assert report["iw_samples"] == 50 and report["num_examples"] == 359
    assert np.isfinite([report["elbo_nats"], report["nll_nats"]]).all()
    assert report["nll_nats"] <= -report["elbo_nats"] + 1.0  # IW bound is at least as tight
    untrained = tmp_path / "untrained"
    result = run_cli(
        "train", "--data", "digits", "--binarize", "dynamic", "--epochs", "1", "--latent-dim", "8",
        "--hidden-dims", "64", "--lr", "1e-9", "--out", str(untrained), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    baseline = json.loads(run_cli("eval", str(untrained), "--json").stdout)
    assert report["elbo_nats"] > baseline["elbo_nats"] + 5


def test_eval_limit_scores_the_first_n(digits_run):
    report = json.loads(run_cli("eval", str(digits_run), "--limit", "20", "--json").stdout)
    assert report["num_examples"] == 20


@pytest.mark.parametrize("suffix", [".png", ".npy"])
def test_sample_writes_images_or_arrays(digits_run, tmp_path, suffix):
    out = tmp_path / f"samples{suffix}"
    result = run_cli(
        "sample", str(digits_run), "-n", "10", "--temperature", "0.8", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    if suffix == ".npy":
        array = np.load(out)
        assert array.shape == (10, 1, 8, 8) and np.isfinite(array).all()
        assert array.min() >= 0 and array.max() <= 1
    else:
        assert Image.open(out).size[0] >= 256


def test_reconstruct_interpolate_traverse_encode(digits_run, tmp_path):
    commands = [
        ("reconstruct", "--split", "test", "-n", "16", "--out", str(tmp_path / "r.png")),
        (
            "interpolate",
            "--split",
            "test",
            "--pair",
            "0",
            "1",
            "--steps",
            "7",
            "--out",
            str(tmp_path / "i.npy"),
        ),
        ("traverse", "--dims", "0", "1", "--steps", "5", "--out", str(tmp_path / "t.png")),
        ("encode", "--split", "test", "--out", str(tmp_path / "z.npz")),
    ]
    for command, *rest in commands:
        result = run_cli(command, str(digits_run), *rest)
        assert result.returncode == 0, (command, result.stderr)
    path = np.load(tmp_path / "i.npy")
    assert path.shape == (7, 1, 8, 8) and np.isfinite(path).all()
    latents = np.load(tmp_path / "z.npz")
    assert latents["mean"].shape == (359, 8) and latents["log_var"].shape == (359, 8)
    assert latents["labels"].shape == (359,)
    assert Image.open(tmp_path / "r.png").size[0] >= 256


def test_resume_extends_a_finished_run(digits_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(digits_run, copy)
    result = run_cli("train", "--out", str(copy), "--resume", "--epochs", "7", "--quiet")
    assert result.returncode == 0, result.stderr
    lines = (copy / "metrics.csv").read_text().splitlines()
    assert len(lines) == 1 + 7
    assert lines[0].startswith("epoch,step,train_loss,")  # column order survives a resume


def test_resume_falls_back_when_latest_config_is_corrupt(digits_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(digits_run, copy)
    (copy / "checkpoints" / "latest" / "config.json").write_text("{not json")
    result = run_cli("train", "--out", str(copy), "--resume", "--epochs", "7", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "unusable" in result.stderr


@pytest.mark.skipif(not FMNIST.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_fashion_mnist_slice_end_to_end(tmp_path):
    run_dir = tmp_path / "fm"
    result = run_cli(
        "train", "--data", "fashion-mnist", "--binarize", "dynamic", "--train-limit", "3000",
        "--eval-limit", "500", "--epochs", "2", "--latent-dim", "8", "--out", str(run_dir),
        "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(
        run_cli("eval", str(run_dir), "--limit", "200", "--iw-samples", "20", "--json").stdout
    )
    assert report["num_examples"] == 200 and report["num_dims"] == 784
    assert 100 < report["nll_nats"] < 543  # better than a uniform coin per pixel (784 ln 2)
    result = run_cli("sample", str(run_dir), "-n", "16", "--out", str(tmp_path / "s.png"))
    assert result.returncode == 0, result.stderr


def test_quiet_training_hides_the_bar_but_keeps_the_epoch_lines(tmp_path):
    result = run_cli(
        "train", "--data", "digits", "--epochs", "2", "--hidden-dims", "16", "--latent-dim", "2",
        "--out", str(tmp_path / "q"), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "epoch 1:" not in result.stdout  # progress goes to stderr, results to stdout
    assert "epoch 1: train loss" in result.stderr and "epoch 2: train loss" in result.stderr
    assert "\r" not in result.stderr and "step/s" not in result.stderr  # no bar
    header = (tmp_path / "q" / "metrics.csv").read_text().splitlines()[0]
    assert header.startswith("epoch,step,train_loss,")


def test_eval_on_the_train_split_of_a_dynamic_run_scores_binary_data(digits_run):
    report = json.loads(run_cli("eval", str(digits_run), "--split", "train", "--json").stdout)
    assert report["density_note"] == ""  # binarized once, so the figures are code lengths


def test_outputs_get_the_usual_mode_not_mkstemps_0600(digits_run):
    import os

    umask = os.umask(0)
    os.umask(umask)
    for name in ("model.safetensors", "samples.png", "report.md"):
        mode = (digits_run / name).stat().st_mode & 0o777
        assert mode == 0o666 & ~umask, (name, oct(mode))
