"""8-bit benchmark: the `--preset fast` model for 8-bit images, coded on Fashion-MNIST test.

    PYTHONPATH=src:. python -m benchmarks.eightbit [--runs-dir DIR] [--limit N]

Each row is one `vaekit train --data fashion-mnist --binarize none --preset fast` run (10
minutes, 2 threads, seed 0), the preset itself or the preset with one lever changed, and
one `--preset best` run (60 minutes); runs missing from --runs-dir are trained first. Every
row gets the float32 model's negative ELBO on the test images, and is coded with `vaekit
compress --precision 16`, its round trip checked and its compress / decompress speed timed
on 2 threads; the preset's model is also compressed at precisions 10, 12 and 14. JPEG-XL's
figure is read from compression.json (written by benchmarks/compression.py). Writes
docs/benchmarks/eightbit.md and .json.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.machine_info import announce_run, write_results
from vaekit.compression import compress, decompress
from vaekit.compression.comparison import negative_elbo_nats
from vaekit.data import DataConfig, load_data
from vaekit.models import load_model

OUT = Path("docs/benchmarks/eightbit.md")
JXL_SOURCE = Path("docs/benchmarks/compression.json")
JXL_ROW = "JXL sprite sheet"
GOAL_BITS, STRETCH_BITS, GOAL_IMAGES_PER_SECOND = 3.30, 3.15, 1000.0
# latent buckets 2**PRECISION, vaekit compress's default for 8-bit models: their posteriors
# are narrow (std down to ~0.02), and coarser buckets cost bits; coded down a binary tree,
# finer ones cost little time. The preset's model is also compressed at OTHER_PRECISIONS.
PRECISION = 16
OTHER_PRECISIONS = (10, 12, 14)
PRESET_ROW = "conv32-64-l64-logistic"
BEST_ROW = "best-conv32-64-l64-logistic"
# run directory name -> (what differs from `--preset fast`, the preset, flags added to it).
# The MLP rows were trained when the MLP was the preset's model; "--arch mlp" gives it back.
VARIANTS: dict[str, tuple[str, str, list[str]]] = {
    PRESET_ROW: (
        "the preset: conv (channels 32, 64), 64 latents, discretized logistic",
        "fast",
        [],
    ),
    "mlp512-l64-logistic": (
        "ReLU MLP 512 instead of conv (the preset before this run)",
        "fast",
        ["--arch", "mlp"],
    ),
    "mlp512-l64-mix5": (
        "MLP; mixture of 5 discretized logistics instead of one",
        "fast",
        ["--arch", "mlp", "--likelihood", "discretized_logistic_mixture"],
    ),
    "mlp512-l128-logistic": (
        "MLP; 128 latents instead of 64",
        "fast",
        ["--arch", "mlp", "--latent-dim", "128"],
    ),
    "hvae3x16-logistic": (
        "hierarchical VAE (3 stochastic layers of 16, MLP 512) instead of one latent layer",
        "fast",
        ["--model", "hvae", "--arch", "mlp", "--latent-dim", "16"],
    ),
    "mlp512-l64-logistic-datainit": (
        "MLP; decoder's output bias set from the data (`--data-init`)",
        "fast",
        ["--arch", "mlp", "--data-init"],
    ),
    BEST_ROW: ("`--preset best`: the preset's model trained for 60 minutes", "best", []),
}


def ensure_run(run_dir: Path, preset: str, flags: list[str]) -> None:
    if (run_dir / "model.safetensors").exists():
        return
    command = [sys.executable, "-m", "vaekit.cli.main", "train", "--data", "fashion-mnist"]
    command += ["--binarize", "none", "--preset", preset, *flags, "--threads", "2"]
    command += ["--seed", "0", "--quiet", "--out", str(run_dir)]
    print("training:", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def training_facts(run_dir: Path) -> dict:
    """Epochs, steps and seconds of training, from the run's last checkpoint."""
    state = json.loads((run_dir / "checkpoints" / "latest" / "train_state.json").read_text())
    return {"epochs": state["epoch"], "steps": state["step"], "seconds": state["train_seconds"]}


def stored_test_images(limit: int | None) -> np.ndarray:
    """The test images as stored levels, uint8 (N, 1, 28, 28)."""
    data = load_data(DataConfig(source="fashion-mnist", binarize="none", eval_limit=limit))
    return np.rint(data.test.x.numpy() * 255).astype(np.uint8)


def coded(model, stored: np.ndarray, precision: int) -> dict:
    """Compress and decompress all images once each, timed; the file's bits/dim."""
    compress(model, stored[:2], precision=precision)  # builds the lookup tables, untimed
    started = time.perf_counter()
    data = compress(model, stored, precision=precision)
    compress_seconds = time.perf_counter() - started
    started = time.perf_counter()
    restored = decompress(model, data)
    decompress_seconds = time.perf_counter() - started
    return {
        "precision": precision,
        "coded_bits_per_dim": len(data) * 8 / stored.size,
        "exact": bool(np.array_equal(restored, stored)),
        "compress_images_per_second": stored.shape[0] / compress_seconds,
        "decompress_images_per_second": stored.shape[0] / decompress_seconds,
    }


def measure(name: str, run_dir: Path, stored: np.ndarray, precision: int | None) -> dict:
    """-ELBO of the run's model on `stored`; coded too unless precision is None."""
    model = load_model(run_dir).eval()
    x = torch.from_numpy(stored.astype(np.float32) / 255)
    neg_elbo = negative_elbo_nats(model, x) / (stored[0].size * math.log(2))
    row = {"lever": VARIANTS[name][0], "neg_elbo_bits_per_dim": neg_elbo}
    row.update(training_facts(run_dir))
    if precision is not None:
        row.update(coded(model, stored, precision))
    print(name, row, flush=True)
    return row


def precision_row(run_dir: Path, stored: np.ndarray, precision: int) -> dict:
    """The preset's model compressed (only) with 2**precision latent buckets, timed."""
    model = load_model(run_dir).eval()
    compress(model, stored[:2], precision=precision)
    started = time.perf_counter()
    data = compress(model, stored, precision=precision)
    row = {
        "precision": precision,
        "coded_bits_per_dim": len(data) * 8 / stored.size,
        "compress_images_per_second": stored.shape[0] / (time.perf_counter() - started),
    }
    print(row, flush=True)
    return row


def jxl_bits_per_dim() -> float | None:
    """JPEG-XL (sprite sheet, effort 9) on the same 10,000 images, as compression.py measured."""
    if not JXL_SOURCE.exists():
        return None
    payload = json.loads(JXL_SOURCE.read_text())["datasets"]["8-bit"]
    return payload["codecs"][JXL_ROW]["bytes"] * 8 / (payload["num_images"] * 784)


def verdict(value: float, goal: float, higher_is_better: bool = False) -> str:
    met = value >= goal if higher_is_better else value <= goal
    return "met" if met else "missed"


def best_coded(rows: dict[str, dict]) -> str | None:
    """The run whose file is smallest among those coded exactly."""
    coded_rows = [name for name, row in rows.items() if row.get("exact")]
    return min(coded_rows, key=lambda name: rows[name]["coded_bits_per_dim"], default=None)


def goal_lines(row: dict, jxl: float | None, n: int) -> list[str]:
    bits, fast = row["coded_bits_per_dim"], row["compress_images_per_second"]
    slow = row["decompress_images_per_second"]
    jxl_text = f"{jxl:.4f}" if jxl is not None else "not measured (run compression.py)"
    return [
        "| goal | target | measured | |",
        "|---|---|---|---|",
        f"| coded bits/dim, all {n} test images | ≤ {GOAL_BITS:.2f} (JPEG-XL {jxl_text}, "
        f"10% better) | {bits:.4f} | {verdict(bits, GOAL_BITS)} |",
        f"| stretch | ≤ {STRETCH_BITS:.2f} | {bits:.4f} | {verdict(bits, STRETCH_BITS)} |",
        f"| exact round trip | all {n} images | {'yes' if row['exact'] else 'NO'} | "
        f"{'met' if row['exact'] else 'missed'} |",
        f"| compress speed, 2 threads | ≥ {GOAL_IMAGES_PER_SECOND:,.0f} images/s | {fast:,.0f} "
        f"| {verdict(fast, GOAL_IMAGES_PER_SECOND, True)} |",
        f"| decompress speed, 2 threads | ≥ {GOAL_IMAGES_PER_SECOND:,.0f} images/s | "
        f"{slow:,.0f} | {verdict(slow, GOAL_IMAGES_PER_SECOND, True)} |",
    ]


def ablation_lines(rows: dict[str, dict]) -> list[str]:
    def cell(row: dict, key: str, form: str) -> str:
        return format(row[key], form) if key in row else "-"

    lines = [
        "| run | lever | epochs | train s | -ELBO bits/dim (float32) | coded bits/dim | "
        "exact | compress / decompress images/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        speeds = "-"
        if "compress_images_per_second" in row:
            speeds = (
                f"{row['compress_images_per_second']:.0f} / "
                f"{row['decompress_images_per_second']:.0f}"
            )
        exact = {True: "yes", False: "NO"}.get(row.get("exact"), "-")
        lines.append(
            f"| `{name}` | {row['lever']} | {row['epochs']} | {row['seconds']:.0f} | "
            f"{row['neg_elbo_bits_per_dim']:.4f} | {cell(row, 'coded_bits_per_dim', '.4f')} | "
            f"{exact} | {speeds} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/eightbit"))
    parser.add_argument("--limit", type=int, default=None, help="first N test images only")
    parser.add_argument(
        "--preset-only-coded",
        dest="code_all",
        action="store_false",
        help="code the preset's model only (the other runs get their -ELBO)",
    )
    parser.add_argument("--only", nargs="+", default=list(VARIANTS), choices=tuple(VARIANTS))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(2)
    info = announce_run()
    stored = stored_test_images(args.limit)
    rows = {}
    for name in args.only:
        ensure_run(args.runs_dir / name, *VARIANTS[name][1:])
        code = args.code_all or name == PRESET_ROW
        rows[name] = measure(name, args.runs_dir / name, stored, PRECISION if code else None)
    precisions = []
    if PRESET_ROW in rows:
        precisions = [
            precision_row(args.runs_dir / PRESET_ROW, stored, p) for p in OTHER_PRECISIONS
        ]
    n, jxl = stored.shape[0], jxl_bits_per_dim()
    lines = [
        "# 8-bit images: the preset's model, coded",
        "",
        f"Fashion-MNIST test set, {n} images as stored (uint8, 256 levels, bits/dim = bits / "
        f"(N x 784)). Each run: `vaekit train --data fashion-mnist --binarize none --preset "
        "fast [lever flags] --threads 2 --seed 0` (10 minutes of training, `--preset best` 60, "
        "on a 2-core CPU shared with other jobs; 55,000 training images). -ELBO: the float32 "
        "model, one z sample per image. Coded: the `vaekit compress --precision "
        f"{PRECISION}` file (header and initial bits included), decompressed and compared; "
        "speed: one pass each, 2 threads, after the lookup tables are built. Written by "
        "`benchmarks/eightbit.py`; do not edit by hand.",
        "",
    ]
    best = best_coded(rows)
    if best is not None:
        lines += [
            "## Goals",
            "",
            f"Measured with the run whose file is smallest, `{best}`"
            + (" (the preset)." if best == PRESET_ROW else " (not the preset)."),
            "",
            *goal_lines(rows[best], jxl, n),
            "",
        ]
    lines += ["## Runs (the preset, then one lever changed each)", "", *ablation_lines(rows), ""]
    if precisions:
        lines += [
            f"The preset's model compressed with other latent precisions (`--precision`, "
            f"2^P buckets per latent; the rows above use {PRECISION}; compress only):",
            "",
            "| precision | coded bits/dim | compress images/s |",
            "|---|---|---|",
            *(
                f"| {r['precision']} | {r['coded_bits_per_dim']:.4f} | "
                f"{r['compress_images_per_second']:.0f} |"
                for r in precisions
            ),
            "",
        ]
    payload = {"num_images": n, "jxl_bits_per_dim": jxl, "precision": PRECISION, "best_run": best}
    write_results(args.out, lines, info, {**payload, "runs": rows, "precisions": precisions})


if __name__ == "__main__":
    main()
