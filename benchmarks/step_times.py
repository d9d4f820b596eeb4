"""Where a training step's time goes: the textbook loop's step against vaekit's, and vaekit's
step taken apart, timed step by step.

throughput.py measures whole epochs, as the benchmark protocol asks
(docs/benchmarks/README.md); on a shared machine a neighbour's load moves those figures by
tens of percent between rounds. Here every step is timed on its own and the table reports
low percentiles (the 10th: the steps nobody else slowed), so the ratio reflects the code
more than the neighbours. The two loops alternate in blocks of --steps steps, --rounds
times, in one process, with a third block that runs only the step's matrix products
(benchmarks/gemm_ceiling.py): no implementation of this model can go below it. The parts
of vaekit's step are then timed alone in the same way.

    python -m benchmarks.step_times                  # batch 128
    python -m benchmarks.step_times --batch-size 1024 --steps 60
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.gemm_ceiling import gemm_pass, linear_gemm_shapes
from benchmarks.machine_info import announce_run, write_results
from benchmarks.textbook_vae import TextbookVAE, textbook_step
from vaekit import DataConfig, TrainConfig, load_data
from vaekit.data import Batch, binarize_batch, iterate_batches
from vaekit.models import MODELS
from vaekit.training import recipe
from vaekit.training.state import TrainState
from vaekit.training.step import StepTotals, gradient_norm, take_step

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "step_times.md"
QUANTILES = (0.1, 0.25, 0.5)
REFERENCE = "textbook loop"
GEMMS = "the step's GEMMs alone"


def forever(make_batches: Callable[[], Iterator]) -> Iterator:
    """Batches from a fresh epoch whenever one runs out."""
    while True:
        yield from make_batches()


def time_calls(function: Callable[[], object], count: int) -> list[float]:
    """Seconds of each of `count` calls."""
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def quantile(seconds: list[float], q: float) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=300, help="steps per block")
    parser.add_argument("--rounds", type=int, default=3, help="blocks of each loop")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    info = announce_run()
    data = load_data(DataConfig(source="fashion-mnist", binarize="dynamic", memory_map=False))
    batch_size = args.batch_size

    torch.manual_seed(0)
    textbook = TextbookVAE()
    textbook_adam = torch.optim.Adam(textbook.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(data.train.x.flatten(1)), batch_size=batch_size,
                        shuffle=True)  # fmt: skip
    textbook_batches = forever(lambda: (batch for (batch,) in loader))

    vae = MODELS["vae"]
    model = vae(vae.config_class(input_shape=(1, 28, 28), latent_dim=20, hidden_dims=(400,)))
    state = TrainState.create(model, TrainConfig(batch_size=batch_size))
    totals = (StepTotals(),)
    steps_per_epoch = math.ceil(len(data.train) / batch_size)  # as fit() counts them
    order = torch.Generator().manual_seed(0)
    vaekit_batches = forever(
        lambda: iterate_batches(data.train, batch_size, shuffle=True, generator=order)
    )

    def next_binarized() -> torch.Tensor:
        return binarize_batch(next(vaekit_batches)[0], generator=state.noise_generator)

    def vaekit_step() -> None:  # as fit()'s run_epoch takes it
        x = next_binarized()
        recipe.set_learning_rate(state, steps_per_epoch)
        take_step(state, Batch(x), 1.0, totals)
        recipe.after_step(state)

    def textbook_whole_step() -> None:
        textbook_step(textbook, textbook_adam, next(textbook_batches))

    gemms_only = gemm_pass(linear_gemm_shapes(model, torch.zeros(batch_size, 1, 28, 28)))
    loops = {REFERENCE: textbook_whole_step, "vaekit fit() step": vaekit_step,
             GEMMS: gemms_only}  # fmt: skip
    for _ in range(20):  # warm-up: Adam's state, first-touch pages, lazy imports
        for loop in loops.values():
            loop()
    steps = {name: [] for name in loops}
    for index in range(args.rounds):
        for name, loop in loops.items():
            steps[name] += time_calls(loop, args.steps)
        tenths = [f"{name} {quantile(s, 0.1) * 1e3:.2f} ms" for name, s in steps.items()]
        print(f"round {index + 1}: " + ", ".join(tenths), flush=True)

    x = next_binarized()
    loss = state.fast_path.loss_and_grads(x, 1.0, generator=state.noise_generator)[0]
    parts = {
        "draw a batch by index": lambda: next(vaekit_batches),
        "binarize it": lambda: binarize_batch(x, generator=state.noise_generator),
        "forward and backward (fused)": lambda: state.fast_path.loss_and_grads(
            x, 1.0, generator=state.noise_generator),
        "non-finite check (loss, gradient norm)": lambda: bool(torch.isfinite(loss))
        and bool(torch.isfinite(gradient_norm(model, None))),
        "Adam (fused kernel)": state.optimizer.step,
    }  # fmt: skip
    part_seconds = {name: time_calls(part, args.steps) for name, part in parts.items()}
    write_report(args, info, steps, part_seconds)


def write_report(args, info, steps, part_seconds) -> None:
    reference = steps[REFERENCE]
    header = " | ".join(f"{int(q * 100)}th percentile" for q in QUANTILES)
    lines = [
        "# Training step times",
        "",
        f"Canonical MLP VAE (784-400-20), batch {args.batch_size}, binarized Fashion-MNIST, "
        f"{args.threads} threads, fp32, one process. The textbook loop, vaekit's step "
        "(what `fit()` does per batch: draw, binarize, learning rate, step) and the step's "
        f"GEMMs alone alternate in blocks of {args.steps} steps, {args.rounds} blocks each; "
        "milliseconds per step at three percentiles, and the ratio of the textbook's time "
        "to each row's. Low percentiles are the steps the shared machine's other load did "
        "not slow. Written by `benchmarks/step_times.py`; do not edit by hand.",
        "",
        f"| loop | {header} |",
        "|---|" + "---|" * len(QUANTILES),
    ]
    for name, seconds in steps.items():
        cells = []
        for q in QUANTILES:
            cell = f"{quantile(seconds, q) * 1e3:.2f} ms"
            if seconds is not reference:
                cell += f" ({quantile(reference, q) / quantile(seconds, q):.2f}x)"
            cells.append(cell)
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += [
        "",
        f"vaekit's step taken apart, each part timed alone {args.steps} times (10th percentile):",
        "",
        "| part | ms |",
        "|---|---|",
    ]
    for name, seconds in part_seconds.items():
        lines.append(f"| {name} | {quantile(seconds, 0.1) * 1e3:.2f} |")
    best_possible = quantile(reference, 0.1) / quantile(steps[GEMMS], 0.1)
    lines += [
        "",
        f"A step that did nothing but its GEMMs would be {best_possible:.2f}x the textbook "
        "loop at the 10th percentile: the most any fp32 implementation of this model can "
        "gain over it on this machine.",
    ]
    payload = {
        "steps_ms": {name: [s * 1e3 for s in seconds] for name, seconds in steps.items()},
        "parts_ms": {name: [s * 1e3 for s in seconds] for name, seconds in part_seconds.items()},
    }
    write_results(args.out, lines, info, payload)


if __name__ == "__main__":
    main()
