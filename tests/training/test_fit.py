import dataclasses

import pytest
import torch

from vaekit.data import DataSplits, Split
from vaekit.errors import TrainingError
from vaekit.evaluation import evaluate
from vaekit.training import TrainCallback, TrainConfig, fit
from vaekit.training.schedules import kl_weight


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_training_beats_untrained_model_on_test_elbo(digits, small_vae):
    untrained = small_vae()
    before = evaluate(untrained, digits.test.x, generator=torch.Generator().manual_seed(0))
    model = small_vae()
    fit(model, digits, TrainConfig(epochs=8, batch_size=64, lr=3e-3))
    after = evaluate(model, digits.test.x, generator=torch.Generator().manual_seed(0))
    assert after.elbo_nats > before.elbo_nats + 10


def test_run_directory_has_checkpoint_metrics_and_loadable_model(tmp_path, digits, small_vae):
    from vaekit.models import VAE

    model = small_vae()
    state = fit(model, digits, TrainConfig(epochs=2, batch_size=256), run_dir=tmp_path)
    assert state.epoch == 2 and len(state.history) == 2
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert len(lines) == 3 and "val_elbo_nats" in lines[0]
    for folder in ("latest", "previous"):
        assert (tmp_path / "checkpoints" / folder / "train_state.safetensors").is_file()
    loaded = VAE.from_pretrained(tmp_path)
    assert same_weights(weights(loaded), weights(model))
    assert loaded.metadata["data"]["source"] == "digits"
    assert loaded.metadata["data_config"]["source"] == "digits"  # so `vaekit eval` can reload


def test_same_seed_gives_identical_weights(digits, small_vae):
    config = TrainConfig(epochs=1, batch_size=128, seed=3)
    a, b = small_vae(), small_vae()
    fit(a, digits, config)
    fit(b, digits, config)
    assert same_weights(weights(a), weights(b))


class StopAtStep(TrainCallback):
    def __init__(self, step):
        self.step = step

    def on_step(self, state, metrics):
        if state.step >= self.step:
            raise KeyboardInterrupt  # stands in for the process dying


@pytest.mark.parametrize("stop_step", [4, 11])  # mid-epoch, and in the second epoch
def test_resume_after_interruption_matches_uninterrupted_run(
    tmp_path, digits, small_vae, stop_step
):
    config = TrainConfig(epochs=2, batch_size=128, checkpoint_every=2, log_every=1)
    reference = small_vae()
    fit(reference, digits, config)
    model = small_vae()
    with pytest.raises(KeyboardInterrupt):
        fit(model, digits, config, run_dir=tmp_path, callbacks=[StopAtStep(stop_step)])
    resumed = small_vae(seed=99)  # different initial weights: all must come from the checkpoint
    state = fit(resumed, digits, config, run_dir=tmp_path, resume=True)
    assert state.step == reference_steps(digits, config)
    assert same_weights(weights(resumed), weights(reference))


def reference_steps(digits, config):
    return config.epochs * -(-len(digits.train) // config.batch_size)


def test_non_finite_batch_is_skipped_and_counted(digits, small_vae):
    x = digits.train.x[:256].clone()
    x[5, 0, 0, 0] = float("nan")  # lands in exactly one batch per epoch
    data = dataclasses.replace(digits, train=Split(x=x, y=None))
    data = DataSplits(
        train=data.train,
        val=digits.val,
        test=digits.test,
        spec=dataclasses.replace(digits.spec, binarize="none"),
    )
    state = fit(small_vae(), data, TrainConfig(epochs=2, batch_size=64))
    assert state.skipped_steps == 2
    assert state.step == 2 * 4 - 2
    assert all(torch.isfinite(p).all() for p in state.model.parameters())


def test_persistent_non_finite_loss_stops_with_training_error(digits, small_vae):
    x = torch.full((64, *digits.spec.shape), float("nan"))
    spec = dataclasses.replace(digits.spec, binarize="none")
    data = DataSplits(train=Split(x=x, y=None), val=digits.val, test=digits.test, spec=spec)
    with pytest.raises(TrainingError, match="non-finite"):
        fit(
            small_vae(),
            data,
            TrainConfig(epochs=50, batch_size=8, rollback_after=3, max_rollbacks=2),
        )


def test_kl_warmup_is_linear_then_flat():
    assert kl_weight(0, beta=1.0, warmup_steps=10) == 0.0
    assert kl_weight(5, beta=2.0, warmup_steps=10) == 1.0
    assert kl_weight(50, beta=2.0, warmup_steps=10) == 2.0
    assert kl_weight(0, beta=0.5, warmup_steps=0) == 0.5
