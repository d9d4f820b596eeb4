"""What trying every command as a demanding user turned up (issue 13, part 6): each case
ends in a sensible result or one line `vaekit: error: ...`, never a traceback or NaNs."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from tests.cli.conftest import assert_one_line_error, run_main
from tests.single_thread import one_thread  # noqa: F401
from vaekit import VAE, VAEConfig


def test_traverse_with_an_empty_dims_list_is_refused(digits_run, tmp_path, capsys):
    out = tmp_path / "t.png"
    code, _, err = run_main(capsys, "traverse", digits_run, "--dims", "--out", out)
    assert_one_line_error(code, err, "--dims")
    assert not out.exists()


def test_sample_from_a_model_saved_untrained(tmp_path, capsys):
    torch.manual_seed(0)
    VAE(VAEConfig(input_shape=(1, 8, 8), latent_dim=2, hidden_dims=(8,))).save_pretrained(
        str(tmp_path / "fresh")
    )
    code, out, err = run_main(capsys, "sample", tmp_path / "fresh", "-n", "4", "--out",
                              tmp_path / "s.png")  # fmt: skip
    assert code == 0, err
    assert Image.open(tmp_path / "s.png").size[0] > 8
    # a command that needs the training data says so in one line
    code, _, err = run_main(capsys, "reconstruct", tmp_path / "fresh", "--out", tmp_path / "r.png")
    assert_one_line_error(code, err, "no data config")


@pytest.mark.parametrize(
    "array,needles",
    [
        (np.array(1, dtype=np.uint8), ["shape ()"]),  # a 0-d array
        # 28x28 images hold a whole number of 8x8 examples (4 * 784 = 49 * 64), but they are
        # not 8x8 images: never recut them into tiles
        (np.zeros((4, 28, 28), dtype=np.uint8), ["(4, 28, 28)", "(1, 8, 8)"]),
    ],
)
def test_compress_refuses_arrays_that_are_not_the_models_examples(
    digits_run, tmp_path, capsys, array, needles
):
    np.save(tmp_path / "a.npy", array)
    code, _, err = run_main(capsys, "compress", digits_run, tmp_path / "a.npy", "-o",
                            tmp_path / "a.vkz")  # fmt: skip
    assert_one_line_error(code, err, *needles)
    assert not (tmp_path / "a.vkz").exists()


@pytest.mark.parametrize("delay", [0.2, 0.5, 1.0, 2.0])
def test_ctrl_c_while_starting_up_is_a_clean_interruption(tmp_path, delay):
    process = subprocess.Popen(
        [sys.executable, "-m", "vaekit", "train", "--epochs", "1", "--out", str(tmp_path / "r")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert process.returncode in (130, -signal.SIGINT), (process.returncode, err)


def test_a_closed_pipe_ends_the_command_quietly(digits_run):
    # `vaekit eval RUN | head -0`: the reader is gone before eval prints its report
    read_end, write_end = os.pipe()
    os.close(read_end)
    process = subprocess.Popen(
        [sys.executable, "-m", "vaekit", "eval", str(digits_run), "--limit", "20"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(write_end)
    _, err = process.communicate(timeout=120)
    assert err == "", err
    assert process.returncode == 141


@pytest.mark.parametrize("size", ["-5", "0"])
def test_encode_refuses_a_batch_size_below_one(digits_run, tmp_path, capsys, size):
    out = tmp_path / "z.npz"
    code, _, err = run_main(capsys, "encode", digits_run, "--batch-size", size, "--out", out)
    assert_one_line_error(code, err, "--batch-size")
    assert not out.exists()


@pytest.mark.parametrize(
    "command,flag",
    [("sample", "--temperature"), ("traverse", "--range")],
)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_scales_are_refused(digits_run, tmp_path, capsys, command, flag, value):
    out = tmp_path / "p.png"
    code, _, err = run_main(capsys, command, digits_run, flag, value, "--out", out)
    assert_one_line_error(code, err, flag)
    assert not out.exists()


def test_eval_of_an_autoencoder_refuses_importance_samples(tmp_path, capsys):
    run_dir = tmp_path / "ae"
    code, _, err = run_main(capsys, "train", "--model", "ae", "--epochs", "1", "--hidden-dims",
                            "16", "--latent-dim", "2", "--out", run_dir, "--quiet")  # fmt: skip
    assert code == 0, err
    code, _, err = run_main(capsys, "eval", run_dir, "--iw-samples", "10")
    assert_one_line_error(code, err, "--iw-samples", "likelihood bound")
    code, out, err = run_main(capsys, "eval", run_dir, "--json")
    assert code == 0, err
    assert json.loads(out)["iw_samples"] == 0


def test_errors_name_flags_not_internal_fields(tmp_path, capsys):
    code, _, err = run_main(capsys, "train", "--objective", "iwae", "--free-bits", "0.5",
                            "--epochs", "1", "--out", tmp_path / "r")  # fmt: skip
    line = assert_one_line_error(code, err, "--free-bits")
    assert "free_bits" not in line


def optional_codecs_installed() -> bool:
    try:
        import pillow_jxl  # noqa: F401
        import zstandard  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(optional_codecs_installed(), reason="zstandard and pillow-jxl installed")
def test_bench_codecs_says_which_codecs_are_not_installed(digits_run, capsys):
    code, out, err = run_main(capsys, "bench-codecs", digits_run, "--limit", "20")
    assert code == 0, err
    rows = [line for line in out.splitlines() if "not installed" in line]
    assert rows, out
    assert all("pip install vaekit[bench]" in row for row in rows)
    assert any(row.startswith("| zstd") for row in rows) or any("JXL" in row for row in rows)
