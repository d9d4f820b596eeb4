"""Background checkpoint writes: the files are the foreground write's, in order, and a
failed write is reported, not lost."""

import json

import pytest
import torch
from safetensors.torch import load_file

from vaekit.training import TrainConfig, fit
from vaekit.training.checkpoint import (
    CheckpointWriter,
    checkpoint_contents,
    save_checkpoint,
    verify_checksums,
)
from vaekit.training.state import TrainState


def test_fit_returns_with_its_last_checkpoint_on_disk(digits, small_vae, tmp_path):
    state = fit(small_vae(), digits, TrainConfig(epochs=3, batch_size=64), run_dir=tmp_path)
    latest = tmp_path / "checkpoints" / "latest"
    verify_checksums(latest)
    assert json.loads((latest / "train_state.json").read_text())["step"] == state.step
    exported = load_file(str(tmp_path / "model.safetensors"))
    for name, value in state.model.state_dict().items():
        assert torch.equal(exported[name], value), name
    assert state.checkpoint_writer is None


def test_contents_are_a_copy_taken_when_submitted(digits, small_vae, tmp_path):
    """Weights changed after submit() must not leak into the checkpoint being written."""
    model = small_vae()
    state = TrainState.create(model, TrainConfig(epochs=1))
    writer = CheckpointWriter()
    writer.submit(tmp_path / "a", checkpoint_contents(state))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
    writer.wait()
    save_checkpoint(tmp_path / "b", state)  # the foreground write of the changed weights
    written = load_file(str(tmp_path / "a" / "checkpoints" / "latest" / "model.safetensors"))
    for name, value in before.items():
        assert torch.equal(written[name], value), name
    changed = load_file(str(tmp_path / "b" / "checkpoints" / "latest" / "model.safetensors"))
    assert not all(torch.equal(changed[n], v) for n, v in before.items())


def test_a_failed_write_is_raised_by_wait(digits, small_vae, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the run directory should be")
    state = TrainState.create(small_vae(), TrainConfig(epochs=1))
    writer = CheckpointWriter()
    writer.submit(blocker, checkpoint_contents(state))
    with pytest.raises(OSError):
        writer.wait()
    writer.wait()  # reported once
