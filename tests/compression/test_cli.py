import numpy as np
import pytest

from tests.cli.conftest import run_cli
from tests.compression.conftest import random_vae
from vaekit.models import save_model


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("compress-cli")
    save_model(random_vae("bernoulli", seed=0), root / "run")
    save_model(random_vae("bernoulli", seed=1), root / "other")
    np.save(root / "x.npy", np.random.default_rng(0).random((40, 28, 28)) < 0.3)
    result = run_cli(
        "compress", str(root / "run"), str(root / "x.npy"), "-o", str(root / "x.vkz"),
        "--threads", "2", "--batch-size", "16", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return root


def test_round_trip_through_the_command_line(workdir):
    out = workdir / "restored.npy"
    result = run_cli(
        "decompress", str(workdir / "run"), str(workdir / "x.vkz"), "-o", str(out),
        "--threads", "1", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    original = np.load(workdir / "x.npy")
    restored = np.load(out)
    assert restored.dtype == original.dtype and np.array_equal(restored, original)


def _broken(workdir, name, transform):
    data = transform((workdir / "x.vkz").read_bytes())
    (workdir / name).write_bytes(data)
    return workdir / name


@pytest.mark.parametrize(
    "name,transform,run_name",
    [
        ("flipped.vkz", lambda d: d[:60] + bytes([d[60] ^ 1]) + d[61:], "run"),
        ("x.vkz", lambda d: d, "other"),  # a different model
    ],
)
def test_bad_files_fail_cleanly_with_no_output(workdir, name, transform, run_name):
    path = _broken(workdir, name, transform) if name != "x.vkz" else workdir / name
    out = workdir / f"out-{name}-{run_name}.npy"
    result = run_cli("decompress", str(workdir / run_name), str(path), "-o", str(out), "--quiet")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vaekit: error: "), result.stderr
    assert not out.exists()


def test_values_the_model_cannot_code_fail_cleanly(workdir):
    np.save(workdir / "grey.npy", np.full((3, 28, 28), 0.5, dtype=np.float32))
    out = workdir / "grey.vkz"
    result = run_cli("compress", str(workdir / "run"), str(workdir / "grey.npy"), "-o", str(out))
    assert result.returncode == 2 and "0 and 1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_bench_codecs_prints_the_table_for_a_trained_run(tmp_path):
    run_dir = tmp_path / "digits"
    result = run_cli(
        "train", "--data", "digits", "--binarize", "dynamic", "--epochs", "3",
        "--latent-dim", "4", "--hidden-dims", "32", "--out", str(run_dir), "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = run_cli("bench-codecs", str(run_dir), "--split", "test", "--limit", "100")
    assert result.returncode == 0, result.stderr
    table = {
        line.split("|")[1].strip(): float(line.split("|")[2])
        for line in result.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| codec") and "not installed" not in line
    }
    assert {"vaekit bits-back (this model)", "gzip -9", "PNG sprite sheet"} <= set(table)
    assert all(bits > 0 for bits in table.values())
    # 100 tiny images: the ~1,100 bits of header and initial bits are 0.17 bits/dim here
    elbo = table["negative ELBO of the model (float32)"]
    assert elbo < table["vaekit bits-back (this model)"] < elbo + 0.25
