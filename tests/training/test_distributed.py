"""Training on two CPU processes (torchrun, gloo): the same run as one process with the same
global batch, a kill -9 of the whole run and a resume under torchrun, errors said once, and
the pieces that shard the data. Mixed precision (bf16) on the CPU."""

import csv
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from vaekit.cli.runtime import mps_available, resolve_device
from vaekit.data import Split, iterate_batches, num_batches
from vaekit.errors import ConfigError
from vaekit.evaluation import BatchNoise, elbo_scores, log_likelihood_scores
from vaekit.training import TrainConfig, fit
from vaekit.training.distributed import World

# a deterministic model (the autoencoder samples nothing), so one process and two must agree
# up to the order of float sums; 1259 training rows in global batches of 32: 39 full batches
# and a last one of 11 rows, split 6/5 over two ranks
TRAIN = [
    "train", "--data", "digits", "--model", "ae", "--latent-dim", "4", "--hidden-dims", "32",
    "--epochs", "6", "--batch-size", "32", "--checkpoint-every", "20", "--threads", "1",
    "--seed", "3", "--quiet",
]  # fmt: skip
STEPS_PER_EPOCH = 40


def torchrun(*args):
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc-per-node", "2", "-m", "vaekit", *args]  # fmt: skip


def metrics(run_dir):
    with open(run_dir / "metrics.csv") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("one") / "run"
    command = [sys.executable, "-m", "vaekit", *TRAIN, "--out", str(run_dir)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return run_dir


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("two") / "run"
    done = subprocess.run(
        torchrun(*TRAIN, "--out", str(run_dir)), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return run_dir, done


def test_two_processes_train_as_one_with_the_same_global_batch(one_process, two_processes):
    run_dir, done = two_processes
    one, two = metrics(one_process), metrics(run_dir)
    assert [row["step"] for row in two] == [str(STEPS_PER_EPOCH * (e + 1)) for e in range(6)]
    assert [row["step"] for row in one] == [row["step"] for row in two]
    for row_one, row_two in zip(one, two):  # epoch-mean training loss, nats per example
        assert math.isclose(
            float(row_one["train_loss"]), float(row_two["train_loss"]), rel_tol=1e-4
        )
    weights_one, weights_two = (
        load_file(str(d / "model.safetensors")) for d in (one_process, run_dir)
    )
    assert weights_one.keys() == weights_two.keys()
    for name in weights_one:
        torch.testing.assert_close(weights_two[name], weights_one[name], rtol=1e-3, atol=1e-4)
    # rank 0 alone writes and talks: one line per epoch and one summary
    assert done.stderr.count("epoch 6: train loss") == 1
    assert done.stdout.count("run written to") == 1


def test_kill_the_whole_run_then_resume_under_torchrun(tmp_path, two_processes):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        torchrun(*TRAIN, "--out", str(run_dir)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # torchrun and both ranks in one group, killed together
    )
    latest = run_dir / "checkpoints" / "latest" / "train_state.json"
    deadline = time.monotonic() + 120
    while not latest.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert len(metrics(run_dir) if (run_dir / "metrics.csv").exists() else []) < 6
    done = subprocess.run(
        torchrun(*TRAIN, "--out", str(run_dir), "--resume"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = metrics(run_dir)
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3, 4, 5, 6]
    assert int(rows[-1]["step"]) == 6 * STEPS_PER_EPOCH
    reference = load_file(str(two_processes[0] / "model.safetensors"))
    resumed = load_file(str(run_dir / "model.safetensors"))
    for name in reference:  # the same steps on the same batches as the uninterrupted run
        torch.testing.assert_close(resumed[name], reference[name], rtol=1e-5, atol=1e-6)


def test_a_global_batch_the_ranks_cannot_share_is_one_error_line(tmp_path):
    done = subprocess.run(
        torchrun("train", "--data", "digits", "--batch-size", "33", "--out", str(tmp_path / "r")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("vaekit: error:")]
    assert len(errors) == 1, done.stderr
    assert "--batch-size 33" in errors[0] and "divisible by the 2 processes" in errors[0]
    # torchrun itself reports the failed ranks with a traceback of its own launcher; none
    # comes from vaekit; a rank exited with the usage-error code, none with success (the
    # other rank exits 2 as well unless torchrun has already stopped it)
    assert "/vaekit/" not in done.stderr
    assert "exitcode  : 2" in done.stderr and "exitcode  : 0" not in done.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("num_rows, batch_size", [(10, 4), (11, 4), (9, 4), (8, 4), (13, 3)])
def test_ranks_share_each_global_batch_of_one_order(num_rows, batch_size):
    split = Split(x=torch.arange(num_rows).float().unsqueeze(1), y=None)
    order = torch.randperm(num_rows, generator=torch.Generator().manual_seed(7))
    expected = [order[s : s + batch_size] for s in range(0, num_rows, batch_size)]
    expected = [batch for batch in expected if len(batch) >= 2]  # 1 row cannot go to 2 ranks
    shards = [
        list(iterate_batches(split, batch_size, shuffle=True, rank=rank, num_ranks=2,
                             generator=torch.Generator().manual_seed(7)))
        for rank in range(2)
    ]  # fmt: skip
    assert len(shards[0]) == len(shards[1]) == len(expected)
    assert num_batches(num_rows, batch_size, num_ranks=2) == len(expected)
    for batch, part0, part1 in zip(expected, *shards):
        together = torch.cat([part0.x, part1.x]).squeeze(1).long()
        assert torch.equal(together, batch)
        assert abs(len(part0.x) - len(part1.x)) <= 1


@pytest.mark.parametrize("multiple", [1, 2, 5])
def test_world_shard_covers_every_row_once_in_whole_groups(multiple):
    for rows in (0, 1, 7, 8, 23):
        blocks = [World(rank=r, size=3).shard(rows, multiple) for r in range(3)]
        covered = [i for block in blocks for i in range(rows)[block]]
        assert covered == list(range(rows))
        assert all(block.start % multiple == 0 or block.start == rows for block in blocks)
        sizes = [len(range(rows)[block]) for block in blocks]
        assert max(sizes) - min(sizes) <= 2 * multiple - 1  # a group, and a short last one


def test_scores_in_blocks_with_batch_noise_are_one_process_scores(digits, small_vae):
    """The draws behind validation and `vaekit eval` under several ranks: blocks that start
    on a batch boundary, scored with BatchNoise, give exactly the scores of the whole split."""
    model, x = small_vae(seed=0), digits.val.x[:170]
    whole = elbo_scores(model, x, batch_size=20, generator=BatchNoise(5))
    blocks = [World(rank=r, size=2).shard(len(x), 20) for r in range(2)]
    parts = [
        elbo_scores(model, x[rows], batch_size=20, generator=BatchNoise(5, first_row=rows.start))
        for rows in blocks
    ]
    for got, want in zip((torch.cat(p) for p in zip(*parts)), whole):
        assert torch.equal(got, want)
    again = elbo_scores(model, x, batch_size=20, generator=BatchNoise(5))
    other = elbo_scores(model, x, batch_size=20, generator=BatchNoise(6))
    assert torch.equal(again[0], whole[0]) and not torch.equal(other[0], whole[0])  # log p(x|z)
    iw = log_likelihood_scores(model, x[:40], 8, batch_size=10, generator=BatchNoise(5))
    tail = log_likelihood_scores(
        model, x[20:40], 8, batch_size=10, generator=BatchNoise(5, first_row=20)
    )
    assert torch.equal(iw[20:], tail)


def test_eval_under_torchrun_reports_the_one_process_figures(tmp_path):
    run_dir = tmp_path / "vae"
    train = [sys.executable, "-m", "vaekit", "train", "--data", "digits", "--latent-dim", "4",
             "--hidden-dims", "32", "--epochs", "1", "--threads", "1", "--quiet",
             "--out", str(run_dir)]  # fmt: skip
    subprocess.run(train, check=True, capture_output=True, timeout=300)
    # 1259 rows in blocks of whole 500-row ELBO batches: 1000 rows on rank 0, 259 on rank 1
    flags = ["eval", str(run_dir), "--split", "train", "--iw-samples", "16", "--batch-size",
             "25", "--json", "--quiet", "--threads", "1"]  # fmt: skip
    one = subprocess.run([sys.executable, "-m", "vaekit", *flags], capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    two = subprocess.run(torchrun(*flags), capture_output=True, text=True, timeout=300)
    assert one.returncode == 0 and two.returncode == 0, (one.stderr, two.stderr)
    report_one, report_two = json.loads(one.stdout), json.loads(two.stdout)
    assert report_two["num_examples"] == report_one["num_examples"] == 1259
    for key in ("elbo_nats", "nll_nats", "reconstruction_nats", "kl_nats"):
        assert report_two[key] == report_one[key], key  # the same draws, the same order


def test_bf16_on_the_cpu_trains_close_to_fp32(digits, small_vae):
    small = dataclasses.replace(digits, train=Split(digits.train.x[:256], digits.train.y[:256]))
    losses = {}
    for precision in ("fp32", "bf16"):
        config = TrainConfig(epochs=2, batch_size=64, seed=1, precision=precision)
        state = fit(small_vae(seed=0), small, config)
        losses[precision] = [row["train_loss"] for row in state.history]
        assert all(math.isfinite(value) for value in losses[precision])
        assert math.isfinite(state.history[-1]["val_elbo_nats"])
    for full, half in zip(losses["fp32"], losses["bf16"]):
        assert abs(half - full) < 0.02 * abs(full), losses


def test_unknown_precision_and_absent_devices_are_refused():
    with pytest.raises(ConfigError, match="fp8"):
        TrainConfig(precision="fp8")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    absent = [name for name, present in (("cuda", torch.cuda.is_available()),
                                         ("mps", mps_available())) if not present]  # fmt: skip
    for name in [*absent, "tpu"]:
        with pytest.raises(ConfigError):
            resolve_device(name)
