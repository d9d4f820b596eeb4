import pytest

from vaekit.errors import ConfigError
from vaekit.models import AEConfig, VAEConfig
from vaekit.training import TrainConfig


def test_config_round_trips_through_json_dicts():
    config = VAEConfig(input_shape=(1, 28, 28), latent_dim=20, hidden_dims=(400, 200))
    assert VAEConfig.from_dict(config.to_dict()) == config
    assert TrainConfig.from_dict(TrainConfig(epochs=3).to_dict()) == TrainConfig(epochs=3)


def test_unknown_key_names_the_key():
    with pytest.raises(ConfigError, match="latent_dims"):
        VAEConfig.from_dict({"input_shape": [4], "latent_dims": 3})


def test_wrong_type_names_the_field():
    with pytest.raises(ConfigError, match="latent_dim"):
        VAEConfig.from_dict({"input_shape": [4], "latent_dim": "three"})
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig.from_dict({"epochs": 2.5})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_shape": (4,), "latent_dim": 0},
        {"input_shape": (4,), "arch": "conv"},
        {"input_shape": (4,), "likelihood": "poisson"},
        {"input_shape": ()},
    ],
)
def test_invalid_values_are_rejected(kwargs):
    with pytest.raises(ConfigError):
        AEConfig(**kwargs)


def test_configs_are_frozen():
    config = VAEConfig(input_shape=(4,))
    with pytest.raises(AttributeError):
        config.latent_dim = 5


def test_validation_batches_default_to_the_training_batch_capped_at_200():
    assert TrainConfig(batch_size=64).validation_batch_size == 64
    assert TrainConfig(batch_size=1024).validation_batch_size == 200
    assert TrainConfig(batch_size=64, eval_batch_size=500).validation_batch_size == 500
    old_run = {**TrainConfig().to_dict(), "eval_batch_size": 200}  # a checkpoint before None
    assert TrainConfig.from_dict(old_run).validation_batch_size == 200
    with pytest.raises(ConfigError, match="eval_batch_size"):
        TrainConfig(eval_batch_size=0)
