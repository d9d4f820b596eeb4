"""FusedAdam against torch.optim.Adam/AdamW(fused=True): same weights bit for bit, state_dicts
that load into each other, clear refusals, and no torch._dynamo import in a training run."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch

from vaekit.training.adam import FusedAdam, fused_adam_supported


def _model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))


def _train(model: torch.nn.Module, optimizer, steps: range, lrs: list[float]) -> None:
    """Steps on fixed data with a changing learning rate, as the schedules set it."""
    for step in steps:
        generator = torch.Generator().manual_seed(step)
        x = torch.randn(8, 6, generator=generator)
        optimizer.zero_grad(set_to_none=True)
        model(x).square().mean().backward()
        optimizer.param_groups[0]["lr"] = lrs[step % len(lrs)]
        optimizer.step()


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_weights_equal_torch_fused_adam_bit_for_bit(weight_decay: float) -> None:
    ours_model, torch_model = _model(), _model()
    ours = FusedAdam(list(ours_model.parameters()), 1e-2, weight_decay=weight_decay)
    cls = torch.optim.AdamW if weight_decay else torch.optim.Adam
    options = {"weight_decay": weight_decay} if weight_decay else {}
    reference = cls(torch_model.parameters(), lr=1e-2, fused=True, **options)
    lrs = [1e-2, 5e-3, 2e-2]
    _train(ours_model, ours, range(12), lrs)
    _train(torch_model, reference, range(12), lrs)
    for a, b in zip(ours_model.parameters(), torch_model.parameters()):
        assert torch.equal(a, b)
    assert ours.state[0]["step"].item() == 12.0


@pytest.mark.parametrize("direction", ["torch to ours", "ours to torch"])
def test_state_dicts_load_into_each_other_and_training_continues_alike(direction: str) -> None:
    first, second = _model(), _model()
    if direction == "torch to ours":
        writer = torch.optim.Adam(first.parameters(), lr=1e-2, fused=True)
    else:
        writer = FusedAdam(list(first.parameters()), 1e-2)
    _train(first, writer, range(5), [1e-2])
    second.load_state_dict(first.state_dict())
    if direction == "torch to ours":
        reader = FusedAdam(list(second.parameters()), 1.0)
    else:
        reader = torch.optim.Adam(second.parameters(), lr=1.0, fused=True)
    # a copy: torch.optim's load_state_dict keeps the very tensors it is given
    reader.load_state_dict(copy.deepcopy(writer.state_dict()))
    assert reader.param_groups[0]["lr"] == 1e-2
    _train(first, writer, range(5, 9), [3e-3])
    _train(second, reader, range(5, 9), [3e-3])
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)


def test_loaded_state_is_a_copy_not_the_saved_tensors() -> None:
    model = _model()
    optimizer = FusedAdam(list(model.parameters()), 1e-2)
    _train(model, optimizer, range(2), [1e-2])
    saved = optimizer.state_dict()
    kept = saved["state"][0]["exp_avg"].clone()
    optimizer.load_state_dict(saved)
    _train(model, optimizer, range(2, 4), [1e-2])
    assert torch.equal(saved["state"][0]["exp_avg"], kept)


def test_a_state_dict_for_other_parameters_is_refused() -> None:
    small = FusedAdam(list(torch.nn.Linear(2, 2).parameters()), 1e-2)
    model = _model()
    _train(model, FusedAdam(list(model.parameters()), 1e-2), range(1), [1e-2])
    with pytest.raises(ValueError, match="parameters"):
        small.load_state_dict(FusedAdam(list(model.parameters()), 1e-2).state_dict())
    wrong_shape = torch.nn.Linear(2, 2)
    other = FusedAdam(list(torch.nn.Linear(3, 2).parameters()), 1e-2)
    other.param_groups[0]["params"][0].grad = torch.ones(2, 3)
    other.param_groups[0]["params"][1].grad = torch.ones(2)
    other.step()
    with pytest.raises(ValueError, match="shape"):
        FusedAdam(list(wrong_shape.parameters()), 1e-2).load_state_dict(other.state_dict())


def test_parameters_without_gradients_keep_no_state_and_do_not_move() -> None:
    model = _model()
    frozen = model[2].weight.detach().clone()
    optimizer = FusedAdam(list(model.parameters()), 1e-1)
    model(torch.ones(1, 6)).sum().backward()
    model[2].weight.grad = None
    optimizer.step()
    assert torch.equal(model[2].weight, frozen)
    assert 2 not in optimizer.state and 0 in optimizer.state
    optimizer.zero_grad(set_to_none=False)
    assert torch.count_nonzero(model[0].weight.grad) == 0


def test_supported_on_cpu_floats_only() -> None:
    assert fused_adam_supported([torch.zeros(2), torch.zeros(3)])
    assert not fused_adam_supported([])
    assert not fused_adam_supported([torch.zeros(2, dtype=torch.int64)])


def test_a_training_run_does_not_import_torch_dynamo(tmp_path) -> None:
    """The point of FusedAdam: torch.optim would import torch._dynamo (1-2 s)."""
    script = (
        "import sys\n"
        "from vaekit.data import DataConfig, load_data\n"
        "from vaekit.models import VAE, VAEConfig\n"
        "from vaekit.training import TrainConfig, fit\n"
        "data = load_data(DataConfig(source='digits', binarize='dynamic'))\n"
        "model = VAE(VAEConfig(input_shape=data.spec.shape, latent_dim=4,"
        " hidden_dims=(32,)))\n"
        f"state = fit(model, data, TrainConfig(epochs=1), run_dir={str(tmp_path / 'run')!r})\n"
        "print(type(state.optimizer).__name__, 'torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out.split() == ["FusedAdam", "False"]
