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


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """Run `vaekit` in this process (fast: no interpreter start, torch already imported);
    returns the exit code, stdout and stderr."""
    from vaekit.cli.main import main

    capsys.readouterr()  # drop what earlier steps of the test printed
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> str:
    """Exit 2 and exactly one stderr line, `vaekit: error: ...`, holding every needle."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, (code, err)
    assert lines[0].startswith("vaekit: error: ") and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]
