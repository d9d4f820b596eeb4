import subprocess
import sys
from pathlib import Path

import pytest

FMNIST = Path("/usr/share/datasets/fashion-mnist")


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `vaekit` as a user would: a separate process, its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "vaekit.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "digits"
    result = run_cli(
        "train", "--data", "digits", "--binarize", "dynamic", "--epochs", "6", "--latent-dim", "8",
        "--hidden-dims", "64", "--lr", "3e-3", "--batch-size", "64", "--out", str(run_dir),
        "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return run_dir
