"""Memory-mapped float images and tables: the same values, statistics and errors as the
in-memory path, read a block of rows at a time."""

import sys

import numpy as np
import pytest
import torch

from vaekit.cli.runtime import pick_split
from vaekit.data import DataConfig, MappedExamples, load_data
from vaekit.data import mapped as mapped_module
from vaekit.errors import DataError
from vaekit.evaluation import evaluate
from vaekit.models import VAE, VAEConfig
from vaekit.training import TrainConfig, fit

NUM_ROWS = 2000


def _table(rng: np.random.Generator) -> np.ndarray:
    """(NUM_ROWS, 6) float64: Gaussian, counts (integers), a 0/1 flag, a constant, a column
    with a large offset, a uniform one."""
    return np.stack(
        [
            rng.normal(3.0, 2.0, NUM_ROWS),
            rng.poisson(4.0, NUM_ROWS).astype(np.float64),
            rng.integers(0, 2, NUM_ROWS).astype(np.float64),
            np.full(NUM_ROWS, 7.5),
            1e6 + rng.normal(0.0, 1.0, NUM_ROWS),
            rng.random(NUM_ROWS),
        ],
        axis=1,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mapped_tables")
    rng = np.random.default_rng(1)
    table = _table(rng)
    np.save(folder / "table.npy", table)
    np.save(folder / "table32.npy", np.ascontiguousarray(table[:, [0, 5]], np.float32))
    np.save(folder / "counts.npy", rng.poisson(3.0, (NUM_ROWS, 5)).astype(np.int32))
    np.savez(folder / "labelled.npz", x=table, y=rng.integers(0, 3, NUM_ROWS))
    grey = rng.random((NUM_ROWS, 1, 12, 12)).astype(np.float32)
    np.save(folder / "grey.npy", grey)
    np.save(folder / "grey_nhw.npy", grey[:, 0].astype(np.float64))
    np.save(folder / "grey_flat.npy", grey.reshape(NUM_ROWS, -1))
    return folder


def _both(path, **options):
    mapped = load_data(DataConfig(source=str(path), memory_map=True, **options))
    loaded = load_data(DataConfig(source=str(path), memory_map=False, **options))
    return mapped, loaded


def _assert_same_splits(mapped, loaded):
    assert mapped.spec == loaded.spec
    for name in ("train", "val", "test"):
        got, want = getattr(mapped, name), getattr(loaded, name)
        assert isinstance(got.x, MappedExamples) and isinstance(want.x, torch.Tensor)
        assert torch.equal(got.x.to_tensor(), want.x), name
        order = torch.randperm(len(want), generator=torch.Generator().manual_seed(5))[:50]
        assert torch.equal(got.x[order], want.x[order]), name  # shuffled reads, noise included
        assert (got.y is None) == (want.y is None)
        assert got.y is None or torch.equal(got.y, want.y)


@pytest.mark.parametrize("block_bytes", [16 << 20, 4096])  # one block, and many
@pytest.mark.parametrize("name", ["table.npy", "table32.npy", "counts.npy", "labelled.npz"])
def test_mapped_tables_equal_in_memory_tables(files, name, block_bytes, monkeypatch):
    monkeypatch.setattr(mapped_module, "BLOCK_BYTES", block_bytes)
    mapped, loaded = _both(files / name, train_limit=1000, eval_limit=300)
    _assert_same_splits(mapped, loaded)
    assert mapped.spec.kind == "table" and mapped.spec.feature_std is not None


def test_table_statistics_and_noise_are_those_of_the_file(files):
    mapped, _ = _both(files / "table.npy")
    spec, table = mapped.spec, np.load(files / "table.npy")
    assert spec.dequantized_columns == (1, 2)  # counts and flag; 7.5 is no integer
    train_rows = mapped.train.x.rows
    np.testing.assert_allclose(spec.feature_mean, table[train_rows].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(spec.feature_std[0], table[train_rows, 0].std(), rtol=1e-12)
    # val: integers plus noise in [-1/2, 1/2), standardized; the other columns as stored
    raw = mapped.val.x.to_tensor().double().numpy() * spec.feature_std + spec.feature_mean
    stored = table[mapped.val.x.rows]
    offsets = raw[:, [1, 2]] - stored[:, [1, 2]]
    assert offsets.min() >= -0.5 - 1e-6 and offsets.max() < 0.5 + 1e-6 and offsets.std() > 0.2
    np.testing.assert_allclose(raw[:, [0, 3, 5]], stored[:, [0, 3, 5]], atol=1e-5)


@pytest.mark.parametrize("name", ["grey.npy", "grey_nhw.npy"])
@pytest.mark.parametrize("binarize", ["none", "static", "dynamic"])
def test_mapped_float_images_equal_in_memory_images(files, name, binarize):
    mapped, loaded = _both(files / name, binarize=binarize, train_limit=900, eval_limit=200)
    _assert_same_splits(mapped, loaded)
    assert mapped.spec.kind == "image" and mapped.spec.shape == (1, 12, 12)


def test_flat_float_images_map_with_an_input_shape(files):
    mapped, loaded = _both(files / "grey_flat.npy", input_shape=(1, 12, 12), eval_limit=100)
    _assert_same_splits(mapped, loaded)
    table, _ = _both(files / "grey_flat.npy", eval_limit=100)  # no shape given: a table
    assert table.spec.kind == "table" and isinstance(table.train.x, MappedExamples)


def _bad_files(folder):
    rng = np.random.default_rng(2)
    table = _table(rng)
    table[1234, 4] = np.nan
    np.save(folder / "nan.npy", table)
    huge = _table(rng)
    huge[:, 0] = 1e300 * rng.normal(size=NUM_ROWS)
    np.save(folder / "huge.npy", huge)
    bright = rng.random((50, 1, 8, 8)) * 1.5
    np.save(folder / "bright.npy", bright)
    return ("nan.npy", "huge.npy", "bright.npy")


def test_bad_values_give_the_in_memory_errors(tmp_path):
    for name in _bad_files(tmp_path):
        messages = []
        for memory_map in (True, False):
            with pytest.raises(DataError) as caught:
                load_data(DataConfig(source=str(tmp_path / name), memory_map=memory_map))
            messages.append(str(caught.value))
        assert messages[0] == messages[1], messages


def test_training_and_evaluation_on_a_mapped_table_match(files):
    results = []
    for memory_map in (True, False):
        data = load_data(DataConfig(source=str(files / "table.npy"), memory_map=memory_map))
        torch.manual_seed(0)
        model = VAE(VAEConfig(input_shape=(6,), latent_dim=2, hidden_dims=(16,),
                              likelihood="gaussian"))  # fmt: skip
        state = fit(model, data, TrainConfig(epochs=2, batch_size=128, seed=0))
        report = evaluate(model, data.test.x, generator=torch.Generator().manual_seed(0))
        results.append((state.history[-1]["val_elbo_nats"], report.elbo_nats))
    assert results[0] == results[1]


def test_the_train_split_as_scored_stays_mapped_and_repeats(files):
    data = load_data(DataConfig(source=str(files / "table.npy"), memory_map=True))
    first, second = pick_split(data, "train"), pick_split(data, "train")
    assert isinstance(first.x, MappedExamples)
    assert torch.equal(first.x.to_tensor(), second.x.to_tensor())
    # the integer columns moved by less than half a step, the others not at all
    moved = (first.x.to_tensor() - data.train.x.to_tensor()).double()
    widths = 1.0 / torch.tensor(data.spec.feature_std)
    assert bool((moved.abs() <= 0.5 * widths + 1e-6).all())
    assert moved[:, [0, 4, 5]].abs().max() == 0 and moved[:, 1].abs().max() > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_statistics_passes_hand_pages_back(files, monkeypatch):
    from tests.data.test_memory_map import _resident_bytes

    monkeypatch.setattr(mapped_module, "RELEASE_BYTES", 16 << 10)
    monkeypatch.setattr(mapped_module, "BLOCK_BYTES", 8 << 10)
    path = (files / "table.npy").resolve()
    load_data(DataConfig(source=str(path), memory_map=True))
    assert _resident_bytes(path) < path.stat().st_size / 4


@pytest.mark.parametrize("memory_map", [True, False])
def test_uint8_images_of_only_0_and_1_get_a_warning(tmp_path, caplog, memory_map):
    rng = np.random.default_rng(3)
    np.save(tmp_path / "bits.npy", rng.integers(0, 2, (300, 1, 8, 8), dtype=np.uint8))
    np.save(tmp_path / "grey.npy", rng.integers(0, 256, (300, 1, 8, 8), dtype=np.uint8))
    with caplog.at_level("WARNING", logger="vaekit.data.convert"):
        load_data(DataConfig(source=str(tmp_path / "grey.npy"), memory_map=memory_map))
        assert "hold only 0 and 1" not in caplog.text
        data = load_data(DataConfig(source=str(tmp_path / "bits.npy"), memory_map=memory_map))
    assert "first 300 rows hold only 0 and 1" in caplog.text and "save them as bool" in caplog.text
    assert float(data.train.x[:50].max()) == pytest.approx(1 / 255)  # read as grey, as warned
