"""Numerical faults: NaNs in a forward pass roll training back with a lower learning rate."""

import pytest
import torch

from vaekit.data import DataConfig, load_data
from vaekit.errors import TrainingError
from vaekit.models import VAE, VAEConfig
from vaekit.training import TrainConfig, fit


@pytest.fixture(scope="module")
def digits():
    return load_data(DataConfig(source="digits", binarize="dynamic"))


def vae(spec):
    torch.manual_seed(0)
    return VAE(VAEConfig(input_shape=spec.shape, latent_dim=4, hidden_dims=(32,)))


class NaNForwardPasses:
    """A forward hook that turns the encoder's output to NaN on chosen calls."""

    def __init__(self, bad_calls):
        self.bad_calls = set(bad_calls)
        self.calls = 0

    def __call__(self, module, inputs, output):
        self.calls += 1
        if self.calls in self.bad_calls:
            return torch.full_like(output, float("nan"))
        return output


def test_a_run_of_nan_forward_passes_rolls_back_and_training_finishes(digits):
    model = vae(digits.spec)
    config = TrainConfig(epochs=3, batch_size=64, lr=2e-3, rollback_after=4, checkpoint_every=5)
    # training calls the encoder once per step (validation calls come at epoch ends)
    injector = NaNForwardPasses(range(12, 12 + 4))
    model.encoder.register_forward_hook(injector)
    state = fit(model, digits, config)
    assert state.rollbacks == 1
    assert state.skipped_steps == 4
    assert state.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)
    assert state.epoch == 3 and not state.interrupted
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert state.history[-1]["val_elbo_nats"] > -60


def test_rollback_restores_the_last_good_weights(digits, monkeypatch):
    from vaekit.training.state import TrainState

    model = vae(digits.spec)
    config = TrainConfig(epochs=1, batch_size=64, rollback_after=3, checkpoint_every=4)
    model.encoder.register_forward_hook(NaNForwardPasses(range(9, 9 + 3)))  # steps 1-8 succeed
    seen = {}
    real_rollback = TrainState.rollback_to_snapshot

    def observed_rollback(self, factor):  # wraps the real method to look at its effect
        seen["snapshot_step"] = self.snapshot_step
        seen["good"] = {k: v.clone() for k, v in self.snapshot["model"].items()}
        real_rollback(self, factor)
        seen["after"] = {k: v.clone() for k, v in self.model.state_dict().items()}

    monkeypatch.setattr(TrainState, "rollback_to_snapshot", observed_rollback)
    fit(model, digits, config)
    assert seen["snapshot_step"] == 8  # the checkpoint at step 8 is the last good state
    assert all(torch.equal(seen["good"][k], seen["after"][k]) for k in seen["good"])


def test_persistent_nans_stop_after_the_rollback_budget(digits):
    model = vae(digits.spec)
    model.encoder.register_forward_hook(NaNForwardPasses(range(3, 10_000)))
    config = TrainConfig(epochs=5, batch_size=64, rollback_after=2, max_rollbacks=2)
    with pytest.raises(TrainingError, match="2 rollbacks"):
        fit(model, digits, config)
