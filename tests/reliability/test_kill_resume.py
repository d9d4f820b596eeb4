"""Crash safety: SIGKILL at random points, then --resume, ends with the same weights as an
uninterrupted run (bitwise on CPU, same seed and thread count). SIGTERM/SIGINT save and exit."""

import json
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

TRAIN = [
    "train", "--data", "digits", "--binarize", "dynamic", "--epochs", "20", "--batch-size", "32",
    "--latent-dim", "4", "--hidden-dims", "32", "--checkpoint-every", "7", "--threads", "1",
    "--seed", "5", "--quiet",
]  # fmt: skip


def vaekit(*args):
    return [sys.executable, "-m", "vaekit.cli.main", *args]


def resume(run_dir):
    args = vaekit(*TRAIN, "--out", str(run_dir), "--resume")
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


def final_weights(run_dir):
    return load_file(str(run_dir / "model.safetensors"))


def latest_step(run_dir):
    """Step of the newest complete checkpoint, or None (also while it is being swapped in)."""
    try:
        return json.loads((run_dir / "checkpoints" / "latest" / "train_state.json").read_text())[
            "step"
        ]
    except (OSError, ValueError, KeyError):
        return None


def wait_for_checkpoint(run_dir, process, timeout=120):
    """Wait until this process has written a checkpoint of its own, so the kill that follows
    lands in training (between or during checkpoint writes), not in Python's start-up."""
    before = latest_step(run_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        step = latest_step(run_dir)
        if step is not None and step != before:
            return True
        time.sleep(0.01)
    return False


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    subprocess.run(
        vaekit(*TRAIN, "--out", str(run_dir)), check=True, capture_output=True, timeout=600
    )
    return final_weights(run_dir)


def test_sigkill_at_five_random_points_then_resume_matches_uninterrupted(tmp_path, reference):
    run_dir = tmp_path / "run"
    rng = random.Random(1234)
    kills, resumed = 0, False
    while kills < 5:
        args = [*TRAIN, "--out", str(run_dir)] + (["--resume"] if resumed else [])
        process = subprocess.Popen(vaekit(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not wait_for_checkpoint(run_dir, process):
            process.wait()
            pytest.fail(f"run ended before a checkpoint: {process.stderr.read().decode()[-500:]}")
        time.sleep(rng.uniform(0.0, 0.3))
        if process.poll() is not None:
            break  # finished before this kill point; no more kills possible
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        resumed = True
    assert kills >= 5, f"only {kills} kills landed; make the run longer"
    finish = resume(run_dir)
    assert finish.returncode == 0, finish.stderr
    weights = final_weights(run_dir)
    assert weights.keys() == reference.keys()
    for name in weights:
        assert torch.equal(weights[name], reference[name]), name


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_saves_a_checkpoint_and_exits_cleanly(tmp_path, sig):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        vaekit(*TRAIN, "--out", str(run_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert wait_for_checkpoint(run_dir, process)
    time.sleep(0.3)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + int(sig), stderr
    assert "checkpoint saved" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr
    finish = resume(run_dir)
    assert finish.returncode == 0, finish.stderr
