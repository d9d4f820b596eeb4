"""How a benchmark ran: command, versions, threads, processor. Printed and written with results."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

import vaekit


def processor_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def command_line() -> str:
    """The command as typed from the repository root (`python -m benchmarks.NAME ...`), so
    that results do not record the checkout's absolute path."""
    script = Path(sys.argv[0])
    if script.suffix == ".py" and script.parent.name == "benchmarks":
        return shlex.join(["python", "-m", f"benchmarks.{script.stem}", *sys.argv[1:]])
    return shlex.join([os.path.basename(sys.executable), *sys.argv])


def run_description() -> dict[str, str]:
    return {
        "command": command_line(),
        "vaekit": vaekit.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": str(torch.get_num_threads()),
        "cpu": f"{processor_name()} ({os.cpu_count()} logical cores visible)",
        "machine": f"{platform.system()} {platform.machine()}",
    }


def announce_run() -> dict[str, str]:
    """Print the run's description (command, versions, machine) and return it."""
    info = run_description()
    print("\n".join(f"{k}: {v}" for k, v in info.items()), flush=True)
    return info


def markdown_block(info: dict[str, str]) -> str:
    return "\n".join(f"- {key}: `{value}`" for key, value in info.items())


def write_results(out: Path, lines: list[str], info: dict[str, str], payload: dict) -> None:
    """Write out (markdown: lines + how this was run) and out.json (payload + run info)."""
    text = [*lines, "", "## How this was run", "", markdown_block(info), ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(text))
    out.with_suffix(".json").write_text(json.dumps({"run": info, **payload}, indent=2) + "\n")
    print(f"wrote {out}")
