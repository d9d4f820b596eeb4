"""Memory-mapped image files: splits stay views of the file, values match the in-memory path."""

import mmap
import sys

import numpy as np
import pytest
import torch

from vaekit.data import DataConfig, MappedExamples, iterate_batches, load_data
from vaekit.data import mapped as mapped_module
from vaekit.evaluation import evaluate
from vaekit.models import VAE, VAEConfig
from vaekit.training import TrainConfig, fit

NUM, SHAPE = 3000, (1, 28, 28)  # 2.4 MB of uint8 pixels


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mapped")
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (NUM, *SHAPE), dtype=np.uint8)
    labels = rng.integers(0, 10, NUM)
    np.save(folder / "pixels.npy", pixels)
    np.savez(folder / "stored.npz", x=pixels, y=labels)
    np.savez_compressed(folder / "compressed.npz", x=pixels, y=labels)
    np.save(folder / "nhwc.npy", pixels.transpose(0, 2, 3, 1).copy())
    return folder


def _load(path, memory_map, **options):
    return load_data(DataConfig(source=str(path), memory_map=memory_map, **options))


def _backed_by_file(x) -> bool:
    """x is a MappedExamples whose pixels are a view of its file's memory map, not a copy."""
    if not isinstance(x, MappedExamples) or x.file is None:
        return False
    base = x.stored
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    if isinstance(base, memoryview):  # np.frombuffer's view of the map
        base = base.obj
    return isinstance(base, mmap.mmap) and base is x.file.mapping


@pytest.mark.parametrize("binarize", ["none", "static", "dynamic"])
@pytest.mark.parametrize("name", ["pixels.npy", "stored.npz", "nhwc.npy"])
def test_mapped_splits_equal_in_memory_splits(files, name, binarize):
    options = {"binarize": binarize, "train_limit": 1500, "eval_limit": 250}
    mapped, loaded = _load(files / name, True, **options), _load(files / name, False, **options)
    assert mapped.spec == loaded.spec
    for split in ("train", "val", "test"):
        got, want = getattr(mapped, split), getattr(loaded, split)
        assert isinstance(got.x, MappedExamples) and isinstance(want.x, torch.Tensor)
        assert got.x.shape == want.x.shape
        assert torch.equal(got.x.to_tensor(), want.x)
        order = torch.randperm(len(want), generator=torch.Generator().manual_seed(3))[:64]
        assert torch.equal(got.x[order], want.x[order])  # shuffled reads, noise included
        assert torch.equal(got.x[-1], want.x[-1]) and torch.equal(got.x[7:93], want.x[7:93])
        assert (got.y is None) == (want.y is None)
        assert got.y is None or torch.equal(got.y, want.y)
    # val and test are binarized as they are read; a static train split is kept as packed bits
    assert _backed_by_file(mapped.val.x) and _backed_by_file(mapped.test.x)
    assert _backed_by_file(mapped.train.x) == (binarize != "static")


def test_training_and_evaluation_match_in_memory_data(files):
    options = {"binarize": "dynamic", "train_limit": 1024, "eval_limit": 200}
    results = []
    for memory_map in (True, False):
        data = _load(files / "pixels.npy", memory_map, **options)
        torch.manual_seed(0)
        model = VAE(VAEConfig(input_shape=SHAPE, latent_dim=4, hidden_dims=(32,)))
        state = fit(model, data, TrainConfig(epochs=1, batch_size=256, seed=0))
        report = evaluate(model, data.test.x, generator=torch.Generator().manual_seed(0))
        results.append((state.history[-1]["val_elbo_nats"], report.elbo_nats, model))
    (val_a, test_a, model_a), (val_b, test_b, model_b) = results
    assert val_a == val_b and test_a == test_b
    for a, b in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(a, b)


def test_batches_of_a_mapped_split_are_views_of_the_file(files):
    data = _load(files / "stored.npz", True)
    assert _backed_by_file(data.train.x) and _backed_by_file(data.test.x)
    seen = torch.cat([b.y for b in iterate_batches(data.train, 500, shuffle=True)])
    assert torch.equal(seen.sort().values, data.train.y.sort().values)


def test_compressed_npz_and_small_files_are_read_into_memory(files, monkeypatch):
    assert isinstance(_load(files / "compressed.npz", True).train.x, torch.Tensor)
    assert isinstance(_load(files / "pixels.npy", None).train.x, torch.Tensor)  # under 64 MiB
    monkeypatch.setattr("vaekit.data.npmap.MEMORY_MAP_MIN_BYTES", 1 << 20)
    assert isinstance(_load(files / "pixels.npy", None).train.x, MappedExamples)


def test_labelled_repeats_stay_mapped(files):
    options = {"labels_per_class": 5, "labelled_repeats": 3}
    mapped, loaded = (
        _load(files / "stored.npz", True, **options),
        _load(files / "stored.npz", False, **options),
    )
    assert isinstance(mapped.train.x, MappedExamples) and len(mapped.train) == len(loaded.train)
    assert torch.equal(mapped.train.x.to_tensor(), loaded.train.x)


def _resident_bytes(path) -> int:
    """Resident bytes of this process's mappings of `path` (from /proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5:
                inside = fields[-1] == str(path)
            elif inside and fields[0] == "Rss:":
                total += int(fields[1]) * 1024
    return total


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_pages_read_are_handed_back(files, monkeypatch):
    monkeypatch.setattr(mapped_module, "RELEASE_BYTES", 256 << 10)
    path = (files / "pixels.npy").resolve()
    split = _load(path, True).train
    for batch in iterate_batches(split, 100, shuffle=True):
        assert batch.x.dtype == torch.float32
    file_bytes = path.stat().st_size
    assert _resident_bytes(path) < file_bytes / 4, (_resident_bytes(path), file_bytes)


def test_a_mapped_split_pickles_as_its_place_in_the_file(files):
    import pickle

    data = _load(files / "nhwc.npy", True, binarize="static")  # a transposed view of the map
    for split in (data.train, data.test):
        payload = pickle.dumps(split.x)
        assert len(payload) < 100_000 or split.x.file is None  # packed bits travel as bits
        restored = pickle.loads(payload)
        assert torch.equal(restored.to_tensor(), split.x.to_tensor())
    assert _backed_by_file(pickle.loads(pickle.dumps(data.test.x)))
    with pytest.raises(TypeError, match="float32"):
        data.test.x.to(dtype=torch.float16)
    assert data.test.x.to("cpu", torch.float32).device == torch.device("cpu")
