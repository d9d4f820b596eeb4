"""Compression benchmark: vaekit's bits-back code against generic codecs, and lossy rate-distortion.

    PYTHONPATH=src:. python -m benchmarks.compression [--limit N] [--bin-run DIR]
        [--levels-run DIR] [--hvae-run DIR]

On the Fashion-MNIST test set (10,000 images), binarized once with RandomState(0) as the
protocol says, and as raw 8-bit pixels (with the `fast` preset's 8-bit model, the run
benchmarks/eightbit.py trains); the binarized images again with the `fast` preset's
hierarchical VAE (top-down bits-back over its layers). Trains the three models first when
their run directories are missing. Writes docs/benchmarks/compression.md, .json and
compression_rd.png.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.machine_info import announce_run, write_results
from vaekit.compression import compress, decompress
from vaekit.compression.bitsback import NUM_SEED_WORDS
from vaekit.compression.comparison import VAEKIT_ROW, compare_codecs, markdown_table
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
    # the `fast` preset's model for 8-bit images (conv 32-64, 64 latents, discretized
    # logistic, 600 s), as benchmarks/eightbit.py trains it
    "8-bit": ["--binarize", "none", "--preset", "fast", "--seed", "0"],
    # the `fast` preset as docs/benchmarks/quality.md trains it: 600 s, seed 0
    "hierarchical": ["--binarize", "dynamic", "--preset", "fast", "--seed", "0"],
}  # fmt: skip
LEVELS = {"binarized": 2, "8-bit": 256, "hierarchical": 2}
TITLES = {
    "binarized": "binarized Fashion-MNIST test set",
    "8-bit": "8-bit Fashion-MNIST test set (`fast` preset's 8-bit model)",
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


def initial_bits(model, stored: np.ndarray) -> dict:
    """Initial bits of the file of `stored`, measured: F(N) - header - C, F(.) a file's size
    in bits and C what N images cost on a stack that is already full.

    C comes from coding the images three times in one file: the second and third copies
    find a full stack, so C = (F(3N) - F(N)) / 2, up to the noise of other latent draws;
    `copies_differ_bits` (the two copies' costs minus each other) shows that noise. Counts
    the seed words consumed and any bits a chunk popped beyond what the stack held."""
    data = compress(model, stored)
    header, payload = unpack(data)
    header_bits = len(data) * 8 - 32 * payload.size
    sizes = [len(data) * 8] + [
        len(compress(model, np.concatenate([stored] * copies))) * 8 for copies in (2, 3)
    ]
    full_stack_cost = (sizes[2] - sizes[0]) / 2
    return {
        "initial_bits": round(sizes[0] - header_bits - full_stack_cost),
        "header_bits": header_bits,
        "seed_words_consumed": NUM_SEED_WORDS - header.seed_kept,
        "copies_differ_bits": (sizes[2] - sizes[1]) - (sizes[1] - sizes[0]),
    }


def initial_bits_lines(start: dict, ours: int, target: float, n: int) -> list[str]:
    return [
        f"- initial bits (file - header - what the same images cost on a full stack, "
        f"measured by coding them 3 times in one file): {start['initial_bits']} bits in all, "
        f"{start['initial_bits'] / n:.2f} bits per image ({start['seed_words_consumed']} of "
        f"the {NUM_SEED_WORDS} seed words consumed; the two full-stack copies differed by "
        f"{start['copies_differ_bits']} bits, the sampling noise of this figure); "
        f"header + checksum: {start['header_bits']} bits",
        f"- (file - header - initial bits) / negative ELBO = "
        f"{(ours - start['header_bits'] - start['initial_bits']) / target:.4f}",
    ]


def bench_dataset(
    dataset: str, run_dir: Path, limit: int | None, generic_from: dict | None = None
) -> tuple[list[str], dict]:
    """One section: lines of markdown and the JSON payload. generic_from: the codecs of an
    earlier section on the same images, compared with instead of running them again."""
    ensure_run(run_dir, dataset)
    model = load_model(run_dir).eval()
    stored = stored_test_images(dataset, limit)
    levels = LEVELS[dataset]
    compress(model, stored[:2])  # build the lookup tables once, outside the timed runs
    comparison = compare_codecs(model, stored, generic=generic_from is None)
    reference = float32_images_per_second(model, stored, levels)
    n = comparison.num_examples
    ours = comparison.rows[0].num_bytes * 8
    target = comparison.neg_elbo_nats * n / np.log(2)
    codecs = {r.name: {"bytes": r.num_bytes, "seconds": r.seconds} for r in comparison.rows}
    speeds = {
        "compress": n / comparison.compress_seconds,
        "decompress": n / comparison.decompress_seconds,
    }
    lines = [
        f"## {TITLES[dataset]} ({n} images, model `{run_dir}`)",
        "",
        *markdown_table(comparison),
    ]
    if generic_from is not None:
        lines.append("| generic codecs | | | the same images: the first section's rows |")
    generic = {k: v["bytes"] for k, v in (generic_from or codecs).items() if k != VAEKIT_ROW}
    lines += ["", *summary_lines(comparison, target, speeds, reference, generic)]
    payload = {
        "num_images": n,
        "codecs": codecs,
        "neg_elbo_bits": target,
        "vaekit_bits": ours,
        "overhead_bits": comparison.overhead_bits,
        "images_per_second": speeds,
        "float32_elbo_images_per_second": reference,
    }
    if dataset == "hierarchical":  # lossy mode codes one layer of latents: no RD curve
        payload |= initial_bits(model, stored)
        return [*lines, *initial_bits_lines(payload, ours, target, n), ""], payload
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


def summary_lines(
    comparison, target: float, speeds: dict, reference: float, generic: dict[str, int | None]
) -> list[str]:
    n = comparison.num_examples
    ours = comparison.rows[0].num_bytes * 8
    best_name, best_bytes = min(
        ((k, v) for k, v in generic.items() if v is not None), key=lambda item: item[1]
    )
    return [
        f"- round trip: bit-exact on all {n} images (checked by the script)",
        f"- vaekit file: {ours} bits; negative ELBO of the float32 model: {target:.0f} bits; "
        f"header + checksum + seed words consumed: {comparison.overhead_bits} bits",
        f"- (file - overhead) / negative ELBO = {(ours - comparison.overhead_bits) / target:.4f}",
        f"- margin over the best generic codec ({best_name}): vaekit's file is "
        f"{100 * (1 - comparison.rows[0].num_bytes / best_bytes):.1f}% smaller",
        f"- speed ({torch.get_num_threads()} threads): compress {speeds['compress']:.0f} images/s, "
        f"decompress {speeds['decompress']:.0f} images/s; the float32 model's ELBO pass in the "
        f"same run: {reference:.0f} images/s (ratios {speeds['compress'] / reference:.3f} and "
        f"{speeds['decompress'] / reference:.3f})",
    ]


def earlier_section(markdown: str, dataset: str) -> list[str]:
    """The lines of `dataset`'s section in an earlier results file, heading to the line
    before the next heading or figure."""
    lines = markdown.splitlines()
    heading = f"## {TITLES[dataset]} ("
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    stop = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith(("## ", "![", "Sections"))),
        len(lines),
    )
    while stop > start and not lines[stop - 1].strip():
        stop -= 1
    return lines[start:stop]


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
    parser.add_argument(
        "--levels-run", type=Path, default=Path("runs/eightbit/conv32-64-l64-logistic")
    )
    parser.add_argument("--hvae-run", type=Path, default=Path("runs/fmnist-fast"))
    parser.add_argument("--limit", type=int, default=None, help="first N test images only")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--sections", nargs="+", choices=tuple(TITLES), default=list(TITLES),
        help="sections to run; the others are carried over from the results file --out holds",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(2)
    info = announce_run()
    runs = {"binarized": args.bin_run, "8-bit": args.levels_run, "hierarchical": args.hvae_run}
    carried = [name for name in runs if name not in args.sections]
    earlier = json.loads(args.out.with_suffix(".json").read_text()) if carried else {}
    earlier_markdown = args.out.read_text() if carried else ""
    lines = ["# Compression: vaekit against generic codecs", ""]
    results = {}
    for dataset, run_dir in runs.items():
        if dataset in carried:
            lines += [*earlier_section(earlier_markdown, dataset), ""]
            results[dataset] = earlier["datasets"][dataset]
            continue
        # the hierarchical section codes the binarized section's images: its codecs serve both
        same_images = dataset == "hierarchical" and (
            args.limit is None or "binarized" not in carried
        )
        generic_from = results["binarized"]["codecs"] if same_images else None
        section, results[dataset] = bench_dataset(dataset, run_dir, args.limit, generic_from)
        print("\n".join(section), flush=True)
        lines += section
    figure = args.out.with_name(args.out.stem + "_rd.png")
    if any(name in args.sections for name in ("binarized", "8-bit")):  # else it is unchanged
        plot_rate_distortion({k: v for k, v in results.items() if "rate_distortion" in v}, figure)
    lines += [f"![rate-distortion]({figure.name})"]
    origins = carried_origins(earlier, carried)
    for origin in origins:
        run = origin["run"]
        lines += [
            "",
            f"Sections carried over unchanged from an earlier run: {', '.join(origin['sections'])}"
            f" (its command: `{run['command']}`; vaekit {run['vaekit']}, torch {run['torch']}, "
            f"{run['threads']} threads, {run['cpu']}).",
        ]
    payload = {"datasets": results}
    if origins:
        payload["carried_over"] = origins
    write_results(args.out, lines, info, payload)


def carried_origins(earlier: dict, carried: list[str]) -> list[dict]:
    """[{"sections": [...], "run": {...}}]: the run that measured each carried-over section. A
    section the earlier file had itself carried over names the run it came from."""
    before = earlier.get("carried_over", [])
    if isinstance(before, dict):  # files written before sections could come from two runs
        before = [before]
    origins: list[dict] = []
    for section in carried:
        run = next((o["run"] for o in before if section in o["sections"]), earlier.get("run"))
        found = next((o for o in origins if o["run"] == run), None)
        if found is None:
            origins.append({"sections": [section], "run": run})
        else:
            found["sections"].append(section)
    return origins


if __name__ == "__main__":
    main()
