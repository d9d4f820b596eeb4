"""Checkpoints: checksummed, two kept, a corrupt one is detected and the previous one used."""

import pytest
import torch

from vaekit.data import DataConfig, load_data
from vaekit.errors import CheckpointError
from vaekit.models import VAE, VAEConfig
from vaekit.training import TrainConfig, TrainState, fit, restore_checkpoint


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    data = load_data(DataConfig(source="digits"))
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=data.spec.shape, latent_dim=3, hidden_dims=(16,)))
    fit(model, data, TrainConfig(epochs=2, batch_size=256), run_dir=run_dir)
    return run_dir, model


def fresh_state(model):
    torch.manual_seed(1)
    return TrainState.create(VAE(model.config), TrainConfig(epochs=2, batch_size=256))


def flip_byte(path, offset=-10):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def copy_run(trained_run, tmp_path):
    import shutil

    shutil.copytree(trained_run[0], tmp_path / "run")
    return tmp_path / "run"


def test_restore_reads_latest(trained_run, tmp_path):
    run_dir = copy_run(trained_run, tmp_path)
    state = fresh_state(trained_run[1])
    assert restore_checkpoint(run_dir, state).name == "latest"
    assert state.epoch == 2


@pytest.mark.parametrize(
    "name", ["model.safetensors", "train_state.safetensors", "train_state.json"]
)
def test_a_corrupt_latest_falls_back_to_previous(trained_run, tmp_path, name, caplog):
    run_dir = copy_run(trained_run, tmp_path)
    flip_byte(run_dir / "checkpoints" / "latest" / name)
    state = fresh_state(trained_run[1])
    assert restore_checkpoint(run_dir, state).name == "previous"
    assert state.epoch == 1
    assert "unusable" in caplog.text


def test_both_corrupt_is_a_clear_error(trained_run, tmp_path):
    run_dir = copy_run(trained_run, tmp_path)
    for folder in ("latest", "previous"):
        flip_byte(run_dir / "checkpoints" / folder / "model.safetensors")
    with pytest.raises(CheckpointError, match="checksum"):
        restore_checkpoint(run_dir, fresh_state(trained_run[1]))


def test_exported_model_with_flipped_byte_is_refused(trained_run, tmp_path):
    run_dir = copy_run(trained_run, tmp_path)
    flip_byte(run_dir / "model.safetensors")
    with pytest.raises(CheckpointError, match="checksum"):
        VAE.from_pretrained(run_dir)


def test_a_config_without_the_weights_checksum_is_refused(trained_run, tmp_path):
    import json

    run_dir = copy_run(trained_run, tmp_path)
    payload = json.loads((run_dir / "config.json").read_text())
    del payload["weights_sha256"]
    (run_dir / "config.json").write_text(json.dumps(payload))
    with pytest.raises(CheckpointError, match="weights_sha256"):
        VAE.from_pretrained(run_dir)


def test_a_huge_model_config_is_refused_before_any_allocation(trained_run, tmp_path):
    import json

    run_dir = copy_run(trained_run, tmp_path)
    payload = json.loads((run_dir / "config.json").read_text())
    payload["model"]["config"]["input_shape"] = [1, 100000, 100000]
    (run_dir / "config.json").write_text(json.dumps(payload))
    with pytest.raises(CheckpointError, match="input_shape"):
        VAE.from_pretrained(run_dir)


def test_wrong_shapes_are_named_before_real_tensors_are_built(trained_run, tmp_path):
    import json

    run_dir = copy_run(trained_run, tmp_path)
    payload = json.loads((run_dir / "config.json").read_text())
    payload["model"]["config"]["hidden_dims"] = [4096]
    (run_dir / "config.json").write_text(json.dumps(payload))
    with pytest.raises(CheckpointError, match="has shape"):
        VAE.from_pretrained(run_dir)


def test_missing_and_extra_tensors_are_named(trained_run, tmp_path):
    from safetensors.torch import load_file, save_file

    from vaekit.models.serialization import load_model

    for change in ("missing", "extra"):
        run_dir = copy_run(trained_run, tmp_path / change)
        tensors = load_file(str(run_dir / "model.safetensors"))
        if change == "missing":
            tensors.pop(sorted(tensors)[0])
        else:
            tensors["stowaway"] = torch.zeros(1)
        save_file(tensors, str(run_dir / "model.safetensors"))
        config = (run_dir / "config.json").read_text()
        import json

        payload = json.loads(config)
        from vaekit.io import sha256_file

        payload["weights_sha256"] = sha256_file(run_dir / "model.safetensors")  # pass it
        (run_dir / "config.json").write_text(json.dumps(payload))
        with pytest.raises(CheckpointError, match="stowaway" if change == "extra" else "lacks"):
            load_model(run_dir)
