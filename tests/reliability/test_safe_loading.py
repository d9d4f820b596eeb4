"""Nothing a user supplies is unpickled: a malicious pickle is refused and never runs."""

import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from vaekit.data import DataConfig, load_data
from vaekit.errors import CheckpointError, DataError
from vaekit.models import VAE, VAEConfig, load_model, save_model

SRC = Path(__file__).resolve().parents[2] / "src" / "vaekit"


class Exploit:
    """Unpickling this creates a marker file: proof that code from the file ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def malicious_bytes(marker: Path) -> bytes:
    return pickle.dumps(Exploit(marker))


def test_pickle_in_place_of_weights_is_refused_and_not_run(tmp_path):
    save_model(VAE(VAEConfig(input_shape=(4,), latent_dim=2, likelihood="gaussian")), tmp_path)
    marker = tmp_path / "pwned"
    (tmp_path / "model.safetensors").write_bytes(malicious_bytes(marker))
    import json

    from vaekit.io import sha256_file

    payload = json.loads((tmp_path / "config.json").read_text())
    payload["weights_sha256"] = sha256_file(tmp_path / "model.safetensors")  # pass the checksum
    (tmp_path / "config.json").write_text(json.dumps(payload))
    with pytest.raises(CheckpointError):
        load_model(tmp_path)
    assert not marker.exists()


def test_pickled_object_array_as_data_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    array = np.empty(3, dtype=object)
    array[:] = [Exploit(marker), 1, 2]
    path = tmp_path / "data.npy"
    np.save(path, array, allow_pickle=True)
    with pytest.raises(DataError):
        load_data(DataConfig(source=str(path)))
    assert not marker.exists()


def test_a_pickle_file_beside_a_run_is_never_read(tmp_path):
    save_model(VAE(VAEConfig(input_shape=(4,), latent_dim=2, likelihood="gaussian")), tmp_path)
    marker = tmp_path / "pwned"
    for name in ("model.pt", "model.bin", "pytorch_model.bin", "train_state.pt"):
        (tmp_path / name).write_bytes(malicious_bytes(marker))
    load_model(tmp_path)
    assert not marker.exists()


def test_library_source_never_unpickles():
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if re.search(r"^\s*import pickle|^\s*from pickle|allow_pickle=True", text, re.M):
            offenders.append(str(path))
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            if "weights_only=True" not in call:
                offenders.append(f"{path}: {call}")
    assert offenders == []
