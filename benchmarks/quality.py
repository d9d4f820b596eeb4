"""Model quality: vaekit's training recipes against the canonical MLP VAE, same run.

Binarized Fashion-MNIST (protocol: docs/benchmarks/README.md): the canonical MLP VAE trained
by the textbook reference loop (benchmarks/textbook_vae.py), then the `fast` and `best`
presets, each trained for a wall-clock budget. Every model is scored by the same evaluator on the
protocol's fixed-binarized test set: negative ELBO on all of it and the importance-weighted
NLL with K samples on the first --eval-limit images (a K = 1000 NLL over 10,000 images is
10M decoder passes per model). The `best` run also records its NLL-against-time curve from
weight-average snapshots. An ablation trains the `fast` preset again with the autoregressive
decoder (`bernoulli_ar`) in place of its independent Bernoulli one. Then the `fast` recipe on
8-bit Fashion-MNIST with the discretized logistic likelihood, in bits/dim.

    python -m benchmarks.quality                                   # the figures in docs/
    python -m benchmarks.quality --fast-budget 30 --best-budget 30 --eight-bit-budget 30 \\
        --canonical-epochs 1 --iw-samples 50 --eval-limit 200 --out /tmp/q.md   # a quick look
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchmarks.canonical_vae import as_vaekit
from benchmarks.machine_info import announce_run, write_results
from benchmarks.textbook_vae import train_textbook
from vaekit import DataConfig, TrainConfig, evaluate, fit, load_data
from vaekit.models import MODELS
from vaekit.training import TrainCallback
from vaekit.training.presets import get_preset
from vaekit.units import nats_to_bits_per_dim

OUT_DIR = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
CANONICAL = "canonical MLP VAE, textbook loop"
ABLATION = "ablation: preset fast with the autoregressive decoder (bernoulli_ar)"
EARLIER_RUN = "rows marked * come from"
# how earlier versions of this script named that line (it always said "and the curve")
_OLD_EARLIER_RUN = "rows marked *, and the curve, come from"


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def score(model, x_test, args, *, seed: int = 1) -> dict:
    """-ELBO on all of x_test; NLL (K = args.iw_samples) on its first args.eval_limit images."""
    full = evaluate(model, x_test, generator=torch.Generator().manual_seed(seed))
    subset = x_test[: args.eval_limit]
    nll = evaluate(model, subset, iw_samples=args.iw_samples, batch_size=20,
                   generator=torch.Generator().manual_seed(seed))  # fmt: skip
    return {
        "neg_elbo_nats": -full.elbo_nats,
        "nll_nats": nll.nll_nats,
        "nll_images": int(subset.shape[0]),
        "nll_eval_seconds": nll.seconds,
        "bits_per_dim": nats_to_bits_per_dim(nll.nll_nats, int(x_test[0].numel())),
    }


class Snapshots(TrainCallback):
    """Keeps the validated (weight-average) weights and the clock at each epoch end."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def on_epoch_end(self, state, metrics) -> None:
        weights = {k: v.clone() for k, v in state.eval_model.state_dict().items()}
        self.rows.append({"epoch": state.epoch, "train_seconds": state.train_seconds,
                          "val_neg_elbo_nats": -metrics["val_elbo_nats"],
                          "weights": weights})  # fmt: skip


def train_preset(name: str, data, budget: float, seed: int, likelihood: str, curve=None):
    """Build and train preset `name` for `budget` seconds, in the precision `vaekit train
    --preset` picks (auto); returns (model, seconds, the precision it trained in)."""
    preset = get_preset(name)
    cls = MODELS[preset.model]
    torch.manual_seed(seed)
    model = cls(cls.config_class(input_shape=data.spec.shape, likelihood=likelihood,
                                 **preset.model_fields))  # fmt: skip
    config = TrainConfig(**{**preset.train_fields, "time_budget_seconds": budget, "seed": seed,
                            "precision": "auto"})  # fmt: skip
    started = time.perf_counter()
    state = fit(model, data, config, callbacks=[curve] if curve else [])
    return model, time.perf_counter() - started, state.config.precision


def budget_row(name: str, data, budget: float, likelihood: str, x_test, args):
    """Train preset `name` with `likelihood` for `budget` seconds and score it; returns
    (model, its epoch snapshots, its table row)."""
    snapshots = Snapshots()
    model, seconds, precision = train_preset(name, data, budget, args.seed, likelihood, snapshots)
    row = {"epochs_or_budget": f"{budget:.0f} s budget, {len(snapshots.rows)} epochs, "
                               f"{precision}",
           "train_seconds": seconds, "parameters": count_parameters(model),
           **score(model, x_test, args)}  # fmt: skip
    print(name, likelihood, row, flush=True)
    return model, snapshots, row


def nll_curve(model, snapshots: Snapshots, x_test, args) -> list[dict]:
    """NLL of up to args.curve_points evenly spaced snapshots (the last one included)."""
    rows = snapshots.rows
    step = max(1, len(rows) // args.curve_points)
    picked = rows[::-1][::step][::-1]
    final = model.state_dict()
    curve = []
    for row in picked:
        model.load_state_dict(row["weights"])
        report = evaluate(model, x_test[: args.curve_images], iw_samples=args.iw_samples,
                          batch_size=20, generator=torch.Generator().manual_seed(4))  # fmt: skip
        curve.append(
            {k: v for k, v in row.items() if k != "weights"} | {"nll_nats": report.nll_nats}
        )
        print("curve", curve[-1], flush=True)
    model.load_state_dict(final)
    return curve


def preset_budget(name: str) -> float:
    """The wall-clock budget preset `name` trains for, in seconds."""
    return float(get_preset(name).train_fields["time_budget_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast-budget", type=float, default=preset_budget("fast"),
                        help="seconds (default: the preset's)")  # fmt: skip
    parser.add_argument("--best-budget", type=float, default=preset_budget("best"),
                        help="seconds (default: the preset's)")  # fmt: skip
    parser.add_argument("--eight-bit-budget", type=float, default=preset_budget("fast"),
                        help="seconds; 0 skips")  # fmt: skip
    parser.add_argument(
        "--ablation-budget", type=float, default=preset_budget("fast"),
        help="seconds for the `fast` preset with the bernoulli_ar decoder; 0 skips",
    )  # fmt: skip
    parser.add_argument("--canonical-epochs", type=int, default=10)
    parser.add_argument("--iw-samples", type=int, default=1000)
    parser.add_argument("--eval-limit", type=int, default=10_000, help="test images for NLL")
    parser.add_argument("--curve-points", type=int, default=5)
    parser.add_argument("--curve-images", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT_DIR / "quality.md")
    parser.add_argument("--presets", nargs="+", default=["fast", "best"], help="to train")
    parser.add_argument(
        "--merge-from", type=Path, default=None,
        help="an earlier run's .json: its rows (and curve) for the presets not trained now",
    )  # fmt: skip
    parser.add_argument(
        "--report-from", type=Path, default=None,
        help="rewrite the report from the .json of an earlier run (no training)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.report_from is not None:
        rewrite_report(args)
        return
    torch.set_num_threads(args.threads)
    info = announce_run()
    data = load_data(DataConfig(source="fashion-mnist", binarize="dynamic", memory_map=False))
    x_test = data.test.x
    rows = {}
    started = time.perf_counter()
    reference, _ = train_textbook(data.train.x.flatten(1), args.canonical_epochs, args.seed)
    seconds = time.perf_counter() - started
    canonical = as_vaekit(reference)
    rows[CANONICAL] = {
        "epochs_or_budget": f"{args.canonical_epochs} epochs", "train_seconds": seconds,
        "parameters": count_parameters(canonical), **score(canonical, x_test, args)}  # fmt: skip
    print(rows, flush=True)
    curve, earlier = [], None
    if args.merge_from is not None:  # rows of presets not trained in this run
        earlier = json.loads(args.merge_from.read_text())
        curve = earlier["best_curve"]
    for name, budget in (("fast", args.fast_budget), ("best", args.best_budget)):
        if name not in args.presets:
            rows[f"preset {name}"] = earlier["binarized"][f"preset {name}"] | {"earlier": True}
            continue
        model, snapshots, rows[f"preset {name}"] = budget_row(
            name, data, budget, "bernoulli", x_test, args
        )
        if name == "best":
            curve = nll_curve(model, snapshots, x_test, args)
    if args.ablation_budget > 0:  # the same model and recipe with the autoregressive decoder
        _, _, rows[ABLATION] = budget_row(
            "fast", data, args.ablation_budget, "bernoulli_ar", x_test, args
        )
    eight_bit = {}
    if args.eight_bit_budget > 0:
        data8 = load_data(DataConfig(source="fashion-mnist"))
        model, seconds, precision = train_preset("fast", data8, args.eight_bit_budget,
                                                 args.seed, "discretized_logistic")  # fmt: skip
        eight_bit = {"train_seconds": seconds, "precision": precision,
                     "parameters": count_parameters(model),
                     **score(model, data8.test.x, args)}  # fmt: skip
        print("8-bit", eight_bit, flush=True)
    if earlier is not None:
        info[EARLIER_RUN] = carried_origin(earlier, args.presets)
    write_report(args, info, rows, curve, eight_bit)


def carried_origin(earlier: dict, trained: list[str]) -> str:
    """The command(s) that trained the preset rows carried over from `earlier`: a row that
    run had itself carried over names the run it came from, not the run that carried it."""
    run = earlier["run"]
    carried_before = run.get(EARLIER_RUN) or run.get(_OLD_EARLIER_RUN)
    origins = []
    for name in ("fast", "best"):
        if name in trained:
            continue
        row = earlier["binarized"][f"preset {name}"]
        origin = carried_before if row.get("earlier") and carried_before else run["command"]
        if origin not in origins:
            origins.append(origin)
    return "; ".join(origins)


def rewrite_report(args) -> None:
    """The report of an earlier run, rendered again from its .json (same figures)."""
    payload = json.loads(args.report_from.read_text())
    for key, value in payload["arguments"].items():
        if key not in ("out", "report_from", "merge_from", "presets"):
            setattr(args, key, type(getattr(args, key))(value))
    write_report(args, payload["run"], payload["binarized"], payload["best_curve"],
                 payload["eight_bit"])  # fmt: skip


def _other_images(row: dict, nll_images: int) -> str:
    """A note for a row whose NLL is over another number of test images than the header's."""
    return "" if row["nll_images"] == nll_images else f" ({row['nll_images']:,} images)"


def write_report(args, info, rows, curve, eight_bit) -> None:
    info = dict(info)
    if _OLD_EARLIER_RUN in info:
        info[EARLIER_RUN] = info.pop(_OLD_EARLIER_RUN)
    if rows.get("preset best", {}).get("earlier") and EARLIER_RUN in info:
        info["rows marked *, and the curve, come from"] = info.pop(EARLIER_RUN)
    nll_images = next(iter(rows.values()))["nll_images"]
    lines = [
        "# Model quality: training recipes against the canonical MLP VAE",
        "",
        "Binarized Fashion-MNIST ([benchmark protocol](README.md)): training with dynamic "
        "binarization on the first 55,000 training images (the last 5,000 validate), scoring "
        f"on the fixed-binarized test set. -ELBO: all 10,000 test images, one sample. NLL: "
        f"importance-weighted bound with K = {args.iw_samples} on the first {nll_images} test "
        "images. "
        "Presets are wall-clock bounded and train in the precision `vaekit train --preset` "
        "picks (`--precision auto`; the training column names it where the run recorded it); "
        f"{args.threads} threads, seed {args.seed}, a shared "
        "2-core machine (other jobs may have run beside it). Lower is better. Written by "
        "`benchmarks/quality.py`; do not edit by hand.",
        "",
        "| model | parameters | training | train wall time (s) | test -ELBO (nats) | "
        f"test NLL, K={args.iw_samples} (nats) | NLL eval time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        mark = " *" if row.get("earlier") else ""
        lines.append(f"| {name}{mark} | {row['parameters']:,} | {row['epochs_or_budget']} | "
                     f"{row['train_seconds']:.0f} | {row['neg_elbo_nats']:.2f} | "
                     f"{row['nll_nats']:.2f}{_other_images(row, nll_images)} | "
                     f"{row['nll_eval_seconds']:.0f} |")  # fmt: skip
    lines += ["", f"Evaluation cost: the NLL column took the seconds shown for {nll_images} "
              f"images x K = {args.iw_samples} samples; for all 10,000 test images that is, "
              "extrapolated linearly: " + ", ".join(
                  f"{name} ~{row['nll_eval_seconds'] * 10_000 / row['nll_images'] / 60:.0f} min"
                  for name, row in rows.items()) + "."]  # fmt: skip
    reference = rows[CANONICAL]["nll_nats"]
    lines += ["", "NLL gain over the canonical model, same images: " + ", ".join(
        f"{name} {reference - row['nll_nats']:+.2f} nats" for name, row in rows.items()
        if name != CANONICAL and row["nll_images"] == nll_images)]  # fmt: skip
    # the protocol's quality targets: (target NLL, the most training time it allows)
    targets = {"fast": (228.0, 600), "best": (222.0, 7200)}
    lines += ["", "Quality targets of the protocol (NLL after at most the time allowed, 2 cores; "
              f"this run: {args.threads} threads):"]  # fmt: skip
    for name, (target, allowed) in targets.items():
        row, budget = rows[f"preset {name}"], preset_budget(name)
        ran = float(row["epochs_or_budget"].split(" s budget")[0])
        verdict = "met" if row["nll_nats"] <= target else "not met"
        note = "" if ran >= budget else (
            f"; this run trained {ran:.0f} s, not the preset's {budget:.0f} s, so it does not "
            "test the target")  # fmt: skip
        lines.append(f"- preset {name} (trains {budget:.0f} s): target <= {target:.0f} nats "
                     f"within {allowed} s; measured {row['nll_nats']:.2f} nats after "
                     f"{row['train_seconds']:.0f} s: {verdict}{note}.")  # fmt: skip
    lines += ["", f"## `best` recipe: NLL against training time ({args.best_budget:.0f} s budget)",
              "", "The `best` preset's model and recipe, with its cosine schedule laid out "
              f"over this {args.best_budget:.0f} s budget (the preset's: "
              f"{preset_budget('best'):.0f} s). "
              f"Weight-average snapshots at epoch ends; NLL with K = {args.iw_samples} on "
              f"the first {args.curve_images} test images; -ELBO on the validation split.", "",
              "| epoch | train time (s) | val -ELBO (nats) | test NLL (nats) |",
              "|---|---|---|---|"]  # fmt: skip
    for point in curve:
        lines.append(f"| {point['epoch']} | {point['train_seconds']:.0f} | "
                     f"{point['val_neg_elbo_nats']:.2f} | {point['nll_nats']:.2f} |")  # fmt: skip
    if eight_bit:
        lines += ["", "## 8-bit Fashion-MNIST", "",
                  "Raw uint8 pixels (scaled by 1/255), discretized logistic likelihood over 256 "
                  f"levels, `fast` recipe for {args.eight_bit_budget:.0f} s. bits/dim = NLL / "
                  f"(784 ln 2), NLL with K = {args.iw_samples} on the first "
                  f"{eight_bit['nll_images']} test images.", "",
                  "| model | parameters | train wall time (s) | test -ELBO (bits/dim) | "
                  "test NLL (bits/dim) |", "|---|---|---|---|---|",
                  f"| preset fast, discretized logistic | {eight_bit['parameters']:,} | "
                  f"{eight_bit['train_seconds']:.0f} | "
                  f"{nats_to_bits_per_dim(eight_bit['neg_elbo_nats'], 784):.4f} | "
                  f"{eight_bit['bits_per_dim']:.4f} |"]  # fmt: skip
    payload = {"binarized": rows, "best_curve": curve, "eight_bit": eight_bit,
               "arguments": {k: str(v) for k, v in vars(args).items()}}  # fmt: skip
    write_results(args.out, lines, info, payload)


if __name__ == "__main__":
    main()
