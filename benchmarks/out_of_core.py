"""Out-of-core data: peak memory of `vaekit train`, `eval` and `encode` on 1.5 GB .npy files.

Two kinds of data, each as two .npy files written to a temporary folder (deleted at the end):
28x28 uint8 images (Fashion-MNIST training images repeated; random pixels where
Fashion-MNIST is not installed) and a float64 table of 13 columns (scikit-learn's wine
table repeated, read from its CSV; two of its columns hold integers, which are dequantized).
A large file of at least 1.5 GB, which `vaekit train` memory-maps (DataConfig.memory_map
auto: 64 MiB and more), and a small one of 10 MB, which it reads into memory as it always
did. Each file is trained on for one epoch by the CLI in a subprocess, exactly as a user
would run it (a small MLP, large batches), which reads the train and validation splits (the
table's column statistics too); then `vaekit eval` scores the test split, which reads the
rest of the file, and `vaekit encode` writes its posterior means. Peak memory is the child's
own peak RSS (os.wait4's ru_maxrss, file-backed pages included), plus the largest anonymous and
file-backed parts seen by polling /proc/PID/status every 0.1 s. A child's ru_maxrss counts
the memory of the process it was started from, so this script stays small until the
measurements are done: it reads the IDX file and writes the .npy files with plain numpy and
file writes, and imports torch (machine_info) only afterwards.

    python -m benchmarks.out_of_core                      # the figures in docs/benchmarks/
    python -m benchmarks.out_of_core --gigabytes 0.2 --out /tmp/o.md   # a quick look
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "out_of_core.md"
FMNIST = Path("/usr/share/datasets/fashion-mnist")
SMALL_BYTES = 10_000_000
GOAL_MIB = 300  # the large run may use at most this much more memory than the small one
COMMON_TRAIN_FLAGS = ["--epochs", "1", "--arch", "mlp", "--hidden-dims", "64",
                      "--batch-size", "1024", "--threads", "2"]  # fmt: skip
TRAIN_FLAGS = {
    "images": [*COMMON_TRAIN_FLAGS, "--latent-dim", "16", "--binarize", "dynamic"],
    "table": [*COMMON_TRAIN_FLAGS, "--latent-dim", "4"],
}
EVAL_FLAGS = ["--batch-size", "1000", "--threads", "2", "--json", "--quiet"]
ENCODE_FLAGS = ["--split", "test", "--batch-size", "1000", "--threads", "2"]
COMMANDS = ("train", "eval", "encode")
CHUNK = 65_536


def source_images() -> tuple[np.ndarray, str]:
    """(N, 1, 28, 28) uint8 images to repeat, and what they are."""
    idx = FMNIST / "train-images-idx3-ubyte.gz"
    if idx.is_file():  # IDX: a 16-byte header (magic, count, rows, columns), then the pixels
        with gzip.open(idx) as handle:
            pixels = np.frombuffer(handle.read(), dtype=np.uint8, offset=16)
        return pixels.reshape(-1, 1, 28, 28), "Fashion-MNIST training images repeated"
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (60_000, 1, 28, 28), dtype=np.uint8), "random pixels"


def source_table() -> tuple[np.ndarray, str]:
    """(178, 13) float64 rows of scikit-learn's wine table, read from the CSV it ships
    (found without importing scikit-learn, which would enlarge this process)."""
    package = Path(importlib.util.find_spec("sklearn").origin).parent
    rows = np.loadtxt(package / "datasets" / "data" / "wine_data.csv", delimiter=",", skiprows=1)
    return rows[:, :13], "scikit-learn's wine table (13 columns) repeated"


def write_npy(path: Path, num_rows: int, rows: np.ndarray) -> None:
    """A (num_rows, *rows.shape[1:]) .npy of `rows` repeated, written in chunks (file writes,
    not a map, so this process's memory stays small)."""
    descr = np.lib.format.dtype_to_descr(rows.dtype)
    header = {"descr": descr, "fortran_order": False, "shape": (num_rows, *rows.shape[1:])}
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        for start in range(0, num_rows, CHUNK):
            stop = min(start + CHUNK, num_rows)
            handle.write(rows[np.arange(start, stop) % len(rows)].tobytes())


def _poll(pid: int, peaks: dict[str, int], done: threading.Event) -> None:
    """Largest RssAnon, RssFile and VmHWM (the kernel's peak RSS since exec) of
    /proc/pid/status, in kB, until done."""
    while not done.is_set():
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    key, _, value = line.partition(":")
                    if key in ("RssAnon", "RssFile", "VmHWM"):
                        peaks[key] = max(peaks.get(key, 0), int(value.split()[0]))
        except (OSError, ValueError):
            pass
        time.sleep(0.1)


def measure(args: list[str], log: Path) -> dict[str, float]:
    """Run `vaekit ARGS` in a child; its wall time and memory peaks in MiB."""
    start = time.perf_counter()
    with open(log, "w") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "vaekit.cli.main", *args], stdout=output, stderr=output
        )
        peaks: dict[str, int] = {}
        done = threading.Event()
        poller = threading.Thread(target=_poll, args=(child.pid, peaks, done), daemon=True)
        poller.start()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        poller.join()
    if child.returncode != 0:
        raise SystemExit(f"vaekit {' '.join(args)} failed:\n{log.read_text()[-2000:]}")
    return {
        "seconds": time.perf_counter() - start,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "polled_hwm_mib": peaks.get("VmHWM", 0) / 1024,
        "peak_anon_mib": peaks.get("RssAnon", 0) / 1024,
        "peak_file_mib": peaks.get("RssFile", 0) / 1024,
    }


def run_dataset(folder: Path, kind: str, size: str, num_rows: int, rows: np.ndarray) -> dict:
    """Write the file, then train, eval and encode on it; a row of measurements."""
    path = folder / f"{kind}_{size}.npy"
    write_npy(path, num_rows, rows)
    run = folder / f"run_{kind}_{size}"
    row = {"kind": kind, "size": size, "rows": num_rows, "file_mb": path.stat().st_size / 1e6}
    print(f"{kind}, {size}: {num_rows} rows, {row['file_mb']:.0f} MB", flush=True)
    commands = {
        "train": ["train", "--data", str(path), *TRAIN_FLAGS[kind], "--out", str(run)],
        "eval": ["eval", str(run), "--split", "test", *EVAL_FLAGS],
        "encode": ["encode", str(run), *ENCODE_FLAGS, "--out", str(folder / "latents.npz")],
    }
    for command in COMMANDS:
        row[command] = measure(commands[command], folder / f"{kind}_{size}_{command}.log")
        print(f"  {command}: {row[command]}", flush=True)
    path.unlink()
    return row


def result_lines(rows: list[dict], sources: dict[str, str]) -> list[str]:
    large = {row["kind"]: row for row in rows if row["size"] == "large"}
    small = {row["kind"]: row for row in rows if row["size"] == "small"}
    images, table = large["images"], large["table"]
    lines = [
        "# Datasets larger than memory",
        "",
        f"`vaekit train`, `vaekit eval` and `vaekit encode` on two .npy files of about "
        f"{images['file_mb'] / 1000:.1f} GB, memory-mapped: {images['rows']:,} uint8 images "
        f"of 28×28 ({sources['images']}) and a float64 table of {table['rows']:,} rows "
        f"({sources['table']}). Each is compared with the same commands on a "
        f"{small['images']['file_mb']:.0f} MB file of the same kind, read into memory. "
        "Train: one epoch (70% of the file; validation reads another 10%; the table's "
        "column statistics read the training rows twice more), an MLP VAE with one hidden "
        "layer of 64 (16 latents, dynamic binarization for the images; 4 latents, Gaussian "
        "likelihood and dequantized integer columns for the table), batch 1024, 2 threads. "
        "Eval: the test split (a random 20% of the rows), one-sample ELBO, batch 1000. "
        "Encode: posterior means and log-variances of the test split to an .npz (an output "
        "that grows with the split: 2 x latents x 4 bytes a row). Memory is each child "
        "process's peak RSS (os.wait4), file-backed pages of the map included; the anonymous "
        "and file-backed peaks come from polling /proc every 0.1 s.",
        "",
        "| data | command | file | wall time (s) | peak RSS (MiB) | peak anonymous (MiB) "
        "| peak file-backed (MiB) |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        for command in COMMANDS:
            m = row[command]
            lines.append(
                f"| {row['kind']} | {command} | {row['file_mb']:.0f} MB | {m['seconds']:.0f} | "
                f"{m['peak_rss_mib']:.0f} | {m['peak_anon_mib']:.0f} | {m['peak_file_mib']:.0f} |"
            )
    lines.append("")
    for kind, big in large.items():
        for command in COMMANDS:
            extra = big[command]["peak_rss_mib"] - small[kind][command]["peak_rss_mib"]
            verdict = "met" if extra < GOAL_MIB else "missed"
            lines.append(
                f"- {kind}, {command}: the {big['file_mb'] / 1000:.2f} GB file takes "
                f"{extra:+.0f} MiB of peak RSS against the {small[kind]['file_mb']:.0f} MB one "
                f"(goal: under +{GOAL_MIB} MiB; {verdict})."
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.5, help="size of the large files")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    images, image_source = source_images()
    table, table_source = source_table()
    data = {"images": images, "table": table}
    rows = []
    with tempfile.TemporaryDirectory(prefix="vaekit_out_of_core_") as tmp:
        for kind, values in data.items():
            row_bytes = values[0].nbytes
            sizes = {"small": SMALL_BYTES, "large": int(np.ceil(args.gigabytes * 1e9))}
            for size, num_bytes in sizes.items():
                num_rows = int(np.ceil(num_bytes / row_bytes))
                rows.append(run_dataset(Path(tmp), kind, size, num_rows, values))
    from benchmarks.machine_info import announce_run, write_results  # torch: only now

    info = announce_run()
    sources = {"images": image_source, "table": table_source}
    write_results(args.out, result_lines(rows, sources), info, {"rows": rows, "goal_mib": GOAL_MIB})


if __name__ == "__main__":
    main()
