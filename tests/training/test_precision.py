"""--precision auto: bf16 on a CPU with bf16 instructions exactly for the models measured to
gain from it (the fused MLP step, the MLP hierarchical VAE with a Bernoulli decoder), fp32
everywhere else; fit() records the format it chose."""

import pytest
import torch

from vaekit.models import VAE, HierarchicalVAE, HVAEConfig, VAEConfig
from vaekit.training import TrainConfig, TrainState, fit
from vaekit.training.distributed import World
from vaekit.training.engine import cpu_has_bf16_matmul, resolve_precision

CPU = torch.device("cpu")
NATIVE = "bf16" if cpu_has_bf16_matmul() else "fp32"


def resolved(model, *, compile=False, **fields):
    config = TrainConfig(precision="auto", **fields)
    return resolve_precision(config, model, CPU, World.current(CPU), compile=compile)


def mlp(**overrides):
    return VAE(VAEConfig(input_shape=(1, 8, 8), latent_dim=4, hidden_dims=(32,), **overrides))


def hvae(**overrides):
    fields = {"input_shape": (1, 8, 8), "latent_dim": 4, "hidden_dims": (32,), "state_dim": 16}
    return HierarchicalVAE(HVAEConfig(**{**fields, **overrides}))


class SubclassedHVAE(HierarchicalVAE):
    pass


def test_auto_takes_bf16_for_the_mlp_hierarchical_vae_on_a_bf16_cpu():
    assert resolved(hvae()) == NATIVE
    assert resolved(hvae(), objective="iwae", iw_train_samples=2) == "fp32"
    assert resolved(hvae(arch="conv", conv_channels=(4, 8))) == "fp32"
    assert resolved(hvae(likelihood="gaussian")) == "fp32"
    assert resolved(hvae(), compile=True) == "fp32"
    model = SubclassedHVAE(HVAEConfig(input_shape=(1, 8, 8), latent_dim=4, hidden_dims=(32,)))
    assert resolved(model) == "fp32"


def test_auto_takes_bf16_only_for_the_fused_step_on_a_bf16_cpu():
    assert resolved(mlp()) == NATIVE
    # models and objectives the fused step does not compute train in fp32
    assert resolved(mlp(arch="conv", conv_channels=(4, 8))) == "fp32"
    assert resolved(mlp(likelihood="gaussian")) == "fp32"
    assert resolved(mlp(), objective="iwae", iw_train_samples=2) == "fp32"
    assert resolved(mlp(), free_bits=0.1) == "fp32"
    assert resolved(mlp(), fast_path=False) == "fp32"
    assert resolved(mlp(), compile=True) == "fp32"


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_a_named_precision_is_kept(precision):
    config = TrainConfig(precision=precision)
    assert resolve_precision(config, mlp(), CPU, World.current(CPU), compile=False) == precision


def test_the_fused_step_runs_in_the_configured_format():
    model = mlp()
    assert TrainState.create(model, TrainConfig(precision="fp32")).fast_path.compute_dtype == (
        torch.float32
    )
    assert TrainState.create(model, TrainConfig(precision="bf16")).fast_path.compute_dtype == (
        torch.bfloat16
    )
    assert TrainState.create(model, TrainConfig(precision="fp16")).fast_path is None


def test_fit_records_the_format_auto_chose(digits):
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=digits.spec.shape, latent_dim=4, hidden_dims=(32,)))
    state = fit(model, digits, TrainConfig(epochs=1, batch_size=256, precision="auto"))
    assert state.config.precision == NATIVE
    assert model.metadata["train"]["precision"] == NATIVE
    assert TrainConfig().precision == "fp32"  # the Python API's default is unchanged
