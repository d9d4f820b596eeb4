"""Whole-run speed: `vaekit train` end to end against the textbook script, each its own process.

A user times the whole command, not the steps: start-up, data loading, validation,
checkpoints and the end-of-run pictures count. Each round runs the textbook script
(`python -m benchmarks.textbook_vae`: the canonical MLP VAE, DataLoader, torch.bernoulli,
Adam, no evaluation) and `vaekit train` on the canonical model, one after the other, as
separate processes; rounds are interleaved so that a neighbour's load falls on both. The
figure is the median of the per-round ratios of wall times (textbook / vaekit). vaekit's
wall time is broken down from the run's timings.json; the interpreter's start and the exit
are what the parent's clock sees around it. --baseline SRC adds a row for another vaekit
source tree (e.g. an older checkout's src/), to price the changes between the two.
--levers adds a row per speed lever of benchmarks/whole_run_levers.py: vaekit's sources with
that lever alone turned off, so each lever's share of the whole run is measured in the same
rounds.

    python -m benchmarks.whole_run                     # 10 epochs, 3 rounds
    python -m benchmarks.whole_run --levers            # and one row per lever turned off
    python -m benchmarks.whole_run --epochs 1 --rounds 1   # quick look
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine_info import announce_run, write_results
from benchmarks.whole_run_levers import LEVERS, sources_without

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "benchmarks" / "whole_run.md"
CANONICAL = ["--data", "fashion-mnist", "--binarize", "dynamic", "--latent-dim", "20",
             "--hidden-dims", "400", "--batch-size", "128", "--lr", "1e-3"]  # fmt: skip
PHASES = ("interpreter", "start-up", "data", "setup", "steps", "validation", "checkpoints",
          "fit other", "pictures", "exit")  # fmt: skip


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run `command` to completion; (wall seconds, unix time just before the spawn)."""
    spawned = time.time()
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - started, spawned


def run_textbook(args) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "benchmarks.textbook_vae", "--epochs", str(args.epochs),
               "--threads", str(args.threads)]  # fmt: skip
    wall, _ = timed(command, env)
    return {"wall_seconds": wall}


def run_vaekit(args, src: Path) -> dict:
    """`vaekit train` from the sources in `src`, into a fresh run directory."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        command = [sys.executable, "-m", "vaekit.cli.main", "train", *CANONICAL,
                   "--epochs", str(args.epochs), "--threads", str(args.threads), "--quiet",
                   "--out", str(out)]  # fmt: skip
        wall, spawned = timed(command, env)
        row = {"wall_seconds": wall}
        timings = out / "timings.json"
        if timings.is_file():  # a tree without timings.json (an older one) gives no breakdown
            row["phases"] = breakdown(json.loads(timings.read_text()), wall, spawned)
        row["val_elbo_nats"] = final_val_elbo(out / "metrics.csv")
        row["precision"] = json.loads((out / "config.json").read_text())["train"]["precision"]
    return row


def final_val_elbo(metrics: Path) -> float:
    """The last epoch's validation ELBO (nats per image) from a run's metrics.csv: what the
    run's speed bought, so that a faster row cannot hide a worse model."""
    with metrics.open(newline="") as f:
        return float(list(csv.DictReader(f))[-1]["val_elbo_nats"])


def quality(rounds: list[dict], name: str) -> str:
    """'-242.83 (bf16)': the median final validation ELBO over rounds and the precision."""
    values = [r[name]["val_elbo_nats"] for r in rounds if "val_elbo_nats" in r[name]]
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({rounds[0][name].get('precision', '?')})"


def breakdown(timings: dict, wall: float, spawned: float) -> dict[str, float]:
    """Phase -> seconds, adding up to the wall time: timings.json's phases, the interpreter's
    start before the command's entry, and the exit after timings.json was written."""
    phases = {"interpreter": timings["command_started_unix"] - spawned, **timings["seconds"]}
    phases["exit"] = wall - phases["interpreter"] - timings["total_seconds"]
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another vaekit source tree (its src/) to time as well")  # fmt: skip
    parser.add_argument("--levers", action="store_true",
                        help="also time vaekit with each speed lever turned off")  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    info = announce_run()
    systems = {"textbook script": lambda: run_textbook(args)}
    if args.baseline is not None:
        systems["vaekit train (baseline)"] = lambda: run_vaekit(args, args.baseline.resolve())
    systems["vaekit train"] = lambda: run_vaekit(args, ROOT / "src")
    with tempfile.TemporaryDirectory() as copies:
        stale = []
        if args.levers:
            for index, lever in enumerate(LEVERS):
                src = sources_without(lever, ROOT / "src", Path(copies) / str(index))
                if src is None:
                    stale.append(lever.name)
                    print(f"lever {lever.name!r}: its text is no longer in the sources; "
                          "not timed", flush=True)  # fmt: skip
                    continue
                systems[lever_row(lever.name)] = lambda src=src: run_vaekit(args, src)
        rounds = []
        for index in range(args.rounds):
            row = {}
            for name, run in systems.items():
                row[name] = run()
                print(f"round {index + 1}: {name}: {row[name]['wall_seconds']:.2f} s",
                      flush=True)  # fmt: skip
            rounds.append(row)
    write_report(args, info, list(systems), rounds, stale)


def lever_row(name: str) -> str:
    return f"vaekit train without {name}"


def write_report(
    args, info, systems: list[str], rounds: list[dict], stale: list[str] | None = None
) -> None:
    walls = {name: [r[name]["wall_seconds"] for r in rounds] for name in systems}
    ratios = {name: [t / w for t, w in zip(walls["textbook script"], walls[name])]
              for name in systems}  # fmt: skip
    baseline = "" if args.baseline is None else (
        " `vaekit train (baseline)` is the same command run from another source tree "
        "(`--baseline`), to price the changes since." )  # fmt: skip
    lines = [
        "# Whole-run speed: `vaekit train` against the textbook script",
        "",
        f"Canonical MLP VAE ([benchmark protocol](README.md)) on binarized Fashion-MNIST "
        f"(55,000 training images, dynamic binarization), batch 128, Adam 1e-3, "
        f"{args.epochs} epochs, {args.threads} threads. Each system is its own process, timed "
        "from spawn to exit by the parent: the textbook script "
        "(`python -m benchmarks.textbook_vae`: reads the IDX file, DataLoader, "
        "torch.bernoulli, Adam, no evaluation, writes nothing) and `vaekit train` with the "
        "canonical flags and its defaults otherwise (validation every epoch, checkpoints, "
        "metrics.csv, the end-of-run pictures and report.md; `--precision auto`, whose choice "
        "the last column names beside the last epoch's validation ELBO, so that speed "
        f"cannot hide a worse model). {args.rounds} interleaved rounds; the ratio is the median "
        f"of the per-round ratios (textbook / vaekit).{baseline} vaekit's cache of the "
        "decoded IDX files is warm, as on any run after a user's first. The machine is shared: "
        "other work may run beside a round. Written by `benchmarks/whole_run.py`; do not edit "
        "by hand.",
        "",
        "| system | median wall time (s) | ratio to textbook (median of rounds) "
        "| per-round ratios | final validation ELBO, nats (precision) |",
        "|---|---|---|---|---|",
    ]
    main_systems = systems[: systems.index("vaekit train") + 1]
    for name in main_systems:
        per_round = ", ".join(f"{r:.2f}x" for r in ratios[name])
        lines.append(f"| {name} | {statistics.median(walls[name]):.2f} | "
                     f"{statistics.median(ratios[name]):.2f}x | {per_round} | "
                     f"{quality(rounds, name)} |")  # fmt: skip
    lines += phase_table(main_systems, rounds)
    lines += lever_table(systems, rounds, stale or [])
    payload = {"epochs": args.epochs, "threads": args.threads, "rounds": rounds,
               "median_ratio": {n: statistics.median(ratios[n]) for n in systems},
               "stale_levers": stale or []}  # fmt: skip
    write_results(args.out, lines, info, payload)


def lever_table(systems: list[str], rounds: list[dict], stale: list[str]) -> list[str]:
    """One row per lever: what vaekit's wall time becomes with it turned off, and the
    seconds it saves (median of the per-round differences, same round, same machine)."""
    levers = [lever for lever in LEVERS if lever_row(lever.name) in systems]
    if not levers and not stale:
        return []
    lines = ["", "## What each lever buys", "",
             "Each row is vaekit's own sources with one lever turned off "
             "(`benchmarks/whole_run_levers.py` holds the edit), timed in the same rounds. "
             "Saved: the median over rounds of (wall time without the lever - vaekit's wall "
             "time); a figure within about half a second of zero is inside this shared "
             "machine's noise.", "",
             "| lever | what it does | wall time without it (s) | saved (s) | per round (s) "
             "| ratio to textbook without it | final validation ELBO without it, nats "
             "(precision) |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for lever in levers:
        name = lever_row(lever.name)
        walls = [r[name]["wall_seconds"] for r in rounds]
        saved = [r[name]["wall_seconds"] - r["vaekit train"]["wall_seconds"] for r in rounds]
        ratio = statistics.median(r["textbook script"]["wall_seconds"] / r[name]["wall_seconds"]
                                  for r in rounds)  # fmt: skip
        lines.append(f"| {lever.name} | {lever.what} | {statistics.median(walls):.2f} | "
                     f"{statistics.median(saved):+.2f} | "
                     f"{', '.join(f'{s:+.2f}' for s in saved)} | {ratio:.2f}x | "
                     f"{quality(rounds, name)} |")  # fmt: skip
    for name in stale:
        lines.append(f"| {name} | its edit no longer matches the sources: not timed | - | - "
                     "| - | - | - |")  # fmt: skip
    return lines


def phase_table(systems: list[str], rounds: list[dict]) -> list[str]:
    """Where vaekit's wall time goes: median seconds of each phase over the rounds."""
    lines = []
    for name in systems:
        rows = [r[name]["phases"] for r in rounds if "phases" in r[name]]
        if not rows:
            continue
        lines += ["", f"Where the wall time of `{name}` goes (median over rounds, seconds; "
                  "interpreter: spawn to the command's entry; start-up: importing torch and "
                  "the command; steps: the training steps; checkpoints: checkpoint and "
                  "metrics.csv writes; fit other: the rest of fit(), the optimizer's "
                  "construction among it; pictures: the end-of-run pictures and report.md; "
                  "exit: after timings.json to the process's end):", "",
                  "| phase | seconds | share of wall time |", "|---|---|---|"]  # fmt: skip
        wall = statistics.median(r[name]["wall_seconds"] for r in rounds)
        for phase in PHASES:
            seconds = statistics.median(row.get(phase, 0.0) for row in rows)
            lines.append(f"| {phase} | {seconds:.2f} | {100 * seconds / wall:.0f}% |")
    return lines


if __name__ == "__main__":
    main()
