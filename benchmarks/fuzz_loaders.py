"""Fuzz vaekit's loaders with atheris (libFuzzer): inputs tried and crashes per loader.

Each target runs in its own subprocess for a time budget, mutating a corpus of valid small
files. A crash is an input on which the loader raised anything but a VaekitError with a
one-line message, returned an invalid result, hung past -timeout, or ran out of memory (the
address space is capped, so a huge allocation fails as MemoryError or torch's RuntimeError).
After a hang or an out-of-memory kill the target restarts for the rest of its budget.

    python -m benchmarks.fuzz_loaders --seconds-per-target 60      # the table in docs/
    python -m benchmarks.fuzz_loaders --seconds-per-target 10 --targets idx csv
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "benchmarks" / "reliability.md"
# gzip and zipfile are imported only inside the instrumentation (importlib.metadata would
# import zipfile early), so libFuzzer sees coverage of the stdlib parsers the loaders use too.
INSTRUMENTED = ["vaekit", "zipfile", "gzip", "PIL"]
ADDRESS_SPACE_HEADROOM = 3 << 30
LIBFUZZER_FLAGS = ["-timeout=10", "-rss_limit_mb=4096", "-max_len=4096"]
JSON_TOKENS = (
    *("model", "config", "name", "vae", "ae", "format_version", "weights_sha256"),
    *("input_shape", "latent_dim", "hidden_dims", "conv_channels", "arch", "conv", "lr"),
    *("shape", "kind", "feature_mean", "levels", "source", "binarize", "seed", "beta"),
)
JSON_LITERALS = ("null", "true", "[]", "{}", "1e400", "-1", "NaN", "99999999999999999999")


class InvalidResultError(Exception):
    """A loader returned, but what it returned breaks its documented contract."""


# ---- child process: one target under libFuzzer ----------------------------------------


def import_loaders() -> SimpleNamespace:
    """The code under test, imported inside atheris' instrumentation so coverage guides it."""
    import gzip
    import zipfile  # noqa: F401  (numpy's .npz reader uses it)

    import PIL.Image
    import PIL.PngImagePlugin  # noqa: F401  (instrument the PNG parser too)
    import torch

    import vaekit.data.idx
    import vaekit.models
    import vaekit.training
    from vaekit.data import DataConfig, DataSpec, load_data
    from vaekit.errors import VaekitError

    return SimpleNamespace(
        torch=torch, gzip=gzip, image=PIL.Image, read_idx=vaekit.data.idx.read_idx,
        load_data=load_data, DataConfig=DataConfig, DataSpec=DataSpec, VaekitError=VaekitError,
        models=vaekit.models, TrainConfig=vaekit.training.TrainConfig,
    )  # fmt: skip


def expect_contract(lib: SimpleNamespace, call: Callable[[], Any]) -> Any:
    """call()'s result, or None for a VaekitError with a one-line message; else it raises."""
    try:
        return call()
    except lib.VaekitError as err:
        if not str(err) or "\n" in str(err):
            raise InvalidResultError(f"{type(err).__name__} message is not one line") from err
        return None


def check_splits(splits: Any) -> None:
    if splits is None:
        return
    for split in (splits.train, splits.val, splits.test):
        if tuple(split.x.shape[1:]) != splits.spec.shape:
            raise InvalidResultError(f"split {tuple(split.x.shape)} for spec {splits.spec.shape}")
        if not bool(split.x.isfinite().all()):
            raise InvalidResultError("non-finite values in a loaded split")
        if split.y is not None and int(split.y.min()) < 0:
            raise InvalidResultError("negative label in a loaded split")


def npy_bytes(array: Any) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def npz_bytes(**arrays: Any) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def idx_bytes(array: Any) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype("uint8").tobytes()


def png_bytes(lib: SimpleNamespace, mode: str) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    grey = (np.random.RandomState(0).rand(4, 4) * 255).astype(np.uint8)
    lib.image.fromarray(grey).convert(mode).save(buf, format="PNG")
    return buf.getvalue()


def saved_model(lib: SimpleNamespace, folder: Path) -> tuple[dict, bytes]:
    """config.json payload and weights bytes of a small real saved VAE."""
    m = lib.models
    m.save_model(m.VAE(m.VAEConfig(input_shape=(1, 4, 4), latent_dim=2, hidden_dims=(4,))), folder)
    payload = json.loads((folder / "config.json").read_text())
    return payload, (folder / "model.safetensors").read_bytes()


def seeds_for(name: str, lib: SimpleNamespace, work: Path) -> list[bytes]:
    """Valid small inputs for a target (with its option byte in front where it has one)."""
    import numpy as np

    rng = np.random.RandomState(0)
    images = (rng.rand(3, 4, 4) * 255).astype(np.uint8)
    if name == "idx":
        files = [idx_bytes(images), idx_bytes(np.arange(5))]
        wrapped = [b"\0" + lib.gzip.compress(f, mtime=0) for f in files]
        return [b"\0" + f for f in files] + [b"\1" + f for f in files] + wrapped
    if name == "npy":
        return [npy_bytes(rng.rand(6, 3)), npy_bytes(images), npy_bytes(rng.rand(5, 2) > 0.5)]
    if name == "npz":
        return [npz_bytes(x=rng.rand(6, 3), y=np.arange(6)), npz_bytes(images=images)]
    if name == "csv":
        table = b"a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8.5,1\n-1e3,0,2\n"
        return [b"\0" + table, b"\1" + table]
    if name == "image_folder":
        return [png_bytes(lib, mode) for mode in ("L", "RGB", "P", "1")]
    payload, weights = saved_model(lib, work / "seed_model")
    if name == "run_config":
        return [json.dumps(payload).encode()]
    if name == "run_weights":
        return [weights]
    bases = [payload["model"]["config"], lib.TrainConfig().to_dict(), lib.DataConfig().to_dict()]
    spec = lib.DataSpec((2,), "table", "none", None, "t.csv", "s", (0.0, 1.0), (1.0, 2.0), 3)
    return [bytes([i]) + json.dumps(b).encode() for i, b in enumerate([*bases, spec.to_dict()])]


def run_input(name: str, lib: SimpleNamespace, data: bytes, work: Path) -> None:
    """Feed one fuzzed input to the target's loader and check the contract."""
    option, rest = (data[0], data[1:]) if data else (0, b"")
    if name == "idx":
        (work / "x.idx").write_bytes(lib.gzip.compress(rest, mtime=0) if option & 1 else rest)
        array = expect_contract(lib, lambda: lib.read_idx(work / "x.idx"))
        if array is not None and (array.dtype != "uint8" or not 1 <= array.ndim <= 4):
            raise InvalidResultError(f"IDX array {array.dtype} {array.shape}")
    elif name in ("npy", "npz", "csv"):
        path = work / f"x.{name}"
        path.write_bytes(rest if name == "csv" else data)
        label = "label" if name == "csv" and option & 1 else None
        config = lib.DataConfig(source=str(path), label_column=label)
        check_splits(expect_contract(lib, lambda: lib.load_data(config)))
    elif name == "image_folder":
        (work / "images" / "a.png").write_bytes(data)
        config = lib.DataConfig(source=str(work / "images"))
        check_splits(expect_contract(lib, lambda: lib.load_data(config)))
    elif name in ("run_config", "run_weights"):
        run = work / "run"
        if name == "run_config":
            (run / "config.json").write_bytes(data)
        else:
            lib.payload["weights_sha256"] = hashlib.sha256(data).hexdigest()
            (run / "config.json").write_text(json.dumps(lib.payload))
            (run / "model.safetensors").write_bytes(data)
        expect_contract(lib, lambda: lib.models.load_model(run))
    else:
        run_config_dict(lib, option, rest)


def run_config_dict(lib: SimpleNamespace, option: int, data: bytes) -> None:
    """from_dict of one config class on a JSON object; what it accepts must round-trip."""
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):  # not JSON: nothing a from_dict would ever see
        return
    if not isinstance(payload, dict):
        return
    cls = (lib.models.VAEConfig, lib.TrainConfig, lib.DataConfig, lib.DataSpec)[option % 4]
    config = expect_contract(lib, lambda: cls.from_dict(payload))
    text = None if config is None else json.dumps(config.to_dict())  # NaN == NaN as text
    if text is not None and json.dumps(cls.from_dict(json.loads(text)).to_dict()) != text:
        raise InvalidResultError(f"{cls.__name__} does not round-trip through JSON")


def prepare_workdir(name: str, lib: SimpleNamespace, work: Path) -> None:
    """Fixed files beside the fuzzed one: two valid PNGs, or a real saved model."""
    if name == "image_folder":
        (work / "images").mkdir()
        for other in ("b.png", "c.png"):
            (work / "images" / other).write_bytes(png_bytes(lib, "L"))
    if name in ("run_config", "run_weights"):
        lib.payload, _ = saved_model(lib, work / "run")


@dataclass
class Recorder:
    """Counts inputs, groups crashes by kind, and writes both to status.json about once a second."""

    name: str
    work: Path
    seconds: float
    inputs: int = 0
    crashes: int = 0
    kinds: dict[str, dict] = field(default_factory=dict)
    started: float | None = None
    flushed: float = 0.0

    def __call__(self, lib: SimpleNamespace, data: bytes) -> None:
        now = time.monotonic()
        self.started = self.started or now
        if now >= self.started + self.seconds:
            self.flush()
            os._exit(0)
        self.inputs += 1
        try:
            run_input(self.name, lib, data, self.work)
        except Exception as exc:  # every kind of escape is what we are counting
            self.record(exc, data)
        if now - self.flushed > 1.0:
            self.flushed = now
            self.flush()

    def record(self, exc: Exception, data: bytes) -> None:
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/vaekit/" in f.filename]
        where = [f"{Path(f.filename).name}:{f.lineno}" for f in (ours[-1:] + frames[-1:])]
        key = f"{type(exc).__name__} at {' <- '.join(dict.fromkeys(reversed(where)))}"
        self.crashes += 1
        kind = self.kinds.setdefault(key, {"count": 0, "size": None})
        kind["count"] += 1
        if kind["size"] is None or len(data) < kind["size"]:
            message = " ".join(str(exc).split())[:160]
            tail = traceback.format_exception(exc)[-4:]
            kind.update(size=len(data), message=message, head=data[:48].hex(), traceback=tail)
            kind["file"] = f"{self.name}-{hashlib.sha1(key.encode()).hexdigest()[:10]}.bin"
            (self.work / "reproducers").mkdir(exist_ok=True)
            (self.work / "reproducers" / kind["file"]).write_bytes(data)

    def flush(self) -> None:
        status = {"inputs": self.inputs, "crashes": self.crashes, "kinds": self.kinds}
        status["seconds"] = time.monotonic() - (self.started or time.monotonic())
        (self.work / "status.json").write_text(json.dumps(status))


def cap_address_space() -> None:
    with open("/proc/self/status") as handle:
        vm_kib = next(int(line.split()[1]) for line in handle if line.startswith("VmSize"))
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (vm_kib * 1024 + ADDRESS_SPACE_HEADROOM, hard))


def run_child(name: str, seconds: float, work: Path) -> None:
    import atheris

    with atheris.instrument_imports(include=INSTRUMENTED):
        lib = import_loaders()
    lib.torch.set_num_threads(1)
    corpus = work / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(seeds_for(name, lib, work)):
        (corpus / f"seed{i}").write_bytes(seed)
    prepare_workdir(name, lib, work)
    flags = [*LIBFUZZER_FLAGS, f"-max_total_time={int(seconds) + 30}"]
    if name in ("run_config", "config_dicts"):
        tokens = [json.dumps(json.dumps(t)) for t in JSON_TOKENS] + list(
            map(json.dumps, JSON_LITERALS)
        )
        (work / "json.dict").write_text("\n".join(tokens) + "\n")
        flags.append(f"-dict={work / 'json.dict'}")
    recorder = Recorder(name, work, seconds)
    cap_address_space()
    atheris.Setup([sys.argv[0], *flags, f"-artifact_prefix={work}/", str(corpus)],
                  lambda data: recorder(lib, data))  # fmt: skip
    atheris.Fuzz()


# ---- parent process: budget, restarts, table ------------------------------------------

TARGETS = {
    "idx": "read_idx(path), raw or gzip-wrapped",
    "npy": "load_data(DataConfig(source=x.npy)) -> read_npy",
    "npz": "load_data(DataConfig(source=x.npz)) -> read_npz",
    "csv": "load_data(DataConfig(source=x.csv, label_column=None|'label')) -> read_csv_table",
    "image_folder": "load_data(DataConfig(source=folder)): fuzzed PNG beside two valid ones",
    "run_config": "load_model(dir) with fuzzed config.json",
    "run_weights": "load_model(dir) with fuzzed model.safetensors (checksum matched)",
    "config_dicts": "VAEConfig / TrainConfig / DataConfig / DataSpec .from_dict(JSON object)",
}


@dataclass
class TargetResult:
    name: str
    inputs: int = 0
    crashes: int = 0
    seconds: float = 0.0
    runs: int = 0
    kinds: dict[str, dict] = field(default_factory=dict)


def libfuzzer_kill(log: str, work: Path, crash_dir: Path) -> tuple[str, dict]:
    """The kind and details of a crash that libFuzzer itself caught (hang, OOM, signal)."""
    line = next((x for x in log.splitlines() if "ERROR: libFuzzer" in x), "child exited")
    artifacts = [p for p in work.iterdir() if p.name.split("-")[0] in ("crash", "timeout", "oom")]
    kind = {"count": 1, "message": line.strip()[:160], "size": None, "file": None}
    if artifacts:
        data = artifacts[0].read_bytes()
        kind.update(size=len(data), head=data[:48].hex(), file=artifacts[0].name)
        shutil.copy(artifacts[0], crash_dir / artifacts[0].name)
    return f"libFuzzer: {line.split('libFuzzer:')[-1].strip()[:60]}", kind


def merge_status(result: TargetResult, work: Path, crash_dir: Path) -> float | None:
    """Add a child's counts to `result`; returns the seconds it fuzzed (None: no status)."""
    status_file = work / "status.json"
    if not status_file.exists():
        return None
    status = json.loads(status_file.read_text())
    result.inputs += status["inputs"]
    result.crashes += status["crashes"]
    for key, kind in status["kinds"].items():
        known = result.kinds.setdefault(key, {**kind, "count": 0})
        known["count"] += kind["count"]
        if kind["size"] < known["size"]:
            known.update({k: v for k, v in kind.items() if k != "count"})
    for reproducer in (work / "reproducers").glob("*.bin"):
        shutil.copy(reproducer, crash_dir / reproducer.name)
    return status["seconds"]


def fuzz_target(name: str, seconds: float, crash_dir: Path, max_runs: int = 10) -> TargetResult:
    """Fuzz for `seconds` (not counting start-up), restarting after libFuzzer kills a child."""
    result = TargetResult(name)
    # an existing PYTHONPATH comes first, so an older vaekit can be fuzzed for comparison
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, str(REPO / "src"), str(REPO)])}
    while result.seconds < seconds - 2 and result.runs < max_runs:
        remaining = seconds - result.seconds
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as tmp:
            work = Path(tmp)
            command = [sys.executable, "-m", "benchmarks.fuzz_loaders", "--child", name]
            command += ["--seconds", f"{remaining:.1f}", "--workdir", str(work)]
            started = time.monotonic()
            try:
                done = subprocess.run(
                    command, cwd=REPO, env=env, capture_output=True, text=True, errors="replace",
                    timeout=remaining + 120,
                )  # fmt: skip
                returncode, log = done.returncode, done.stdout + done.stderr
            except subprocess.TimeoutExpired as exc:
                returncode, log = -9, f"ERROR: libFuzzer: parent timeout {exc.timeout:.0f} s"
            fuzzed = merge_status(result, work, crash_dir)
            result.seconds += time.monotonic() - started if fuzzed is None else fuzzed
            result.runs += 1
            if returncode != 0:
                key, kind = libfuzzer_kill(log, work, crash_dir)
                result.crashes += 1
                result.kinds.setdefault(key, {**kind, "count": 0})["count"] += 1
                (crash_dir / f"{name}-run{result.runs}.log").write_text(log[-20000:])
    return result


def write_report(results: list[TargetResult], info: dict[str, str], out: Path) -> None:
    from benchmarks.machine_info import markdown_block

    lines = [
        "# Loader reliability: fuzzing every loader",
        "",
        "Each loader was fed libFuzzer-mutated inputs (atheris, coverage-guided, seeded with "
        "valid small files) for its time budget. A crash is an input on which it raised "
        "anything but a one-line VaekitError, returned an invalid result, hung (>10 s) or "
        f"ran out of memory (address space capped at +{ADDRESS_SPACE_HEADROOM >> 30} GiB). "
        "Written by `benchmarks/fuzz_loaders.py`; do not edit by hand.",
        "",
        "| target | what is called | inputs tried | fuzz seconds | crashes | distinct kinds |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r.name} | {TARGETS[r.name]} | {r.inputs} | {r.seconds:.0f} | "
                     f"{r.crashes} | {len(r.kinds)} |")  # fmt: skip
    lines += ["", "## Crash kinds", ""]
    for r in results:
        for key, kind in sorted(r.kinds.items(), key=lambda item: -item[1]["count"]):
            lines.append(f"- **{r.name}**: `{key}` x{kind['count']}: {kind.get('message', '')}; "
                         f"smallest input {kind['size']} bytes, starts `{kind.get('head', '')}` "
                         f"(`{kind['file']}`)")  # fmt: skip
    if not any(r.kinds for r in results):
        lines.append("None found.")
    lines += ["", "## How this was run", "", markdown_block(info), ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds-per-target", type=float, default=60.0)
    parser.add_argument("--targets", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    parser.add_argument(
        "--crash-dir", type=Path, default=Path(tempfile.gettempdir()) / "vaekit-fuzz"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--child", choices=list(TARGETS), help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.seconds, args.workdir)
        return
    from importlib.metadata import version

    from benchmarks.machine_info import run_description

    info = {**run_description(), "atheris": version("atheris")}
    info["libFuzzer flags"] = " ".join(LIBFUZZER_FLAGS)
    info["per target"] = "one subprocess at a time, torch.set_num_threads(1)"
    args.crash_dir.mkdir(parents=True, exist_ok=True)
    print("\n".join(f"{k}: {v}" for k, v in info.items()), flush=True)
    print(f"{'target':<14}{'inputs':>10}{'seconds':>9}{'crashes':>9}{'kinds':>7}", flush=True)
    results = []
    for name in args.targets:
        results.append(fuzz_target(name, args.seconds_per_target, args.crash_dir))
        r = results[-1]
        print(f"{r.name:<14}{r.inputs:>10}{r.seconds:>9.0f}{r.crashes:>9}{len(r.kinds):>7}",
              flush=True)  # fmt: skip
    for r in results:
        for key, kind in r.kinds.items():
            print(f"{r.name}: {key} x{kind['count']}: {kind.get('message', '')}")
    print(f"reproducers and logs in {args.crash_dir}")
    write_report(results, info, args.out)


if __name__ == "__main__":
    main()
