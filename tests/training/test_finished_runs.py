"""fit() and finished or existing runs: nothing is replaced or extended by accident."""

import pytest

from tests.single_thread import one_thread  # noqa: F401
from vaekit.errors import ConfigError
from vaekit.training import TrainConfig, fit
from vaekit.training.presets import get_preset, preset_train_fields
from vaekit.training.recipe import early_stop_reason


def test_fit_refuses_a_run_directory_that_holds_a_run(tmp_path, digits, small_vae):
    config = TrainConfig(epochs=1, batch_size=256)
    fit(small_vae(), digits, config, run_dir=tmp_path)
    weights = (tmp_path / "model.safetensors").read_bytes()
    with pytest.raises(ConfigError, match="already holds a run"):
        fit(small_vae(seed=1), digits, config, run_dir=tmp_path)
    assert (tmp_path / "model.safetensors").read_bytes() == weights


def test_resuming_a_finished_budget_run_trains_nothing(tmp_path, digits, small_vae):
    config = TrainConfig(epochs=10_000, batch_size=128, time_budget_seconds=0.3)
    first = fit(small_vae(), digits, config, run_dir=tmp_path)
    assert "time budget" in first.stop_reason
    metrics = (tmp_path / "metrics.csv").read_text()
    for _ in range(2):
        again = fit(small_vae(), digits, config, run_dir=tmp_path, resume=True)
        assert not again.trained and again.step == first.step
        assert "time budget" in again.stop_reason
    assert (tmp_path / "metrics.csv").read_text() == metrics  # no one-step epoch rows
    longer = TrainConfig(epochs=10_000, batch_size=128, time_budget_seconds=0.9)
    extended = fit(small_vae(), digits, longer, run_dir=tmp_path, resume=True)
    assert extended.trained and extended.step > first.step
    assert extended.train_seconds >= 0.9


def test_resuming_a_run_that_finished_its_epochs_trains_nothing(tmp_path, digits, small_vae):
    config = TrainConfig(epochs=1, batch_size=256)
    first = fit(small_vae(), digits, config, run_dir=tmp_path)
    again = fit(small_vae(), digits, config, run_dir=tmp_path, resume=True)
    assert (
        not again.trained
        and again.step == first.step
        and "finished its 1 epoch" in again.stop_reason
    )


def test_early_stopping_says_when_and_why(small_vae):
    from vaekit.training.state import TrainState

    state = TrainState.create(small_vae(), TrainConfig(early_stopping_patience=2))
    state.history = [{"val_elbo_nats": s} for s in (-50, -45, -46, -45.5)]
    reason = early_stop_reason(state)
    assert "after epoch 4" in reason and "epoch 2" in reason


def test_preset_with_epochs_follows_the_epochs():
    fields, notes = preset_train_fields(get_preset("fast"), {"epochs": 1}, 1437)
    assert "time_budget_seconds" not in fields and fields["epochs"] == 1
    steps = -(-1437 // fields["batch_size"])
    assert fields["lr_warmup_steps"] <= steps // 10  # the run does not end in its warm-up
    assert any("time budget" in note for note in notes)
    config = TrainConfig(**fields)
    assert config.lr_schedule == "cosine"
    same, notes = preset_train_fields(get_preset("fast"), {}, 1437)
    assert same["time_budget_seconds"] == 600.0 and not notes
