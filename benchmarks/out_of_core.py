"""Out-of-core data: peak memory of `vaekit train` and `vaekit eval` on a 1.5 GB uint8 .npy.

Two .npy files of 28x28 uint8 images are written to a temporary folder (deleted at the end):
a large one of at least 1.5 GB, which `vaekit train` memory-maps (DataConfig.memory_map
auto: 64 MiB and more), and a small one of 10 MB, which it reads into memory as it always
did. Their images are Fashion-MNIST training images repeated (random pixels where
Fashion-MNIST is not installed). Each file is trained on for one epoch by the CLI in a
subprocess, exactly as a user would run it (a small MLP, dynamic binarization, large
batches), which reads the train and validation splits; then `vaekit eval` scores the test
split, which reads the rest of the file. Peak memory is the child's own peak RSS
(os.wait4's ru_maxrss, file-backed pages included), plus the largest anonymous and
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
IMAGE_BYTES = 28 * 28
SMALL_BYTES = 10_000_000
GOAL_MIB = 300  # the large run may use at most this much more memory than the small one
TRAIN_FLAGS = ["--epochs", "1", "--arch", "mlp", "--hidden-dims", "64", "--latent-dim", "16",
               "--binarize", "dynamic", "--batch-size", "1024", "--threads", "2"]  # fmt: skip
EVAL_FLAGS = ["--batch-size", "1000", "--threads", "2", "--json", "--quiet"]
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


def write_npy(path: Path, num_images: int, images: np.ndarray) -> None:
    """A (num_images, 1, 28, 28) uint8 .npy of `images` repeated, written in chunks (file
    writes, not a map, so this process's memory stays small)."""
    header = {"descr": "|u1", "fortran_order": False, "shape": (num_images, 1, 28, 28)}
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        for start in range(0, num_images, CHUNK):
            stop = min(start + CHUNK, num_images)
            handle.write(images[np.arange(start, stop) % len(images)].tobytes())


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


def run_dataset(folder: Path, name: str, num_images: int, images: np.ndarray) -> dict:
    path = folder / f"{name}.npy"
    write_npy(path, num_images, images)
    run = folder / f"run_{name}"
    row = {"dataset": name, "images": num_images, "file_mb": path.stat().st_size / 1e6}
    print(f"{name}: {num_images} images, {row['file_mb']:.0f} MB; training one epoch", flush=True)
    train = ["train", "--data", str(path), *TRAIN_FLAGS, "--out", str(run)]
    row["train"] = measure(train, folder / f"{name}_train.log")
    print(f"  train: {row['train']}", flush=True)
    evaluate = ["eval", str(run), "--split", "test", *EVAL_FLAGS]
    row["eval"] = measure(evaluate, folder / f"{name}_eval.log")
    print(f"  eval:  {row['eval']}", flush=True)
    path.unlink()
    return row


def result_lines(rows: list[dict], what: str) -> list[str]:
    small, large = rows
    lines = [
        "# Datasets larger than memory",
        "",
        f"`vaekit train` and `vaekit eval` on a {large['file_mb'] / 1000:.2f} GB uint8 .npy file "
        f"({large['images']:,} images of 28×28; {what}), memory-mapped, against the same "
        f"commands on a {small['file_mb']:.0f} MB file ({small['images']:,} images) read into "
        "memory. Train: one epoch (70% of the file; validation reads another 10%), a "
        "784-64-16 MLP VAE, dynamic binarization, batch 1024, 2 threads. Eval: the test "
        "split (a random 20% of the rows), one-sample ELBO, batch 1000. Memory is each child "
        "process's peak RSS (os.wait4), file-backed pages of the map included; the anonymous and "
        "file-backed peaks come from polling /proc every 0.1 s.",
        "",
        "| command | file | wall time (s) | peak RSS (MiB) | peak anonymous (MiB) "
        "| peak file-backed (MiB) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for command in ("train", "eval"):
        for row in rows:
            m = row[command]
            lines.append(
                f"| {command} | {row['file_mb']:.0f} MB | {m['seconds']:.0f} | "
                f"{m['peak_rss_mib']:.0f} | {m['peak_anon_mib']:.0f} | {m['peak_file_mib']:.0f} |"
            )
    lines.append("")
    for command in ("train", "eval"):
        extra = large[command]["peak_rss_mib"] - small[command]["peak_rss_mib"]
        verdict = "met" if extra < GOAL_MIB else "missed"
        lines.append(
            f"- {command}: the {large['file_mb'] / 1000:.2f} GB file takes {extra:+.0f} MiB of "
            f"peak RSS against the {small['file_mb']:.0f} MB one (goal: under +{GOAL_MIB} "
            f"MiB; {verdict})."
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.5, help="size of the large file")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    images, what = source_images()
    large_images = int(np.ceil(args.gigabytes * 1e9 / IMAGE_BYTES))
    with tempfile.TemporaryDirectory(prefix="vaekit_out_of_core_") as tmp:
        rows = [
            run_dataset(Path(tmp), "small", SMALL_BYTES // IMAGE_BYTES, images),
            run_dataset(Path(tmp), "large", large_images, images),
        ]
    from benchmarks.machine_info import announce_run, write_results  # torch: only now

    info = announce_run()
    write_results(args.out, result_lines(rows, what), info, {"rows": rows, "goal_mib": GOAL_MIB})


if __name__ == "__main__":
    main()
