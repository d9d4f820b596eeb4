"""Semi-supervised Fashion-MNIST: test accuracy of M2 and M1+M2 (Kingma et al. 2014), few labels.

Every model row trains through the `vaekit` command line (in-process) for a fixed time
budget and is scored by `vaekit eval` on the real 10,000-image test split. Baselines use the
same labelled examples (the ones `--labels-per-class` keeps, seed 0): logistic regression on
raw pixels, and the M2 classifier network trained on the labels alone.

With --lock FILE, each training run holds an exclusive flock on FILE while it runs, so that
benchmarks sharing a machine (and taking the same lock) do not overlap with it.

    python -m benchmarks.semi_supervised            # every row (about 40 minutes, 2 cores)
    python -m benchmarks.semi_supervised --rows m2-100 baselines
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import io
import json
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression

from benchmarks.machine_info import announce_run, write_results
from vaekit.cli.main import main as vaekit_main
from vaekit.data import DataConfig, binarize_batch, load_data
from vaekit.models.m2 import M2Config, build_classifier

OUT_DIR = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"
DATA = "fashion-mnist"
M2_FLAGS = ["--model", "m2", "--latent-dim", "50", "--hidden-dims", "500", "500"]
M2_FLAGS += ["--batch-size", "100", "--lr", "1e-3", "--epochs", "1000", "--quiet"]
BINARY = ["--binarize", "dynamic"]
# name -> (what it shows, labels per class, extra flags, training seconds)
M2_ROWS = {
    "m2-100": ("M2, MLP classifier, binarized", 100, BINARY, 240),
    "m2-10": (
        "M2, MLP classifier, binarized, labelled x100",
        10,
        [*BINARY, "--labelled-repeats", "100"],
        240,
    ),
    "m2-100-conv": (
        "M2, conv classifier",
        100,
        [*BINARY, "--classifier-arch", "conv", "--conv-channels", "32", "64"],
        240,
    ),
    "m2-100-grey": (
        "M2, grey-level inputs (Bernoulli on [0, 1])",
        100,
        ["--likelihood", "bernoulli"],
        240,
    ),
    "m2-100-repeats": (
        "M2, labelled examples x10 per epoch",
        100,
        [*BINARY, "--labelled-repeats", "10"],
        240,
    ),
    "m2-100-alpha": (
        "M2, alpha x 3 (1.65 per labelled row)",
        100,
        [*BINARY, "--classifier-weight", "16.5"],
        240,
    ),
    "m2-100-balanced": (
        "M2, labelled examples x55 per epoch (as many labelled as unlabelled rows)",
        100,
        [*BINARY, "--labelled-repeats", "55"],
        240,
    ),
    "m2-100-grey-balanced": (
        "M2, grey-level inputs, labelled x55",
        100,
        ["--likelihood", "bernoulli", "--labelled-repeats", "55"],
        240,
    ),
    "m2-100-grey-balanced-conv": (
        "M2, grey-level inputs, labelled x55, conv classifier",
        100,
        [
            "--likelihood",
            "bernoulli",
            "--labelled-repeats",
            "55",
            "--classifier-arch",
            "conv",
            "--conv-channels",
            "32",
            "64",
        ],
        240,
    ),  # fmt: skip
    "m2-100-grey-balanced-conv-alpha": (
        "M2, grey-level inputs, labelled x55, conv classifier, alpha / 5 (1.1)",
        100,
        [
            "--likelihood",
            "bernoulli",
            "--labelled-repeats",
            "55",
            "--classifier-arch",
            "conv",
            "--conv-channels",
            "32",
            "64",
            "--classifier-weight",
            "1.1",
        ],
        240,
    ),  # fmt: skip
    "m2-100-grey-balanced-long": (
        "M2, grey-level inputs, labelled x55, 3.75x as long",
        100,
        ["--likelihood", "bernoulli", "--labelled-repeats", "55"],
        900,
    ),
    "m2-100-grey-balanced-conv-long": (
        "M2, grey-level inputs, labelled x55, conv classifier, 3.75x as long",
        100,
        [
            "--likelihood",
            "bernoulli",
            "--labelled-repeats",
            "55",
            "--classifier-arch",
            "conv",
            "--conv-channels",
            "32",
            "64",
        ],
        900,
    ),  # fmt: skip
    "m2-100-long": ("M2, MLP classifier, binarized, 1.5x as long", 100, BINARY, 360),
    "m2-100-conv-repeats": (
        "M2, conv classifier, labelled x10, 1.5x as long",
        100,
        [
            *BINARY,
            "--classifier-arch",
            "conv",
            "--conv-channels",
            "32",
            "64",
            "--labelled-repeats",
            "10",
        ],
        360,
    ),
}
M1_SECONDS = 150
M1M2_SECONDS = 120


@contextlib.contextmanager
def heavy_lock(path: Path | None):
    """Hold an exclusive flock on `path` (the lock `flock(1)` takes) for the block; no lock
    when path is None."""
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


BUSY_SECONDS = [0.0]  # seconds spent in vaekit commands, lock waits left out


def vaekit(argv: list[str], lock: Path | None) -> str:
    """Run one `vaekit` command in-process under the lock; its stdout. Raises on failure."""
    out = io.StringIO()
    with heavy_lock(lock), contextlib.redirect_stdout(out):
        started = time.perf_counter()
        code = vaekit_main(argv)
        BUSY_SECONDS[0] += time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"vaekit {' '.join(argv)} exited {code}")
    return out.getvalue()


def train_and_eval(run: Path, flags: list[str], seconds: float, lock: Path | None) -> dict:
    started = BUSY_SECONDS[0]
    argv = ["train", "--data", DATA, "--out", str(run), "--time-budget", str(seconds)]
    vaekit([*argv, *flags], lock)
    train_seconds = BUSY_SECONDS[0] - started
    report = json.loads(vaekit(["eval", str(run), "--json", "--quiet"], lock))
    epochs = len((run / "metrics.csv").read_text().splitlines()) - 1
    return {
        "accuracy": report["accuracy"],
        "test_elbo_nats": report["elbo_nats"],
        "train_seconds": train_seconds,
        "epochs": epochs,
    }


def labelled_data(per_class: int, binarize: str):
    data = load_data(DataConfig(source=DATA, binarize=binarize, labels_per_class=per_class))
    keep = data.train.y >= 0
    return data.train.x[keep], data.train.y[keep], data.test


def logistic_regression(per_class: int) -> float:
    """Raw grey-level pixels, sklearn's L2-regularized logistic regression (C = 1)."""
    x, y, test = labelled_data(per_class, "none")
    model = LogisticRegression(max_iter=2000).fit(x.flatten(1).numpy(), y.numpy())
    return float(model.score(test.x.flatten(1).numpy(), test.y.numpy()))


def classifier_alone(per_class: int, arch: str, steps: int = 1500, grey: bool = False) -> float:
    """The M2 classifier network (same widths) trained by Adam on cross-entropy of the
    labelled examples alone, dynamically binarized like M2's inputs (grey: the grey levels
    as they are, like the grey-level M2 rows); test accuracy."""
    x, y, test = labelled_data(per_class, "none" if grey else "dynamic")
    torch.manual_seed(0)
    config = M2Config(
        input_shape=tuple(x.shape[1:]), classifier_arch=arch, conv_channels=(32, 64), num_classes=10
    )
    net = build_classifier(config)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-4)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        index = torch.randint(x.shape[0], (100,), generator=generator)
        inputs = x[index] if grey else binarize_batch(x[index], generator=generator)
        loss = F.cross_entropy(net(inputs), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predictions = torch.cat(
            [net(test.x[i : i + 1000]).argmax(-1) for i in range(0, len(test), 1000)]
        )
    return float((predictions == test.y).double().mean())


def baselines(lock: Path | None) -> list[dict]:
    rows = []
    for per_class in (100, 10):
        with heavy_lock(lock):
            accuracy = logistic_regression(per_class)
            rows.append({"name": f"logistic regression, raw pixels, {per_class}/class",
                         "labels_per_class": per_class, "accuracy": accuracy})  # fmt: skip
            for arch in ("mlp", "conv"):
                rows.append({"name": f"{arch} classifier on the labels alone, {per_class}/class",
                             "labels_per_class": per_class,
                             "accuracy": classifier_alone(per_class, arch)})  # fmt: skip
        print(rows[-3:], flush=True)
    return rows


def grey_baselines(lock: Path | None) -> list[dict]:
    rows = []
    for per_class in (100, 10):
        with heavy_lock(lock):
            rows.append({"name": f"mlp classifier on the labels alone, grey inputs, "
                         f"{per_class}/class", "key": f"grey-baseline-{per_class}",
                         "labels_per_class": per_class,
                         "accuracy": classifier_alone(per_class, "mlp", grey=True)})  # fmt: skip
    return rows


def m1_plus_m2(folder: Path, lock: Path | None, scale: float, repeats: int = 1) -> dict:
    """M1 (a VAE, latent 50, on grey levels) then M2 on its posterior means, 100/class, each
    labelled example `repeats` times per epoch."""
    m1, latents, m2 = folder / "m1", folder / "latents.npz", folder / f"m1m2-{repeats}"
    started = BUSY_SECONDS[0]
    m1_argv = ["train", "--data", DATA, "--out", str(m1), "--latent-dim", "50", "--hidden-dims",
               "600", "600", "--likelihood", "bernoulli", "--epochs", "1000", "--time-budget",
               str(M1_SECONDS * scale), "--quiet"]  # fmt: skip
    argv = ["train", "--data", str(latents), "--model", "m2", "--labels-per-class", "100",
            "--out", str(m2), "--latent-dim", "50", "--hidden-dims", "500",
            "--classifier-hidden-dims", "500", "--batch-size", "100", "--lr", "1e-3",
            "--no-linear-skip", "--early-stopping-patience", "1000", "--epochs", "1000",
            "--time-budget", str(M1M2_SECONDS * scale), "--quiet",
            "--labelled-repeats", str(repeats)]  # fmt: skip
    if not m1.exists():  # M1 is shared by the stacking rows of one benchmark run
        vaekit(m1_argv, lock)
        vaekit(["encode", str(m1), "--split", "all", "--out", str(latents)], lock)
    vaekit(argv, lock)
    report = json.loads(vaekit(["eval", str(m2), "--json", "--quiet"], lock))
    return {
        "name": "M1+M2 (M2 on M1's 50-d posterior means)"
        + ("" if repeats == 1 else f", labelled x{repeats}"),
        "key": "m1m2" if repeats == 1 else f"m1m2-x{repeats}",
        "labels_per_class": 100,
        "accuracy": report["accuracy"],
        "train_seconds": BUSY_SECONDS[0] - started,
        "budget_seconds": M1_SECONDS + M1M2_SECONDS,
    }


def m2_row(name: str, folder: Path, lock: Path | None, scale: float) -> dict:
    what, per_class, flags, seconds = M2_ROWS[name]
    flags = [*M2_FLAGS, "--labels-per-class", str(per_class), *flags]
    result = train_and_eval(folder / name, flags, seconds * scale, lock)
    row = {"name": what, "key": name, "labels_per_class": per_class, "flags": flags, **result}
    return {**row, "budget_seconds": seconds * scale}


def result_lines(rows: list[dict]) -> list[str]:
    lines = [
        "# Semi-supervised Fashion-MNIST: M2 and M1+M2",
        "",
        "Test accuracy on the 10,000 Fashion-MNIST test images; the labelled examples are "
        "the ones `vaekit train --labels-per-class K` keeps (seed 0), the other training "
        "labels hidden. Model rows train for a fixed time budget on this machine (see below) "
        "with `--batch-size 100 --lr 1e-3`, M2 with 2x500 MLPs and a 50-d latent, alpha = "
        "0.1 N / N_labelled unless the row says otherwise. Rows ran at different times, "
        "some while other jobs shared the two cores: the epochs column shows how far each "
        "got in its budget. Generated by `benchmarks/semi_supervised.py`.",
        "",
        "| row | labels/class | test accuracy | time budget s | epochs (the last cut short) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        budget = row.get("budget_seconds") or M2_ROWS.get(row.get("key"), (0, 0, 0, None))[3]
        seconds = "" if budget is None else f"{budget:.0f}"
        lines.append(
            f"| {row['name']} | {row['labels_per_class']} | {100 * row['accuracy']:.2f} % "
            f"| {seconds} | {row.get('epochs', '')} |"
        )
    return lines


def main() -> None:
    global DATA  # --data replaces the dataset of every row (a quick check on digits)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # in order of importance, so that a run cut short still has the main rows
    choices = ["m2-100", "baselines", "m2-10", "m2-100-conv-repeats", "m1m2", "m1m2-x55"]
    choices += ["baselines-grey"]
    choices += [name for name in M2_ROWS if name not in choices]
    parser.add_argument("--rows", nargs="+", default=choices, choices=choices)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default=DATA, help="another dataset, for a quick check")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="multiply every time budget (smoke tests)"
    )
    parser.add_argument("--lock", type=Path, default=None, help="flock this file per run")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "semi_supervised.md")
    parser.add_argument(
        "--append", action="store_true", help="keep the rows of the existing --out .json first"
    )
    args = parser.parse_args()
    DATA = args.data
    torch.set_num_threads(args.threads)
    info = announce_run()
    rows: list[dict] = []  # this run's rows
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in args.rows:
            if name == "baselines":
                rows += baselines(args.lock)
            elif name == "baselines-grey":
                rows += grey_baselines(args.lock)
            elif name.startswith("m1m2"):
                repeats = int(name.partition("-x")[2] or 1)
                rows.append(m1_plus_m2(folder, args.lock, args.time_scale, repeats))
            else:
                rows.append(m2_row(name, folder, args.lock, args.time_scale))
            print(rows[-1], flush=True)
            table = merged(args.out, rows) if args.append else rows
            write_results(args.out, result_lines(table), info, {"rows": table})


def merged(out: Path, rows: list[dict]) -> list[dict]:
    """The rows in `out`'s .json as it is now (another run may have added some), each row
    of this run replacing the one with its key in place, the others appended."""
    path = out.with_suffix(".json")
    table = json.loads(path.read_text())["rows"] if path.exists() else []
    mine = {row.get("key", row["name"]): row for row in rows}
    table = [mine.pop(row.get("key", row["name"]), row) for row in table]
    return table + list(mine.values())


if __name__ == "__main__":
    main()
