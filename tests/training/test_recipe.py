"""The training recipe: learning-rate schedule, weight average, time budget, early stopping."""

import math

import pytest
import torch

from tests.single_thread import one_thread  # noqa: F401  (autouse fixture)
from vaekit.models import VAE, load_model
from vaekit.training import TrainConfig, TrainState, fit
from vaekit.training.recipe import stop_early
from vaekit.training.schedules import lr_factor


def test_lr_factor_warms_up_then_follows_a_half_cosine():
    assert lr_factor("constant", 0.7, 1000, warmup_steps=0, final_factor=0.0) == 1.0
    assert lr_factor("constant", 0.0, 0, warmup_steps=10, final_factor=0.0) == pytest.approx(0.1)
    assert lr_factor("cosine", 0.0, 50, warmup_steps=10, final_factor=0.1) == pytest.approx(1.0)
    assert lr_factor("cosine", 0.5, 50, warmup_steps=10, final_factor=0.1) == pytest.approx(0.55)
    assert lr_factor("cosine", 1.0, 50, warmup_steps=10, final_factor=0.1) == pytest.approx(0.1)
    assert lr_factor("cosine", 3.0, 50, warmup_steps=0, final_factor=0.0) == 0.0


def test_cosine_schedule_reaches_the_final_rate(digits, small_vae):
    config = TrainConfig(epochs=2, batch_size=256, lr=2e-3, lr_schedule="cosine",
                         lr_final_factor=0.05)  # fmt: skip
    state = fit(small_vae(), digits, config)
    steps = state.step
    # the last step ran at progress (steps - 1) / steps
    expected = 2e-3 * lr_factor("cosine", (steps - 1) / steps, steps - 1, warmup_steps=0,
                                final_factor=0.05)  # fmt: skip
    assert state.optimizer.param_groups[0]["lr"] == pytest.approx(expected)
    assert expected < 2e-3 * 0.1  # annealed most of the way with only 10 steps


def test_weight_average_is_validated_exported_and_left_in_the_model(tmp_path, digits, small_vae):
    model = small_vae()
    config = TrainConfig(epochs=2, batch_size=128, lr=3e-3, ema_decay=0.9)
    state = fit(model, digits, config, run_dir=tmp_path)
    exported = VAE.from_pretrained(tmp_path)
    raw = load_model(tmp_path / "checkpoints" / "latest")  # the iterate resume continues
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, exported.state_dict()[name]), name
        assert torch.equal(tensor, state.ema.model.state_dict()[name]), name
    assert any(not torch.equal(t, raw.state_dict()[n]) for n, t in model.state_dict().items())
    assert state.ema.num_updates == state.step


def test_resume_with_weight_average_is_bitwise_exact(tmp_path, digits, small_vae):
    config = TrainConfig(epochs=2, batch_size=128, lr=3e-3, ema_decay=0.95,
                         lr_schedule="cosine", lr_warmup_steps=5)  # fmt: skip
    straight = small_vae()
    fit(straight, digits, config, run_dir=tmp_path / "a")
    calls = iter(range(10**6))
    interrupted = fit(small_vae(), digits, config, run_dir=tmp_path / "b",
                      should_stop=lambda: next(calls) == 13)  # fmt: skip
    assert interrupted.interrupted and interrupted.step == 14
    resumed = small_vae(seed=7)  # different start: everything must come from the checkpoint
    fit(resumed, digits, config, run_dir=tmp_path / "b", resume=True)
    for name, tensor in straight.state_dict().items():
        assert torch.equal(tensor, resumed.state_dict()[name]), name


def test_time_budget_ends_training_with_a_validated_epoch(digits, small_vae):
    config = TrainConfig(epochs=10_000, batch_size=32, time_budget_seconds=0.3)
    state = fit(small_vae(), digits, config)
    assert 1 <= state.epoch < 10_000 and not state.interrupted
    assert math.isfinite(state.history[-1]["val_elbo_nats"])
    assert state.train_seconds >= 0.3


def test_early_stopping_counts_epochs_since_the_best_validation_elbo(small_vae):
    state = TrainState.create(small_vae(), TrainConfig(early_stopping_patience=2))
    for scores, expected in (([-50, -45, -46], False), ([-50, -45, -46, -45.5], True)):
        state.history = [{"val_elbo_nats": s} for s in scores]
        assert stop_early(state) is expected
    state = TrainState.create(small_vae(), TrainConfig())
    assert stop_early(state) is False


def test_table_recipe_sizes_training_to_the_rows():
    from vaekit.training import table_recipe

    small = table_recipe(124, 13)
    assert small.model_fields == {"hidden_dims": (128,), "latent_dim": 13, "linear_skip": True}
    assert small.train_fields["batch_size"] == 32
    assert (
        small.train_fields["epochs"] == 3000 and small.train_fields["early_stopping_patience"] == 50
    )
    large = table_recipe(70_000, 200)
    assert large.model_fields["latent_dim"] == 64
    assert large.train_fields["batch_size"] == 256
    steps_per_epoch = math.ceil(70_000 / 256)
    # about 60,000 planned steps, patience about 1,500 steps
    assert abs(large.train_fields["epochs"] * steps_per_epoch - 60_000) < steps_per_epoch
    assert large.train_fields["early_stopping_patience"] == math.ceil(1500 / steps_per_epoch)


def test_weight_decay_is_adamw_and_shrinks_unused_weights():
    from vaekit.training.state import make_adam

    layer = torch.nn.Linear(3, 1)
    assert not make_adam(layer, 1e-3).param_groups[0]["decoupled_weight_decay"]
    optimizer = make_adam(layer, 1e-1, weight_decay=0.5)
    assert optimizer.param_groups[0]["decoupled_weight_decay"]  # AdamW's decay
    before = layer.weight.detach().clone()
    layer.weight.grad = torch.zeros_like(layer.weight)  # no gradient: only the decay acts
    layer.bias.grad = torch.zeros_like(layer.bias)
    optimizer.step()
    assert torch.allclose(layer.weight, before * (1 - 1e-1 * 0.5))
