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

import logging
import os
import shutil
from pathlib import Path

import torch

from vaekit.errors import CheckpointError
from vaekit.io import read_json, read_tensors, sha256_file, write_json, write_tensors
from vaekit.io.atomic import fsync_dir
from vaekit.models import load_state_strict, model_name, read_model_config, save_model
from vaekit.models.serialization import WEIGHTS_FILE
from vaekit.training.state import TrainState, optimizer_from_files, optimizer_to_files

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
STATE_TENSORS = "train_state.safetensors"
STATE_JSON = "train_state.json"
CHECKSUMS = "checksums.json"
CHECKED_FILES = ("config.json", "model.safetensors", STATE_TENSORS, STATE_JSON)


def save_checkpoint(
    run_dir: str | os.PathLike,
    state: TrainState,
    *,
    extra_tensors: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write a checkpoint, rotate latest -> previous, export the model; returns its folder.

    extra_tensors go into train_state.safetensors as well (with several ranks: the other
    ranks' noise generators, as `rng.noise.rank<r>`; rank 0's is `rng.noise`)."""
    root = Path(run_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):  # left by a run killed while writing
        shutil.rmtree(stale, ignore_errors=True)
    tmp = root / f".tmp-{state.step}"
    save_model(state.model, tmp)
    tensors, optimizer_json = optimizer_to_files(state.optimizer)
    tensors["rng.noise"] = state.noise_generator.get_state()
    tensors.update(extra_tensors or {})
    if state.ema is not None:
        tensors.update({f"ema.{k}": v for k, v in state.ema.state_tensors().items()})
    write_tensors(tmp / STATE_TENSORS, tensors)
    write_json(tmp / STATE_JSON, {**state.counters(), "optimizer": optimizer_json})
    write_json(tmp / CHECKSUMS, {name: sha256_file(tmp / name) for name in CHECKED_FILES})
    fsync_dir(tmp)
    latest, previous = root / "latest", root / "previous"
    if latest.exists():
        shutil.rmtree(previous, ignore_errors=True)
        os.replace(latest, previous)
    os.replace(tmp, latest)
    fsync_dir(root)
    save_model(state.eval_model, run_dir)  # the moving average when one is kept
    return latest


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
