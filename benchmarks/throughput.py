"""Training throughput: vaekit's trainer against the textbook loop and the GEMM ceiling.

Each (system, batch size) runs in its own process, so its peak RSS is its own. Throughput is
training samples per second over whole epochs after the first, median of the rest. On a
shared machine one run of a row can be slowed by a neighbour: --rounds R runs the whole
ladder R times, interleaved, and reports each row's median round and the median of the
per-round ratios to the textbook loop.

    python -m benchmarks.throughput                      # canonical MLP VAE, batch 128 and 1024
    python -m benchmarks.throughput --batch-sizes 128 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from pathlib import Path

import torch

from benchmarks.gemm_ceiling import gemm_flops, linear_gemm_shapes, square_gemm_gflops, time_gemms
from benchmarks.machine_info import announce_run, write_results
from benchmarks.textbook_vae import train_textbook
from vaekit import DataConfig, TrainConfig, fit, load_data
from vaekit.models import MODELS

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "speed.md"
# the textbook loop, then the easy fixes (textbook_vae.train_textbook) added one at a time,
# then vaekit's trainer without and with its fused MLP gradient: each row prices one technique
LADDER = {
    "textbook loop": {},
    "+ batches by index": {"index_batches": True},
    "+ rand < x binarization": {"index_batches": True, "threshold_binarize": True},
    "+ fused Adam": {"index_batches": True, "threshold_binarize": True, "fused_adam": True},
}
# TrainConfig's fields for each vaekit row; the Python API trains in fp32 unless asked
VAEKIT = {
    "vaekit fit(), autograd": {"fast_path": False},
    "vaekit fit()": {},
    "vaekit fit(), bf16": {"precision": "bf16"},
}
SYSTEMS = (*LADDER, *VAEKIT)


def build_model(args) -> torch.nn.Module:
    cls = MODELS[args.model]
    config = cls.config_class(input_shape=(1, 28, 28), latent_dim=20, arch=args.arch,
                              hidden_dims=tuple(args.hidden_dims))  # fmt: skip
    torch.manual_seed(0)
    return cls(config)


def worker(args) -> dict:
    """Train one system at one batch size; print one JSON line."""
    torch.set_num_threads(args.threads)
    data = load_data(DataConfig(source="fashion-mnist", binarize="dynamic", memory_map=False))
    if args.worker in LADDER:
        _, history = train_textbook(data.train.x.flatten(1), args.epochs, 0, args.batch_size,
                                    **LADDER[args.worker])  # fmt: skip
        rates = [len(data.train) / row["seconds"] for row in history]
    else:
        model = build_model(args)
        config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                             **VAEKIT[args.worker])  # fmt: skip
        state = fit(model, data, config)
        rates = [row["train_samples_per_second"] for row in state.history]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"samples_per_second": statistics.median(rates[1:]), "epoch_rates": rates,
            "peak_rss_mib": peak_kib / 1024}  # fmt: skip


def ceiling(args, batch_size: int) -> dict:
    torch.set_num_threads(args.threads)
    model = build_model(args)
    shapes = linear_gemm_shapes(model, torch.zeros(batch_size, 1, 28, 28))
    seconds = time_gemms(shapes)
    return {"samples_per_second": batch_size / seconds, "flops_per_sample": gemm_flops(shapes)
            / batch_size, "gemm_gflops": gemm_flops(shapes) / seconds / 1e9}  # fmt: skip


def run_worker(args, system: str, batch_size: int) -> dict:
    command = [sys.executable, "-m", "benchmarks.throughput", "--worker", system,
               "--batch-size", str(batch_size), "--epochs", str(args.epochs), "--threads",
               str(args.threads), "--model", args.model, "--arch", args.arch,
               "--hidden-dims", *map(str, args.hidden_dims)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_round(rounds: list[dict], system: str) -> dict:
    """The system's round with the median samples/s, plus every round's rate and the median
    of its per-round ratios to the textbook loop (run next to it, under the same load)."""
    runs = sorted((r[system] for r in rounds), key=lambda run: run["samples_per_second"])
    ratios = [r[system]["samples_per_second"] / r["textbook loop"]["samples_per_second"]
              for r in rounds]  # fmt: skip
    return runs[len(runs) // 2] | {
        "round_rates": [r[system]["samples_per_second"] for r in rounds],
        "ratio_to_textbook": statistics.median(ratios),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--epochs", type=int, default=4, help="the first is warm-up")
    parser.add_argument("--rounds", type=int, default=3, help="times the ladder is run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default="vae", choices=tuple(MODELS))
    parser.add_argument("--arch", default="mlp")
    parser.add_argument("--hidden-dims", type=int, nargs="+", default=[400])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=128, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    torch.set_num_threads(args.threads)
    info = announce_run()
    rows = []
    for batch_size in args.batch_sizes:
        limits = []
        canonical = args.model == "vae" and args.arch == "mlp"
        systems = SYSTEMS if canonical else ("textbook loop", "vaekit fit()")
        rounds = []
        for index in range(args.rounds):
            limits.append(ceiling(args, batch_size))
            rounds.append({system: run_worker(args, system, batch_size) for system in systems})
            print(f"round {index + 1}:", json.dumps(rounds[-1]), flush=True)
        results = {system: median_round(rounds, system) for system in systems}
        # a neighbour can only slow the GEMMs down: the fastest round is the ceiling
        limit = max(limits, key=lambda entry: entry["samples_per_second"])
        rows.append({"batch_size": batch_size, "ceiling": limit, **results})
        print(json.dumps(rows[-1]), flush=True)
    write_report(args, info, rows, square_gemm_gflops())


def write_report(args, info, rows, square_gflops) -> None:
    lines = [
        "# Training throughput",
        "",
        f"Model: `{args.model}` ({args.arch}, hidden {args.hidden_dims}, 20 latents) on "
        f"binarized Fashion-MNIST (55,000 training images, dynamic binarization), Adam 1e-3, "
        f"{args.threads} threads, fp32 unless the row says bf16. Samples/s: median over "
        f"epochs 2..{args.epochs}"
        f"{'' if args.epochs >= 4 else ' (fewer than the 3 measured epochs of the protocol)'}, "
        f"median of {args.rounds} interleaved rounds; the ratio is the median of the "
        "per-round ratios (each round runs every row once, one after another). "
        "Ceiling: the model's own GEMMs alone (forward, weight and input gradients), timed "
        "in the same run at the start of each round, fastest round. Peak RSS: the whole "
        "process, data included. The textbook rows "
        "always train the canonical MLP VAE (784-400-20): the reference of the [benchmark "
        "protocol](README.md); the rows marked + add the easy fixes to it one at a time "
        "(batches by index, rand < x binarization, fused Adam), cumulatively. "
        "`vaekit fit(), autograd` is the trainer with its fused MLP gradient turned off "
        "(`TrainConfig(fast_path=False)`); `vaekit fit(), bf16` the fused gradient with its "
        "GEMMs in bf16 (`TrainConfig(precision='bf16')`, what `vaekit train`'s "
        "`--precision auto` picks on a CPU with bf16 instructions), so its fraction of the "
        "fp32 ceiling can pass 100%. Written by "
        "`benchmarks/throughput.py`; do not edit by hand.",
        "",
        "| batch | system | samples/s | ratio to textbook | fraction of GEMM ceiling | "
        "achieved GFLOP/s | peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        limit = row["ceiling"]
        for system in (name for name in SYSTEMS if name in row):
            rate = row[system]["samples_per_second"]
            gflops = rate * limit["flops_per_sample"] / 1e9
            ratio = row[system]["ratio_to_textbook"]
            lines.append(f"| {row['batch_size']} | {system} | {rate:,.0f} | {ratio:.2f}x | "
                         f"{rate / limit['samples_per_second']:.0%} | {gflops:.1f} | "
                         f"{row[system]['peak_rss_mib']:.0f} |")  # fmt: skip
        ceiling_rate, ceiling_gflops = limit["samples_per_second"], limit["gemm_gflops"]
        lines.append(f"| {row['batch_size']} | GEMMs only (ceiling) | {ceiling_rate:,.0f} | | "
                     f"100% | {ceiling_gflops:.1f} | |")  # fmt: skip
    lines += ["", f"A 2048x2048 fp32 GEMM runs at {square_gflops:.1f} GFLOP/s here, same threads."]
    write_results(args.out, lines, info, {"rows": rows, "square_gemm_gflops": square_gflops})


if __name__ == "__main__":
    main()
