"""Compression benchmark: vaekit's bits-back code against generic codecs, and lossy rate-distortion.

    PYTHONPATH=src:. python -m benchmarks.compression [--limit N] [--bin-run DIR]
        [--levels-run DIR] [--hvae-run DIR]

On the Fashion-MNIST test set (10,000 images), binarized once with RandomState(0) as the
protocol says, and as raw 8-bit pixels; the binarized images again with the `fast` preset's
hierarchical VAE (top-down bits-back over its layers). Trains the three models first when
their run directories are missing. Writes docs/benchmarks/compression.md, .json and
compression_rd.png.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.machine_info import announce_run, write_results
from vaekit.compression import compress, decompress
from vaekit.compression.bitsback import NUM_SEED_WORDS
from vaekit.compression.comparison import compare_codecs, markdown_table
from vaekit.compression.container import unpack
from vaekit.data import DataConfig, load_data
from vaekit.models import load_model

OUT = Path("docs/benchmarks/compression.md")
# the canonical MLP VAE of the benchmark protocol (docs/benchmarks/README.md), and the
# 8-bit model of docs/compression.md
RECIPES = {
    "binarized": [
        "--binarize", "dynamic", "--arch", "mlp", "--hidden-dims", "400", "--latent-dim", "20",
        "--batch-size", "128", "--lr", "1e-3", "--epochs", "10",
    ],
    "8-bit": [
        "--binarize", "none", "--likelihood", "discretized_logistic", "--arch", "mlp",
        "--hidden-dims", "512", "--latent-dim", "64", "--batch-size", "128", "--lr", "1e-3",
        "--epochs", "15",
    ],
    # the `fast` preset as docs/benchmarks/quality.md trains it: 600 s, seed 0
    "hierarchical": ["--binarize", "dynamic", "--preset", "fast", "--seed", "0"],
}  # fmt: skip
LEVELS = {"binarized": 2, "8-bit": 256, "hierarchical": 2}
TITLES = {
    "binarized": "binarized Fashion-MNIST test set",
    "8-bit": "8-bit Fashion-MNIST test set",
    "hierarchical": "binarized Fashion-MNIST test set, hierarchical VAE (`fast` preset)",
}
RD_BITS = (1, 2, 3, 4, 5, 6, 8, 10, 12)


def ensure_run(run_dir: Path, dataset: str) -> None:
    if (run_dir / "model.safetensors").exists():
        return
    command = [sys.executable, "-m", "vaekit.cli.main", "train", "--data", "fashion-mnist"]
    command += [*RECIPES[dataset], "--threads", "2", "--quiet", "--out", str(run_dir)]
    print("training:", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def stored_test_images(dataset: str, limit: int | None) -> np.ndarray:
    """Test images as stored values, uint8 (N, 1, 28, 28): bits, or levels 0..255."""
    binarize = "none" if dataset == "8-bit" else "dynamic"
    data = load_data(DataConfig(source="fashion-mnist", binarize=binarize, eval_limit=limit))
    return np.rint(data.test.x.numpy() * (LEVELS[dataset] - 1)).astype(np.uint8)


@torch.no_grad()
def float32_images_per_second(model, stored: np.ndarray, levels: int) -> float:
    """Reference speed: the float32 model's one-sample ELBO (encoder + decoder), 256 a batch."""
    x = torch.from_numpy(stored.astype(np.float32) / (levels - 1))
    generator = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    for start in range(0, x.shape[0], 256):
        model.elbo(x[start : start + 256], generator=generator)
    return x.shape[0] / (time.perf_counter() - started)


def rate_distortion(model, stored: np.ndarray, levels: int) -> list[dict]:
    """Lossy mode at each latent-bits setting: bits/image and PSNR (peak = levels - 1)."""
    points = []
    for bits in RD_BITS:
        data = compress(model, stored, lossy=True, latent_bits=bits)
        restored = decompress(model, data)
        mse = np.mean((restored.astype(np.float64) - stored) ** 2)
        psnr = 10 * np.log10((levels - 1) ** 2 / mse) if mse > 0 else float("inf")
        points.append(
            {"latent_bits": bits, "bits_per_image": len(data) * 8 / len(stored), "psnr_db": psnr}
        )
    return points


def initial_bits(model, stored: np.ndarray) -> tuple[int, int, int]:
    """(initial bits, header + checksum bits, seed words kept) of the file of `stored`.

    Initial bits = 2 F(N) - F(2N) - header, F(.) a file's size in bits: coding the images
    twice in one file, the second copy finds a full stack, so F(2N) - F(N) is what N images
    cost without initial bits (up to the noise of other latent draws). This counts the seed
    words consumed and any bits a chunk popped beyond what the stack held."""
    data = compress(model, stored)
    header, payload = unpack(data)
    header_bits = len(data) * 8 - 32 * payload.size
    doubled = len(compress(model, np.concatenate([stored, stored]))) * 8
    return 2 * len(data) * 8 - doubled - header_bits, header_bits, header.seed_kept


def initial_bits_lines(
    start: int, header_bits: int, kept: int, ours: int, target: float, n: int
) -> list[str]:
    return [
        f"- initial bits (2 F(N) - F(2N) - header, F = file size): {start} bits in all, "
        f"{start / n:.2f} bits per image ({NUM_SEED_WORDS - kept} of the {NUM_SEED_WORDS} "
        f"seed words consumed); header + checksum: {header_bits} bits",
        f"- (file - header - initial bits) / negative ELBO = "
        f"{(ours - header_bits - start) / target:.4f}",
    ]


def bench_dataset(dataset: str, run_dir: Path, limit: int | None) -> tuple[list[str], dict]:
    ensure_run(run_dir, dataset)
    model = load_model(run_dir).eval()
    stored = stored_test_images(dataset, limit)
    levels = LEVELS[dataset]
    compress(model, stored[:2])  # build the lookup tables once, outside the timed runs
    comparison = compare_codecs(model, stored)
    reference = float32_images_per_second(model, stored, levels)
    n = comparison.num_examples
    ours = comparison.rows[0].num_bytes * 8
    target = comparison.neg_elbo_nats * n / np.log(2)
    speeds = {
        "compress": n / comparison.compress_seconds,
        "decompress": n / comparison.decompress_seconds,
    }
    lines = [
        f"## {TITLES[dataset]} ({n} images, model `{run_dir}`)",
        "",
        *markdown_table(comparison),
        "",
        *summary_lines(comparison, target, speeds, reference),
    ]
    payload = {
        "num_images": n,
        "codecs": {r.name: {"bytes": r.num_bytes, "seconds": r.seconds} for r in comparison.rows},
        "neg_elbo_bits": target,
        "vaekit_bits": ours,
        "overhead_bits": comparison.overhead_bits,
        "images_per_second": speeds,
        "float32_elbo_images_per_second": reference,
    }
    if dataset == "hierarchical":  # lossy mode codes one layer of latents: no RD curve
        start, header_bits, kept = initial_bits(model, stored)
        payload |= {"initial_bits": start, "header_bits": header_bits, "seed_kept": kept}
        lines += [*initial_bits_lines(start, header_bits, kept, ours, target, n), ""]
        return lines, payload
    payload["rate_distortion"] = rd = rate_distortion(model, stored, levels)
    lines += [
        "",
        "Lossy mode (`--lossy --latent-bits B`):",
        "",
        "| latent bits | bits/image | PSNR (dB) |",
        "|---|---|---|",
        *(f"| {p['latent_bits']} | {p['bits_per_image']:.1f} | {p['psnr_db']:.2f} |" for p in rd),
        "",
    ]
    return lines, payload


def summary_lines(comparison, target: float, speeds: dict, reference: float) -> list[str]:
    n = comparison.num_examples
    ours = comparison.rows[0].num_bytes * 8
    best_generic = min(comparison.rows[1:], key=lambda r: r.num_bytes)
    return [
        f"- round trip: bit-exact on all {n} images (checked by the script)",
        f"- vaekit file: {ours} bits; negative ELBO of the float32 model: {target:.0f} bits; "
        f"header + checksum + seed words consumed: {comparison.overhead_bits} bits",
        f"- (file - overhead) / negative ELBO = {(ours - comparison.overhead_bits) / target:.4f}",
        f"- margin over the best generic codec ({best_generic.name}): vaekit's file is "
        f"{100 * (1 - comparison.rows[0].num_bytes / best_generic.num_bytes):.1f}% smaller",
        f"- speed ({torch.get_num_threads()} threads): compress {speeds['compress']:.0f} images/s, "
        f"decompress {speeds['decompress']:.0f} images/s; the float32 model's ELBO pass in the "
        f"same run: {reference:.0f} images/s (ratios {speeds['compress'] / reference:.3f} and "
        f"{speeds['decompress'] / reference:.3f})",
    ]


def plot_rate_distortion(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.6), dpi=100)
    for axis, (dataset, payload) in zip(np.atleast_1d(axes), results.items()):
        points = payload["rate_distortion"]
        axis.plot([p["bits_per_image"] for p in points], [p["psnr_db"] for p in points], "o-")
        for p in points:
            axis.annotate(str(p["latent_bits"]), (p["bits_per_image"], p["psnr_db"]), fontsize=7)
        axis.set_xscale("log")
        axis.set(title=f"{dataset} (labels: latent bits)", xlabel="bits/image", ylabel="PSNR (dB)")
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-run", type=Path, default=Path("runs/fmnist-bin"))
    parser.add_argument("--levels-run", type=Path, default=Path("runs/fmnist8"))
    parser.add_argument("--hvae-run", type=Path, default=Path("runs/fmnist-fast"))
    parser.add_argument("--limit", type=int, default=None, help="first N test images only")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(2)
    info = announce_run()
    lines = ["# Compression: vaekit against generic codecs", ""]
    results = {}
    runs = {"binarized": args.bin_run, "8-bit": args.levels_run, "hierarchical": args.hvae_run}
    for dataset, run_dir in runs.items():
        section, results[dataset] = bench_dataset(dataset, run_dir, args.limit)
        print("\n".join(section), flush=True)
        lines += section
    figure = args.out.with_name(args.out.stem + "_rd.png")
    plot_rate_distortion({k: v for k, v in results.items() if "rate_distortion" in v}, figure)
    lines += [f"![rate-distortion]({figure.name})"]
    write_results(args.out, lines, info, {"datasets": results})


if __name__ == "__main__":
    main()
