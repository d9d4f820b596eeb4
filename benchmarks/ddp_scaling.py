"""Training on several CPU processes (torchrun, gloo, DistributedDataParallel) against one,
and what bf16, fp16 and torch.compile do to CPU throughput.

Every row trains the canonical MLP VAE (784-400-20, Bernoulli, batch 128 global) on the
first TRAIN_LIMIT images of dynamically binarized Fashion-MNIST with `fit()` for EPOCHS
epochs, in a fresh process (or two, started by torchrun), and reports training samples/s:
the median over the epochs after the first (warm-up; for --compile, the first epoch also
pays the compilation, reported as its own column). Rows run in turn, `--rounds` times
interleaved; a row's figure is the median over rounds.

Rows with "autograd" train without the fused MLP gradient (TrainConfig.fast_path=False),
which DDP, autocast and torch.compile cannot use: they are the fair yardstick for those.
The first row is what `vaekit train` does in one process by default (the fused gradient).

    python -m benchmarks.ddp_scaling                       # the page in docs/benchmarks/
    python -m benchmarks.ddp_scaling --rounds 1 --train-limit 2560 --out /tmp/d.md  # a look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "ddp_scaling.md"
TRAIN_LIMIT = 12_800
EPOCHS = 3
BATCH = 128
LAUNCH_FAILURES: list[str] = []  # stderr tails of failed launches, reported on the page
# name -> (processes, threads per process, precision, compile, fused gradient)
ROWS = {
    "1 process x 1 thread, fused gradient (vaekit train's default)": (1, 1, "fp32", False, True),
    "1 process x 1 thread, autograd": (1, 1, "fp32", False, False),
    "1 process x 2 threads, autograd": (1, 2, "fp32", False, False),
    "2 processes x 1 thread (DDP, gloo), autograd": (2, 1, "fp32", False, False),
    "1 process x 1 thread, bf16 autocast": (1, 1, "bf16", False, False),
    "1 process x 1 thread, fp16 autocast + GradScaler": (1, 1, "fp16", False, False),
    "1 process x 1 thread, torch.compile": (1, 1, "fp32", True, False),
}


def worker(args: argparse.Namespace) -> None:
    """One training run on this rank; rank 0 writes the per-epoch figures to args.result."""
    import torch

    from vaekit.data import DataConfig, load_data
    from vaekit.models import VAE, VAEConfig
    from vaekit.training import TrainConfig, fit
    from vaekit.training.distributed import end_process_group, start_process_group

    torch.set_num_threads(args.threads)
    world = start_process_group(torch.device("cpu"))
    try:
        data = load_data(DataConfig(source="fashion-mnist", binarize="dynamic",
                                    train_limit=args.train_limit, eval_limit=1000))  # fmt: skip
        torch.manual_seed(0)
        model = VAE(VAEConfig(input_shape=data.spec.shape, latent_dim=20, hidden_dims=(400,)))
        config = TrainConfig(epochs=args.epochs, batch_size=BATCH, precision=args.precision,
                             fast_path=args.fused, log_every=10_000)  # fmt: skip
        state = fit(model, data, config, world=world, compile=args.compile)
        if world.is_main:
            rows = [{k: row[k] for k in ("epoch_seconds", "train_samples_per_second",
                                         "train_loss")} for row in state.history]  # fmt: skip
            Path(args.result).write_text(json.dumps(rows))
    except BaseException:
        end_process_group(finished=False)
        raise
    end_process_group()


def run_row(spec: tuple, train_limit: int, epochs: int, folder: Path) -> list[dict]:
    processes, threads, precision, compiled, fused = spec
    result = folder / "result.json"
    result.unlink(missing_ok=True)
    flags = ["-m", "benchmarks.ddp_scaling", "--worker", "--threads", str(threads),
             "--precision", precision, "--train-limit", str(train_limit),
             "--epochs", str(epochs), "--result", str(result)]  # fmt: skip
    flags += ["--compile"] if compiled else []
    flags += ["--fused"] if fused else []
    if processes > 1:
        launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
                    str(processes)]  # fmt: skip
        command = [sys.executable, *launcher, *flags]
    else:
        command = [sys.executable, *flags]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    for attempt in range(2):  # a launch that fails is retried once, and counted on the page
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode == 0:
            return json.loads(result.read_text())
        LAUNCH_FAILURES.append(done.stderr[-3000:])
        print(f"launch failed (attempt {attempt + 1}):\n{done.stderr[-3000:]}", flush=True)
    raise RuntimeError(f"{' '.join(command)} failed twice")


def summarize(epochs_by_round: list[list[dict]]) -> dict:
    """Median samples/s over the epochs after the first, then over rounds; first-epoch
    overhead = first epoch's seconds minus a steady epoch's."""
    rates, overheads, losses = [], [], []
    for epochs in epochs_by_round:
        steady = [row["train_samples_per_second"] for row in epochs[1:]]
        rates.append(statistics.median(steady))
        steady_seconds = statistics.median(row["epoch_seconds"] for row in epochs[1:])
        overheads.append(epochs[0]["epoch_seconds"] - steady_seconds)
        losses.append(epochs[-1]["train_loss"])
    return {
        "samples_per_second": statistics.median(rates),
        "rounds": rates,
        "first_epoch_overhead_seconds": statistics.median(overheads),
        "last_epoch_train_loss": statistics.median(losses),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--train-limit", type=int, default=TRAIN_LIMIT)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", type=Path, default=OUT)
    # worker mode, started by main() itself
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    parser.add_argument("--compile", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fused", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    from benchmarks.machine_info import announce_run, write_results

    info = announce_run()
    started = time.perf_counter()
    runs: dict[str, list[list[dict]]] = {name: [] for name in ROWS}
    with tempfile.TemporaryDirectory() as tmp:
        for round_index in range(args.rounds):
            for name, spec in ROWS.items():
                runs[name].append(run_row(spec, args.train_limit, args.epochs, Path(tmp)))
                rate = runs[name][-1][-1]["train_samples_per_second"]
                print(f"round {round_index + 1} {name}: {rate:.0f} samples/s", flush=True)
    results = {name: summarize(rounds) for name, rounds in runs.items()}
    lines = page(results, args, time.perf_counter() - started)
    payload = {"rows": results, "launch_failures": LAUNCH_FAILURES,
               "train_limit": args.train_limit, "epochs": args.epochs,
               "batch_size": BATCH, "rounds": args.rounds}  # fmt: skip
    write_results(args.out, lines, info, payload)


def page(results: dict, args: argparse.Namespace, seconds: float) -> list[str]:
    baseline = results["1 process x 1 thread, autograd"]["samples_per_second"]
    lines = [
        "# Several processes, mixed precision and torch.compile on the CPU",
        "",
        f"The canonical MLP VAE on the first {args.train_limit:,} images of dynamically "
        f"binarized Fashion-MNIST, global batch {BATCH}, {args.epochs} epochs per run; "
        "samples/s is the median over the epochs after the first, then over "
        f"{args.rounds} interleaved rounds. No GPU was available: every row is on the CPU. "
        f"The whole benchmark took {seconds:.0f} s (`benchmarks/ddp_scaling.py`).",
        "",
        "| setup | samples/s | per round | vs 1 process x 1 thread, autograd "
        "| first-epoch extra s | last epoch's train loss |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['samples_per_second']:.0f} | "
            f"{' / '.join(f'{rate:.0f}' for rate in row['rounds'])} | "
            f"{row['samples_per_second'] / baseline:.2f}x | "
            f"{row['first_epoch_overhead_seconds']:.1f} | {row['last_epoch_train_loss']:.2f} |"
        )
    lines += [
        "",
        f"Failed launches retried during this run: {len(LAUNCH_FAILURES)}.",
        "",
        "Reading the table: the machine has 2 cores, so 2 processes x 1 thread can at best "
        "match 1 process x 2 threads; each DDP step adds an all-reduce of the gradients and "
        "a small one to agree on skipping and stopping. The first-epoch column is the cost "
        "of warm-up, and for torch.compile mostly of compiling.",
    ]
    return lines


if __name__ == "__main__":
    main()
