"""`vaekit train --preset`: the preset sets model and training, explicit flags win."""

import json

import numpy as np

from tests.cli.conftest import run_cli
from vaekit.training.presets import EIGHT_BIT, PRESETS


def test_preset_with_overrides_trains_the_preset_model(tmp_path):
    out = tmp_path / "run"
    result = run_cli(
        "train", "--data", "digits", "--binarize", "dynamic", "--preset", "best",
        "--time-budget", "2", "--state-dim", "16", "--hidden-dims", "32", "--threads", "1",
        "--out", str(out), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    preset = PRESETS["best"]
    assert config["model"]["name"] == preset.model
    assert config["model"]["config"]["state_dim"] == 16  # the flag
    assert config["model"]["config"]["hidden_dims"] == [32]  # the flag
    assert (
        config["model"]["config"]["num_latent_layers"] == preset.model_fields["num_latent_layers"]
    )
    assert config["train"]["time_budget_seconds"] == 2.0  # the flag
    for key in ("lr", "lr_schedule", "ema_decay", "grad_clip"):
        assert config["train"][key] == preset.train_fields[key], key
    assert (out / "metrics.csv").read_text().count("\n") >= 2  # at least one validated epoch


def test_a_flag_the_model_lacks_is_one_clear_error(tmp_path):
    result = run_cli(
        "train", "--data", "digits", "--preset", "fast", "--model", "vae", "--state-dim", "8",
        "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "vaekit: error: --state-dim does not apply to --model vae"
    assert not (tmp_path / "run").exists()


def test_preset_on_eight_bit_images_trains_the_codable_vae(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (300, 8, 8), dtype=np.uint8)
    np.save(tmp_path / "x.npy", images)
    out = tmp_path / "run"
    result = run_cli(
        "train", "--data", str(tmp_path / "x.npy"), "--preset", "fast", "--time-budget", "1",
        "--hidden-dims", "16", "--latent-dim", "4", "--threads", "1", "--out", str(out),
        "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    recipe = PRESETS["fast"].variants[EIGHT_BIT]
    assert config["model"]["name"] == "vae" == recipe.model
    assert config["model"]["config"]["likelihood"] == recipe.likelihood
    assert config["model"]["config"]["hidden_dims"] == [16]  # the flag
    assert config["train"]["lr"] == recipe.train_fields["lr"]
