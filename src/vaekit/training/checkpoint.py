"""Training checkpoints in a run directory, written so a crash never loses the last good one.

Layout: run_dir/checkpoints/latest/ and run_dir/checkpoints/previous/, each holding
config.json + model.safetensors (a loadable model) + train_state.safetensors (optimizer
tensors, RNG state) + train_state.json (counters, optimizer settings) + checksums.json
(SHA-256 of each of those files, verified on restore). A new checkpoint is written whole
into a temporary folder, fsynced, and then renamed into place, so a crash at any moment
leaves at least one complete checkpoint; the model is also exported to run_dir/ itself for
`from_pretrained(run_dir)`.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from vaekit.errors import CheckpointError
from vaekit.io import read_json, read_tensors, sha256_file, write_json, write_tensors
from vaekit.io.atomic import fsync_dir
from vaekit.models import load_state_strict, model_name, read_model_config
from vaekit.models.serialization import WEIGHTS_FILE, model_files, write_model_files
from vaekit.training.state import TrainState, optimizer_from_files, optimizer_to_files

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
STATE_TENSORS = "train_state.safetensors"
STATE_JSON = "train_state.json"
CHECKSUMS = "checksums.json"
CHECKED_FILES = ("config.json", "model.safetensors", STATE_TENSORS, STATE_JSON)


@dataclass(frozen=True)
class CheckpointContents:
    """Everything one checkpoint holds, copied to host memory when it is taken, so training
    can go on while the files are written (model_files: weights and config.json fields)."""

    step: int
    model: tuple[dict[str, torch.Tensor], dict]
    export: tuple[dict[str, torch.Tensor], dict]  # run_dir's model: the EMA when kept
    tensors: dict[str, torch.Tensor]  # train_state.safetensors
    state_json: dict  # train_state.json


def checkpoint_contents(
    state: TrainState, *, extra_tensors: dict[str, torch.Tensor] | None = None
) -> CheckpointContents:
    """Take a checkpoint of `state` now (host copies); see save_checkpoint for extra_tensors."""
    tensors, optimizer_json = optimizer_to_files(state.optimizer)
    tensors["rng.noise"] = state.noise_generator.get_state()
    tensors.update(extra_tensors or {})
    if state.ema is not None:
        tensors.update({f"ema.{k}": v for k, v in state.ema.state_tensors().items()})
    model = model_files(state.model)
    return CheckpointContents(
        step=state.step,
        model=model,
        export=model if state.ema is None else model_files(state.eval_model),
        tensors={k: v.detach().to("cpu", copy=True) for k, v in tensors.items()},
        state_json=copy.deepcopy({**state.counters(), "optimizer": optimizer_json}),
    )


def save_checkpoint(
    run_dir: str | os.PathLike,
    state: TrainState,
    *,
    extra_tensors: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write a checkpoint, rotate latest -> previous, export the model; returns its folder.

    extra_tensors go into train_state.safetensors as well (with several ranks: the other
    ranks' noise generators, as `rng.noise.rank<r>`; rank 0's is `rng.noise`)."""
    return write_checkpoint(run_dir, checkpoint_contents(state, extra_tensors=extra_tensors))


def write_checkpoint(run_dir: str | os.PathLike, contents: CheckpointContents) -> Path:
    """Write `contents` whole into a temporary folder, fsync, rename it into place as
    latest (latest becomes previous), then export the model to run_dir; returns latest."""
    root = Path(run_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):  # left by a run killed while writing
        shutil.rmtree(stale, ignore_errors=True)
    tmp = root / f".tmp-{contents.step}"
    write_model_files(tmp, contents.model)
    write_tensors(tmp / STATE_TENSORS, contents.tensors)
    write_json(tmp / STATE_JSON, contents.state_json)
    write_json(tmp / CHECKSUMS, {name: sha256_file(tmp / name) for name in CHECKED_FILES})
    fsync_dir(tmp)
    latest, previous = root / "latest", root / "previous"
    if latest.exists():
        shutil.rmtree(previous, ignore_errors=True)
        os.replace(latest, previous)
    os.replace(tmp, latest)
    fsync_dir(root)
    write_model_files(run_dir, contents.export)
    return latest


class CheckpointWriter:
    """Writes checkpoints in a background thread, one at a time and in order, so the step
    loop goes on while the files are written and fsynced. Each write is the same atomic
    write_checkpoint as in the foreground: a crash mid-write leaves the previous checkpoint
    whole. wait() returns when the last write is on disk and raises its error, if any."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, run_dir: str | os.PathLike, contents: CheckpointContents) -> None:
        self.wait()
        self._thread = threading.Thread(
            target=self._write, args=(run_dir, contents), name="vaekit-checkpoint"
        )
        self._thread.start()

    def _write(self, run_dir: str | os.PathLike, contents: CheckpointContents) -> None:
        try:
            write_checkpoint(run_dir, contents)
        except BaseException as err:  # handed to the training thread by wait()
            self._error = err

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        if error is not None:
            raise error


def has_checkpoint(run_dir: str | os.PathLike) -> bool:
    root = Path(run_dir) / CHECKPOINTS
    return (root / "latest").is_dir() or (root / "previous").is_dir()


def restore_checkpoint(run_dir: str | os.PathLike, state: TrainState) -> Path:
    """Load the newest readable checkpoint into `state` (model, optimizer, RNG, counters)."""
    root = Path(run_dir) / CHECKPOINTS
    errors = []
    for name in ("latest", "previous"):
        folder = root / name
        if not folder.is_dir():
            continue
        try:
            _restore_from(folder, state)
            if errors:
                logger.warning("latest checkpoint unusable (%s); resumed from %s", errors[0], name)
            return folder
        except CheckpointError as err:
            errors.append(f"{name}: {err}")
    detail = "; ".join(errors) if errors else "none found"
    raise CheckpointError(f"no usable checkpoint in {root} ({detail})")


def verify_checksums(folder: Path) -> None:
    """Raise CheckpointError unless every file matches checksums.json."""
    expected = read_json(folder / CHECKSUMS)
    for name in CHECKED_FILES:
        path = folder / name
        if not path.is_file():
            raise CheckpointError(f"{path} is missing")
        if sha256_file(path) != expected.get(name):
            raise CheckpointError(f"{path} does not match its checksum")


def _restore_from(folder: Path, state: TrainState) -> None:
    verify_checksums(folder)
    # checksums are verified above, so the weights go straight into the model being trained
    section = read_model_config(folder)["model"]
    if (
        section.get("name") != model_name(state.model)
        or section.get("config") != state.model.config.to_dict()
    ):
        raise CheckpointError(f"{folder} holds a different model than the one being trained")
    load_state_strict(state.model, read_tensors(folder / WEIGHTS_FILE), folder)
    tensors = read_tensors(folder / STATE_TENSORS)
    payload = read_json(folder / STATE_JSON)
    optimizer_from_files(state.optimizer, tensors, payload.get("optimizer", {}))
    if "rng.noise" not in tensors:
        raise CheckpointError(f"{folder / STATE_TENSORS} lacks the RNG state")
    state.restore_counters(payload)
    _restore_noise(folder, state, tensors)
    if state.ema is not None:
        _restore_ema(folder, state, tensors)


def rank_noise_key(rank: int) -> str:
    """Where rank `rank`'s noise generator is kept in train_state.safetensors."""
    return "rng.noise" if rank == 0 else f"rng.noise.rank{rank}"


def _restore_noise(folder: Path, state: TrainState, tensors: dict) -> None:
    """This rank's noise generator; a rank the run did not have before (resumed with more
    processes) starts a fresh stream seeded by (seed, rank, step)."""
    rank = state.world.rank
    key = rank_noise_key(rank)
    if key in tensors:
        state.noise_generator.set_state(tensors[key])
        return
    logger.warning("%s has no noise generator for rank %d; it starts a new one", folder, rank)
    state.noise_generator.manual_seed(state.config.seed + 1 + 1_000_003 * rank + state.step)


def _restore_ema(folder: Path, state: TrainState, tensors: dict) -> None:
    averaged = {k.removeprefix("ema."): v for k, v in tensors.items() if k.startswith("ema.")}
    if not averaged:
        raise CheckpointError(f"{folder / STATE_TENSORS} lacks the weight average (ema_decay)")
    load_state_strict(state.ema.model, averaged, folder / STATE_TENSORS)
