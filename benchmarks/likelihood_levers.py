"""Likelihood levers: the `fast` preset's recipe with one change per row, same budget.

Binarized Fashion-MNIST (protocol: docs/benchmarks/README.md). Each row trains the `fast`
preset's hierarchical VAE for the same wall-clock budget with one lever changed, then scores
it on the protocol's fixed-binarized test set: -ELBO on all 10,000 images (one sample) and
the importance-weighted NLL with K samples on the first --eval-limit images. The baseline
row is the preset itself, trained in the same run. Rows can be trained in several
invocations: a run keeps the rows of the --out .json it finds unless it trains them again.

    python -m benchmarks.likelihood_levers                     # the figures in docs/
    python -m benchmarks.likelihood_levers --budget 20 --iw-samples 20 --eval-limit 100 \\
        --levers baseline "data-dependent init" --out /tmp/l.md   # a quick look
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

import torch

from benchmarks.machine_info import announce_run, write_results
from vaekit import DataConfig, TrainConfig, evaluate, fit, load_data
from vaekit.models import MODELS
from vaekit.training.presets import get_preset

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "likelihood_levers.md"
BASELINE = "baseline: preset fast"
# The rows were measured on the `fast` model as it was then, 3 stochastic layers of 16; the
# preset has trained 4 since (the row "bf16 + 4 stochastic layers of 16"), so every row
# starts from the 3-layer model and a rerun measures what the pages say.
MEASURED_MODEL = {"num_latent_layers": 3}
EARLIER = " (earlier pass)"
# lever -> (model config changes, TrainConfig changes, fit() keywords); one change per row
# (the rows named "bf16 + ..." combine two). The VampPrior does not apply to the hierarchical
# model (its top posterior is not the encoder's output); the mixture-of-Gaussians top prior
# is the lever of that kind it takes.
LEVERS: dict[str, tuple[dict, dict, dict]] = {
    BASELINE: ({}, {}, {}),
    "IWAE objective, K = 4": ({}, {"objective": "iwae", "iw_train_samples": 4}, {}),
    "data-dependent init": ({}, {"data_init": True}, {}),
    "top prior: mixture of Gaussians": ({"prior": "mog"}, {}, {}),
    "batch 256, lr 3e-3": ({}, {"batch_size": 256, "lr": 3e-3}, {}),
    "batch 512, lr 4e-3": ({}, {"batch_size": 512, "lr": 4e-3}, {}),
    "batch 1024, lr 6e-3": ({}, {"batch_size": 1024, "lr": 6e-3}, {}),
    "autoregressive decoder (bernoulli_ar)": ({"likelihood": "bernoulli_ar"}, {}, {}),
    "torch.compile of the loss (more steps in the budget)": ({}, {}, {"compile": True}),
    "bf16 autocast (more steps in the budget)": ({}, {"precision": "bf16"}, {}),
    # combinations with bf16, whose faster steps may move the best batch size
    "bf16 + batch 1024, lr 6e-3": ({}, {"precision": "bf16", "batch_size": 1024, "lr": 6e-3}, {}),
    "bf16 + data-dependent init": ({}, {"precision": "bf16", "data_init": True}, {}),
    # capacity, which bf16's cheaper matrix products may now pay for within the budget
    "bf16 + 4 stochastic layers of 16": ({"num_latent_layers": 4}, {"precision": "bf16"}, {}),
    "bf16 + 3 stochastic layers of 32": ({"latent_dim": 32}, {"precision": "bf16"}, {}),
    "bf16 + MLP 512-512 encoder and decoder": (
        {"hidden_dims": (512, 512)},
        {"precision": "bf16"},
        {},
    ),
    "bf16 + MLP 1024, state 512": (
        {"hidden_dims": (1024,), "state_dim": 512},
        {"precision": "bf16"},
        {},
    ),
}


def train_row(name: str, data, x_test, args) -> dict:
    """Train the fast preset with lever `name` for args.budget seconds and score it."""
    model_changes, train_changes, fit_keywords = LEVERS[name]
    preset = get_preset("fast")
    cls = MODELS[preset.model]
    fields = {"likelihood": "bernoulli", **preset.model_fields, **MEASURED_MODEL, **model_changes}
    torch.manual_seed(args.seed)
    model = cls(cls.config_class(input_shape=data.spec.shape, **fields))
    config = TrainConfig(**{**preset.train_fields, **train_changes,
                            "time_budget_seconds": args.budget, "seed": args.seed})  # fmt: skip
    started = time.perf_counter()
    state = fit(model, data, config, **fit_keywords)
    seconds = time.perf_counter() - started
    full = evaluate(model, x_test, generator=torch.Generator().manual_seed(1))
    nll = evaluate(model, x_test[: args.eval_limit], iw_samples=args.iw_samples, batch_size=20,
                   generator=torch.Generator().manual_seed(1))  # fmt: skip
    row = {"train_seconds": seconds, "epochs": state.epoch, "steps": state.step,
           "neg_elbo_nats": -full.elbo_nats, "nll_nats": nll.nll_nats,
           "nll_images": args.eval_limit}  # fmt: skip
    print(name, row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=600.0, help="training seconds per row")
    parser.add_argument("--levers", nargs="+", default=list(LEVERS), choices=list(LEVERS))
    parser.add_argument("--iw-samples", type=int, default=1000)
    parser.add_argument("--eval-limit", type=int, default=1000, help="test images for NLL")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--baseline", default=BASELINE, choices=list(LEVERS),
        help="the row the NLL change is measured against (train it in the same pass)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--earlier-pass", type=Path, default=None,
        help="the .json of an earlier pass: its rows are kept as 'NAME (earlier pass)'",
    )  # fmt: skip
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the report from --out's .json"
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    info = announce_run()
    earlier = {}
    if args.out.with_suffix(".json").exists():
        earlier = json.loads(args.out.with_suffix(".json").read_text())["rows"]
    if args.earlier_pass is not None:
        for name, row in json.loads(args.earlier_pass.read_text())["rows"].items():
            if not name.endswith(EARLIER) and row != earlier.get(name):
                earlier[name + EARLIER] = row
    if args.report_only:
        write_report(args, info, earlier)
        return
    data = load_data(DataConfig(source="fashion-mnist", binarize="dynamic"))
    rows = dict(earlier)
    for name in args.levers:
        rows[name] = train_row(name, data, data.test.x, args) | {"command": info["command"]}
        write_report(args, info, rows)  # after every row: a long run loses nothing


def write_report(args, info, rows) -> None:
    ordered = {
        label: rows[label] for name in LEVERS for label in (name + EARLIER, name) if label in rows
    }
    base = ordered.get(args.baseline)
    lines = [
        "# Likelihood levers on the `fast` preset",
        "",
        "Binarized Fashion-MNIST ([benchmark protocol](README.md)). Each row trains the `fast` "
        "preset's hierarchical VAE (3 stochastic layers of 16, MLP 512, state 256; cosine "
        "schedule over the budget, weight average) with one change, for the same wall-clock "
        f"budget; {args.threads} threads, seed {args.seed}. -ELBO: all 10,000 test images, one "
        f"sample. NLL: K = {args.iw_samples} on the first {args.eval_limit} test images. "
        f"Lower is better; the change is against the row '{args.baseline}'. A row's steps "
        "show what "
        "else ran on the shared machine: at the same batch size, fewer steps mean a busier "
        "machine, so compare such a row with the baseline of its own pass (rows marked "
        "'earlier pass' ran beside other jobs). Written by "
        "`benchmarks/likelihood_levers.py`; do not edit by hand.",
        "",
        "| lever | fit wall time (s) | epochs | steps | test -ELBO (nats) | test NLL (nats) | "
        "NLL change (nats) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in ordered.items():
        change = "" if base is None else f"{row['nll_nats'] - base['nll_nats']:+.2f}"
        lines.append(f"| {name} | {row['train_seconds']:.0f} | {row['epochs']} | "
                     f"{row['steps']:,} | {row['neg_elbo_nats']:.2f} | {row['nll_nats']:.2f} | "
                     f"{change} |")  # fmt: skip
    commands = sorted({_without_out(row["command"]) for row in ordered.values()})
    if len(commands) > 1:
        lines += ["", "Rows were trained by these invocations: "
                  + "; ".join(f"`{c}`" for c in commands) + "."]  # fmt: skip
    write_results(args.out, lines, info, {"rows": rows})


def _without_out(command: str) -> str:
    """A row's command without its --out PATH (where the results went, not how they ran)."""
    words = shlex.split(command)
    if "--out" in words:
        at = words.index("--out")
        del words[at : at + 2]
    return shlex.join(words)


if __name__ == "__main__":
    main()
