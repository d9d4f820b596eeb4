"""Representations: linear probe, one-class anomaly detection and OOD scores on Fashion-MNIST.

(a) Probe: the canonical MLP VAE (784-400-20, Bernoulli, dynamic binarization, as `make
    demo`; `--probe-epochs`) trained and probed with the CLI exactly as a user would:
    `vaekit train ...` then `vaekit probe RUN --labels-per-class 10 100 1000 all --json`.
(b) One-class: for each class c, a model trained on class c's training images alone (the
    first 55,000 images' class-c share, about 5,500), scoring all 10,000 test images; AUROC
    of "not c" against c (higher score = more anomalous), per class and mean. Variants: a
    VAE with a Bernoulli likelihood on grey values, one with a discretized logistic on the
    8-bit values, and a plain AE (reconstruction error); `--oneclass-variants` picks others
    (binarized inputs, conv networks) for the levers.
(c) OOD: a VAE trained on all of Fashion-MNIST against sklearn's digits framed as MNIST
    does (8x8 upscaled to a 20x20 box, centred by centre of mass in 28x28, [0, 1]), uniform
    noise and constant images; AUROC of the raw NLL and of both corrections against the
    test set. Every figure names its rule: "binarization excess" and "NLL - zlib bits" are
    the two rules of vaekit.features.anomaly, computed for every VAE whatever its own rule.

    python -m benchmarks.representations                  # the figures in docs/benchmarks/
    python -m benchmarks.representations --parts ood --ood-epochs 1 --out /tmp/r.md  # quick
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sklearn.datasets
import torch
import torch.nn.functional as F
from scipy import ndimage
from sklearn.metrics import roc_auc_score

from benchmarks.machine_info import announce_run, write_results
from vaekit import AE, VAE, DataConfig, TrainConfig, fit, load_data
from vaekit.data import DataSplits, Split
from vaekit.data.like import binarize_like
from vaekit.features import anomaly_scores, compressed_nats, reconstruction_errors
from vaekit.models import load_model
from vaekit.models.config import AEConfig, VAEConfig

OUT_DIR = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
DEMO_FLAGS = ["--arch", "mlp", "--hidden-dims", "400", "--latent-dim", "20",
              "--batch-size", "128", "--lr", "1e-3"]  # fmt: skip
# variant -> (model, binarize, likelihood, arch)
VARIANTS = {
    "VAE, Bernoulli on grey values": ("vae", "none", "bernoulli", "mlp"),
    "VAE, binarized inputs (dynamic)": ("vae", "dynamic", "bernoulli", "mlp"),
    "VAE, discretized logistic (8-bit)": ("vae", "none", "discretized_logistic", "mlp"),
    "AE, reconstruction error": ("ae", "none", "bernoulli", "mlp"),
    "conv VAE, Bernoulli on grey values": ("vae", "none", "bernoulli", "conv"),
    "conv VAE, discretized logistic (8-bit)": ("vae", "none", "discretized_logistic", "conv"),
}
ONE_CLASS_VARIANTS = (
    "VAE, Bernoulli on grey values",
    "VAE, discretized logistic (8-bit)",
    "AE, reconstruction error",
)
# the binarized VAE of the OOD table is the probe's canonical model when the probe ran
OOD_VARIANTS = (
    "VAE, binarized inputs (dynamic)",
    "VAE, Bernoulli on grey values",
    "VAE, discretized logistic (8-bit)",
)
FIGURES = {
    "raw": "raw NLL (AE: reconstruction error)",
    "excess": "score: binarization excess",
    "complexity": "score: NLL - zlib bits",
}
NUM_OOD = 1000


def cli(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "vaekit.cli.main", *args],
                            capture_output=True, text=True, check=False)  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"vaekit {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def probe_part(epochs: int, draws: int, run: Path) -> dict:
    """Train the canonical model into `run` with the CLI and probe it."""
    started = time.perf_counter()
    cli("train", "--data", "fashion-mnist", "--binarize", "dynamic", *DEMO_FLAGS,
        "--epochs", str(epochs), "--out", str(run), "--quiet")  # fmt: skip
    trained = time.perf_counter() - started
    out = cli("probe", str(run), "--labels-per-class", "10", "100", "1000", "all",
              "--draws", str(draws), "--json", "--quiet")  # fmt: skip
    rows = json.loads(out)["rows"]
    print(json.dumps(rows), flush=True)
    return {"epochs": epochs, "draws": draws, "train_seconds": trained,
            "probe_seconds": time.perf_counter() - started - trained, "rows": rows}  # fmt: skip


def build(variant: str, shape: tuple[int, ...]):
    name, _, likelihood, arch = VARIANTS[variant]
    fields = {"input_shape": shape, "latent_dim": 20, "hidden_dims": (400,),
              "likelihood": likelihood, "arch": arch}  # fmt: skip
    return AE(AEConfig(**fields)) if name == "ae" else VAE(VAEConfig(**fields))


def train(variant: str, data: DataSplits, epochs: int, seed: int):
    torch.manual_seed(seed)
    model = build(variant, data.spec.shape)
    fit(model, data, TrainConfig(epochs=epochs, batch_size=128, lr=1e-3, seed=seed))
    return model.eval()


def scores_of(model, variant: str, grey: torch.Tensor, spec, k: int) -> dict[str, np.ndarray]:
    """Per-image figures of grey images (N, 1, 28, 28) in [0, 1], read as the model's test
    data (binarized with the test seed for a binarized model): "raw" (NLL, or the AE's
    squared reconstruction error), "excess" (Bernoulli: NLL of the grey targets minus the
    binarization entropy) and "complexity" (NLL minus the zlib code length of the inputs)."""
    if model.has_likelihood_bound is False:
        return {"raw": reconstruction_errors(model, grey).numpy()}
    inputs = binarize_like(spec, Split(grey)).x
    source = None if spec.binarize == "none" else grey
    generator = torch.Generator().manual_seed(0)
    result = anomaly_scores(
        model, inputs, kind="image", grey=source, num_samples=k, generator=generator
    )
    figures = {"raw": result.nll_nats.numpy()}
    figures["complexity"] = (result.nll_nats - compressed_nats(inputs)).numpy()
    if result.rule == "bernoulli_excess":
        figures["excess"] = result.score.numpy()
    return figures


@functools.cache
def fashion(binarize: str) -> DataSplits:
    return load_data(DataConfig(source="fashion-mnist", binarize=binarize))


def data_for(binarize: str, only_class: int | None) -> tuple[DataSplits, torch.Tensor]:
    """Fashion-MNIST splits (train and val restricted to one class when given) and the grey
    test images."""
    data, grey = fashion(binarize), fashion("none").test.x
    if only_class is None:
        return data, grey

    def keep(split: Split) -> Split:
        mask = split.y == only_class
        return Split(split.x[mask], split.y[mask])

    return dataclasses.replace(data, train=keep(data.train), val=keep(data.val)), grey


# name -> the (variant, figure) scores it averages, each as a z-score against the class's
# validation images (inliers the model did not train on; no outlier is used to fit it)
ENSEMBLES = {
    "Bernoulli excess + logistic NLL - zlib": (
        ("VAE, Bernoulli on grey values", "excess"),
        ("VAE, discretized logistic (8-bit)", "complexity"),
    ),
    "Bernoulli excess + AE error": (
        ("VAE, Bernoulli on grey values", "excess"),
        ("AE, reconstruction error", "raw"),
    ),
    "Bernoulli excess + logistic NLL - zlib + AE error": (
        ("VAE, Bernoulli on grey values", "excess"),
        ("VAE, discretized logistic (8-bit)", "complexity"),
        ("AE, reconstruction error", "raw"),
    ),
    "the two scores of MLP and conv models (4 models)": (
        ("VAE, Bernoulli on grey values", "excess"),
        ("VAE, discretized logistic (8-bit)", "complexity"),
        ("conv VAE, Bernoulli on grey values", "excess"),
        ("conv VAE, discretized logistic (8-bit)", "complexity"),
    ),
}


def standardized(test: np.ndarray, val: np.ndarray) -> np.ndarray:
    """Test scores as z-scores of the inlier validation scores' mean and std."""
    return (test - val.mean()) / max(float(val.std()), 1e-12)


def one_class_part(epochs: int, k: int, classes: list[int], variants: list[str]) -> dict:
    results: dict[str, dict] = {}
    zscores: dict[tuple[str, str], dict[int, np.ndarray]] = {}
    for variant in variants:
        binarize = VARIANTS[variant][1]
        rows = results.setdefault(variant, {"seconds": 0.0})
        for c in classes:
            started = time.perf_counter()
            data, grey = data_for(binarize, c)
            grey_val = data_for("none", c)[0].val.x
            model = train(variant, data, epochs, seed=c)
            anomalous = (data.test.y != c).numpy()
            val_scores = scores_of(model, variant, grey_val, data.spec, k)
            for figure, values in scores_of(model, variant, grey, data.spec, k).items():
                rows.setdefault(figure, {})[c] = 100 * roc_auc_score(anomalous, values)
                zscores.setdefault((variant, figure), {})[c] = standardized(
                    values, val_scores[figure]
                )
            rows["seconds"] += time.perf_counter() - started
            print(variant, c, {f: round(v[c], 1) for f, v in rows.items() if f != "seconds"})
    ensembles = {}
    for name, members in ENSEMBLES.items():
        if all(member in zscores for member in members):
            ensembles[name] = {}
            for c in classes:
                anomalous = (fashion("none").test.y != c).numpy()
                mean_z = np.mean([zscores[member][c] for member in members], axis=0)
                ensembles[name][c] = 100 * roc_auc_score(anomalous, mean_z)
    return {"epochs": epochs, "iw_samples": k, "classes": classes, "variants": results,
            "ensembles": ensembles}  # fmt: skip


def framed_digits() -> torch.Tensor:
    """sklearn digits as MNIST frames them: (1797, 1, 28, 28) in [0, 1]."""
    digits = torch.from_numpy(sklearn.datasets.load_digits().images / 16.0).float()
    boxes = F.interpolate(digits[:, None], size=(20, 20), mode="bilinear", align_corners=False)
    frames = np.zeros((digits.shape[0], 28, 28), dtype=np.float32)
    for i, box in enumerate(boxes[:, 0].clamp(0, 1).numpy()):
        canvas = np.zeros((28, 28), dtype=np.float32)
        canvas[4:24, 4:24] = box
        cy, cx = ndimage.center_of_mass(canvas)
        frames[i] = ndimage.shift(canvas, (14 - cy, 14 - cx), order=1, mode="constant")
    return torch.from_numpy(frames.clip(0, 1))[:, None]


def ood_sets(seed: int = 0) -> dict[str, torch.Tensor]:
    """The outlier sets, on the 8-bit grid as if read from PNG files."""
    g = torch.Generator().manual_seed(seed)
    levels = torch.rand(NUM_OOD, 1, 1, 1, generator=g)
    sets = {
        "digits (MNIST-framed)": framed_digits(),
        "uniform noise": torch.rand(NUM_OOD, 1, 28, 28, generator=g),
        "constant images": levels.expand(NUM_OOD, 1, 28, 28).contiguous(),
    }
    return {name: torch.round(x * 255) / 255 for name, x in sets.items()}


def ood_part(epochs: int, k: int, limit: int, canonical: Path | None) -> dict:
    results = {}
    sets = ood_sets()
    for variant in OOD_VARIANTS:
        started = time.perf_counter()
        data, grey = data_for(VARIANTS[variant][1], None)
        reuse = canonical is not None and VARIANTS[variant][1] == "dynamic"
        model = load_model(canonical).eval() if reuse else train(variant, data, epochs, seed=0)
        inlier = scores_of(model, variant, grey[:limit], data.spec, k)
        rows = {}
        for name, images in sets.items():
            outlier = scores_of(model, variant, images, data.spec, k)
            truth = np.r_[np.zeros(limit), np.ones(len(images))]
            rows[name] = {f: roc_auc_score(truth, np.r_[inlier[f], outlier[f]]) for f in inlier}
            print(variant, name, rows[name], flush=True)
        trained = "the probe's canonical model" if reuse else f"{epochs} epochs"
        results[variant] = {"rows": rows, "trained": trained,
                            "seconds": time.perf_counter() - started}  # fmt: skip
    return {"epochs": epochs, "iw_samples": k, "test_images": limit, "variants": results}


def probe_lines(probe: dict) -> list[str]:
    lines = [
        "## Linear probe", "",
        f"The canonical MLP VAE trained {probe['epochs']} epochs as `make demo` does "
        f"({probe['train_seconds']:.0f} s), then `vaekit probe` (standardized logistic "
        f"regression, {probe['draws']} draws of k labels per class, accuracy on the 10,000 "
        f"test images; {probe['probe_seconds']:.0f} s). Raw pixels are the binarized "
        "inputs the model sees (train binarized once with a fixed seed).", "",
        "| features | labels per class | accuracy % | std |", "|---|---:|---:|---:|",
    ]  # fmt: skip
    for row in probe["rows"]:
        mean, std = 100 * row["accuracy_mean"], 100 * row["accuracy_std"]
        lines.append(f"| {row['features']} | {row['labels_per_class']} | {mean:.1f} | {std:.1f} |")
    return lines


def one_class_lines(part: dict) -> list[str]:
    classes = part["classes"]
    lines = [
        "## One-class anomaly detection", "",
        "Per class c: a model (MLP 784-400-20, or conv with 32-64 channels and 20 latents) "
        f"trained {part['epochs']} epochs on the class-c images of the first 55,000 training "
        "images, all 10,000 test images scored, AUROC % of the other "
        f"classes against c. VAE NLL and score with K = {part['iw_samples']} "
        "importance samples; the AE's score is its squared reconstruction error.", "",
        "| variant | figure | " + " | ".join(map(str, classes)) + " | mean |",
        "|---|---|" + "---:|" * (len(classes) + 1),
    ]  # fmt: skip
    for variant, rows in part["variants"].items():
        for figure, label in FIGURES.items():
            if figure not in rows:
                continue
            values = [rows[figure][c] for c in classes]
            cells = " | ".join(f"{v:.1f}" for v in values)
            lines.append(f"| {variant} | {label} | {cells} | {statistics.mean(values):.1f} |")
    for name, row in part.get("ensembles", {}).items():
        values = [row[c] for c in classes]
        cells = " | ".join(f"{v:.1f}" for v in values)
        lines.append(
            f"| ensemble: mean z-score | {name} | {cells} | {statistics.mean(values):.1f} |"
        )
    if part.get("ensembles"):
        lines += ["", "An ensemble averages its scores after standardizing each by its "
                  "mean and std on the class's validation images (inliers the models did "
                  "not train on)."]  # fmt: skip
    seconds = sum(rows["seconds"] for rows in part["variants"].values())
    lines += ["", f"Training and scoring took {seconds / 60:.1f} minutes in all."]
    return lines


def ood_lines(part: dict) -> list[str]:
    lines = [
        "## Out-of-distribution inputs", "",
        f"A model (MLP 784-400-20) trained {part['epochs']} epochs on Fashion-MNIST; the first "
        f"{part['test_images']} test images are the inliers, each set below the outliers "
        f"(AUROC, K = {part['iw_samples']}). Digits: sklearn's 1,797 8x8 digits upscaled to "
        f"20x20 and centred by centre of mass in 28x28; noise: {NUM_OOD} images of U(0, 1) "
        f"pixels; constant: {NUM_OOD} images of one U(0, 1) grey level.", "",
        "| model | trained | outliers | " + " | ".join(FIGURES.values()) + " |",
        "|---|---|---|" + "---:|" * len(FIGURES),
    ]  # fmt: skip
    for variant, result in part["variants"].items():
        for name, row in result["rows"].items():
            cells = " | ".join(f"{row[f]:.3f}" if f in row else "-" for f in FIGURES)
            lines.append(f"| {variant} | {result['trained']} | {name} | {cells} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["probe", "oneclass", "ood"])
    parser.add_argument("--probe-epochs", type=int, default=5)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--oneclass-epochs", type=int, default=5)
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    parser.add_argument(
        "--oneclass-variants", nargs="+", choices=list(VARIANTS), default=list(ONE_CLASS_VARIANTS)
    )
    parser.add_argument("--ood-epochs", type=int, default=4)
    parser.add_argument("--iw-samples", type=int, default=10)
    parser.add_argument("--ood-limit", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=OUT_DIR / "representations.md")
    args = parser.parse_args()
    info = announce_run()
    payload, lines = {}, ["# Representations: linear probe, anomaly and OOD scores", ""]
    tmp = tempfile.TemporaryDirectory()
    canonical = None
    if "probe" in args.parts:
        canonical = Path(tmp.name) / "canonical"
        payload["probe"] = probe_part(args.probe_epochs, args.draws, canonical)
        lines += [*probe_lines(payload["probe"]), ""]
        write_results(args.out, lines, info, payload)  # each part as soon as it is done
    if "ood" in args.parts:
        payload["ood"] = ood_part(args.ood_epochs, args.iw_samples, args.ood_limit, canonical)
        lines += [*ood_lines(payload["ood"]), ""]
        write_results(args.out, lines, info, payload)
    if "oneclass" in args.parts:
        payload["one_class"] = one_class_part(
            args.oneclass_epochs, args.iw_samples, args.classes, args.oneclass_variants
        )
        lines += [*one_class_lines(payload["one_class"]), ""]
        write_results(args.out, lines, info, payload)
    tmp.cleanup()


if __name__ == "__main__":
    main()
