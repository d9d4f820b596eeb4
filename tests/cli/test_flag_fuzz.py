"""The general guard: every numeric flag and every path of every command, fed values a
demanding user might type, ends in a sensible result (exit 0, finite outputs) or exit 2
with one line `vaekit: error: ...`; never a traceback, never NaN in what is written.

The flags are read from the parser itself (vaekit.cli.main.build_parser), so a flag added
later is covered without editing this file.
"""

import argparse
import csv
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.conftest import assert_one_line_error, run_main
from tests.single_thread import one_thread  # noqa: F401
from vaekit.cli.main import build_parser, command_parsers

NUMBERS = ("0", "-1", "1", "nan", "inf", "-inf", "1e308", "100000000000000000000")
PATH_KINDS = ("missing", "empty", "directory")
PATH_DESTS = ("run_dir", "input", "out", "data")  # names that say a path


def numeric_kind(action: argparse.Action):
    kind = getattr(action.type, "number_kind", None)
    return kind or (action.type if action.type in (int, float) else None)


def flag_cases() -> list[tuple[str, str, str]]:
    """(command, dest, value) for every numeric flag x value and path argument x kind."""
    cases = []
    for command, parser in command_parsers(build_parser()).items():
        for action in parser._actions:
            if numeric_kind(action) is not None and action.option_strings:
                cases += [(command, action.dest, value) for value in NUMBERS]
            elif action.dest in PATH_DESTS:
                cases += [(command, action.dest, kind) for kind in PATH_KINDS]
    return cases


CASES = flag_cases()


@pytest.fixture(scope="module")
def workspace(digits_run, tmp_path_factory):
    """Inputs every command can start from: binary digit images and a .vkz made of them."""
    root = tmp_path_factory.mktemp("fuzz")
    bits = (np.random.default_rng(0).random((3, 8, 8)) < 0.5).astype(np.uint8)
    np.save(root / "bits.npy", bits)
    from vaekit.cli.main import main

    assert main(["compress", str(digits_run), str(root / "bits.npy"), "-o",
                 str(root / "bits.vkz"), "--quiet"]) == 0  # fmt: skip
    return root


def base_arguments(command: str, run: Path, root: Path, out: Path) -> dict[str, list[str]]:
    """A valid invocation of `command`, as dest -> the words that set it."""
    tiny = {"train_limit": ["--train-limit", "64"], "eval_limit": ["--eval-limit", "32"],
            "epochs": ["--epochs", "1"], "hidden_dims": ["--hidden-dims", "8"],
            "latent_dim": ["--latent-dim", "2"], "threads": ["--threads", "1"]}  # fmt: skip
    out_npy = ["--out", f"{out}.npy"]
    return {
        "train": {"data": ["--data", "digits"], **tiny, "out": ["--out", str(out)]},
        "eval": {"run_dir": [str(run)], "limit": ["--limit", "20"], "json": ["--json"]},
        "sample": {"run_dir": [str(run)], "num_samples": ["-n", "4"], "out": out_npy},
        "reconstruct": {"run_dir": [str(run)], "num_examples": ["-n", "4"], "out": out_npy},
        "interpolate": {"run_dir": [str(run)], "steps": ["--steps", "3"], "out": out_npy},
        "traverse": {"run_dir": [str(run)], "dims": ["--dims", "0"], "steps": ["--steps", "3"],
                     "out": out_npy},
        "encode": {"run_dir": [str(run)], "limit": ["--limit", "20"],
                   "out": ["--out", f"{out}.npz"]},
        "compress": {"run_dir": [str(run)], "input": [str(root / "bits.npy")],
                     "out": ["-o", f"{out}.vkz"]},
        "decompress": {"run_dir": [str(run)], "input": [str(root / "bits.vkz")],
                       "out": ["-o", f"{out}.npy"]},
        "bench-codecs": {"run_dir": [str(run)], "limit": ["--limit", "10"],
                         "no_generic": ["--no-generic"]},
        "probe": {"run_dir": [str(run)], "labels_per_class": ["--labels-per-class", "3"],
                  "draws": ["--draws", "1"], "json": ["--json"]},
        "score": {"run_dir": [str(run)], "data": ["--data", str(root / "bits.npy")],
                  "iw_samples": ["--iw-samples", "2"], "out": ["--out", f"{out}.csv"]},
        "report": {"run_dir": [str(run)], "out": ["-o", f"{out}.html"]},
        "serve": {"run_dir": [str(run)], "dry_run": ["--dry-run"]},  # never starts listening
        "export": {"run_dir": [str(run)], "out": ["--out", str(out)]},
    }[command]  # fmt: skip


def bad_path(kind: str, like: str, where: Path) -> str:
    """A path of the same suffix as `like` that is missing, an empty file or a folder."""
    suffix = Path(like).suffix if like not in ("digits",) else ".npy"
    path = where / f"bad{suffix}"
    if kind == "missing":
        return str(where / "no" / "such" / path.name)
    if kind == "empty":
        path.write_bytes(b"")
    else:
        path.mkdir()
    return str(path)


def invocation(case, run: Path, root: Path, where: Path) -> tuple[list[str], Path | None]:
    """The words of one run with the case's value in place, and its output path."""
    command, dest, value = case
    words = base_arguments(command, run, root, where / "result")
    action = next(a for a in command_parsers(build_parser())[command]._actions if a.dest == dest)
    if dest in PATH_DESTS:
        given = words.get(dest, [""])
        value = bad_path(value, given[-1], where)
        words[dest] = [*given[:-1], value] if action.option_strings else [value]
    elif action.nargs in (None, "?"):
        words[dest] = [f"{max(action.option_strings, key=len)}={value}"]  # "=": -inf is a value
    else:
        count = action.nargs if isinstance(action.nargs, int) else 1
        words[dest] = [max(action.option_strings, key=len), *[value] * count]
    out = words.get("out", [None])[-1]
    positional = [w for d in ("run_dir", "input") if d in words for w in words.pop(d)]
    return [command, *positional, *[w for ws in words.values() for w in ws]], out


def assert_finite_outputs(command: str, out: str | None, stdout: str) -> None:
    if command == "eval":
        report = json.loads(stdout)
        assert all(math.isfinite(v) for v in report.values() if isinstance(v, float)), report
    if out is None or not Path(out).exists():
        return
    path = Path(out)
    if command == "export":  # graphs, checked against PyTorch in tests/test_export.py
        assert (path / "encoder.onnx").is_file() and (path / "decoder.onnx").is_file()
    elif path.is_dir():  # a training run
        with open(path / "metrics.csv") as handle:
            for row in csv.DictReader(handle):
                assert math.isfinite(float(row["val_elbo_nats"])), row
    elif path.suffix in (".npy", ".npz"):
        loaded = np.load(path)
        arrays = [loaded[k] for k in loaded.files] if path.suffix == ".npz" else [loaded]
        for array in arrays:
            assert np.isfinite(array.astype(np.float64)).all(), (command, path)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=st.sampled_from(CASES))
def test_every_flag_ends_in_a_result_or_one_line(case, digits_run, workspace, capsys):
    where = Path(tempfile.mkdtemp(dir=workspace))
    argv, out = invocation(case, digits_run, workspace, where)
    code, stdout, stderr = run_main(capsys, *argv)
    assert "Traceback" not in stderr, (argv, stderr)
    if code == 0:
        assert_finite_outputs(case[0], out, stdout)
    else:
        assert_one_line_error(code, stderr)


def test_the_cases_cover_every_command_and_kind():
    commands = {command for command, _, _ in CASES}
    assert commands == set(command_parsers(build_parser()))
    dests = {dest for _, dest, _ in CASES}
    assert {"batch_size", "temperature", "range", "iw_samples", "lr", "out", "run_dir"} <= dests
