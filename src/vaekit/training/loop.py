"""fit(): train a registered model by maximizing its objective, with checkpoints and resume."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from vaekit.data import (
    Batch,
    DataSplits,
    binarize_batch,
    dequantize_batch,
    iterate_batches,
    noise_widths,
    num_batches,
)
from vaekit.errors import CheckpointError, ConfigError
from vaekit.evaluation import BatchNoise, classification_accuracy, elbo_scores
from vaekit.models import LatentVariableModel
from vaekit.models.data_init import init_output_bias
from vaekit.training import recipe
from vaekit.training.callbacks import TrainCallback
from vaekit.training.checkpoint import (
    CheckpointWriter,
    checkpoint_contents,
    has_checkpoint,
    rank_noise_key,
    restore_checkpoint,
    save_checkpoint,
)
from vaekit.training.config import TrainConfig
from vaekit.training.distributed import World, check_batch_size
from vaekit.training.engine import (
    build_loss_module,
    check_precision,
    make_scaler,
    resolve_precision,
)
from vaekit.training.metrics_log import write_metrics_csv
from vaekit.training.schedules import kl_weight
from vaekit.training.state import TrainState
from vaekit.training.step import StepTotals, take_step
from vaekit.units import nats_to_bits_per_dim

logger = logging.getLogger(__name__)

DATA_INIT_ROWS = 10_000  # enough for the mean of every pixel to within ~0.005


def fit(
    model: LatentVariableModel,
    data: DataSplits,
    config: TrainConfig,
    *,
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    callbacks: Sequence[TrainCallback] = (),
    should_stop: Callable[[], bool] | None = None,
    world: World | None = None,
    compile: bool = False,
) -> TrainState:
    """Train `model` on data.train, validating on data.val after each epoch.

    With run_dir, each epoch ends with metrics.csv and a checkpoint there; resume=True
    continues from the newest checkpoint in run_dir (and trains nothing when that run is
    already over: state.trained stays False); without resume, a run_dir that already holds
    a run is refused (ConfigError). `should_stop` is polled after every
    step (the CLI sets it on SIGINT/SIGTERM): when it returns True, a checkpoint is written
    and fit returns with state.interrupted set. Returns the final TrainState.

    Several processes (torchrun): pass `world` (default: the initialised process group, if
    any); every rank calls fit alike, each trains on its share of every global batch through
    DistributedDataParallel, and only rank 0 writes run_dir. compile=True runs the loss
    through torch.compile.
    """
    check_labels(model, data)
    device = next(model.parameters()).device
    world = World.current(device) if world is None else world
    check_batch_size(config.batch_size, world)
    check_precision(config.precision, device)
    precision = resolve_precision(config, model, device, world, compile=compile)
    if precision != config.precision:
        logger.info("precision auto: %s", precision)
        config = dataclasses.replace(config, precision=precision)
    if world.is_distributed and config.time_budget_seconds is not None:
        raise ConfigError(
            "time_budget_seconds is not supported with several processes (their clocks "
            "differ); give epochs instead"
        )
    if config.data_init and not resume:  # before the weight average copies the weights
        init_from_data(model, data)
    state = TrainState.create(model, config)
    set_up_engine(state, world, compile=compile)
    model.metadata.update(data=data.spec.to_dict(), train=config.to_dict())
    if data.config is not None:  # lets `vaekit eval` and friends reload the same data
        model.metadata["data_config"] = data.config.to_dict()
    if resume:
        if resume_finished_run(state, run_dir):
            return state
    elif run_dir is not None and holds_run(run_dir):
        raise ConfigError(
            f"{run_dir} already holds a run; pass resume=True to continue it, or choose "
            "another run_dir (fit would replace its weights and checkpoints)"
        )
    state.take_snapshot()
    state.start_clock()
    state.checkpoint_writer = CheckpointWriter()
    try:
        train_epochs(state, data, run_dir, callbacks, should_stop)
    finally:
        writer, state.checkpoint_writer = state.checkpoint_writer, None
        waiting = time.perf_counter()
        writer.wait()  # the last checkpoint is on disk before fit returns (or raises)
        state.add_seconds("checkpoints", time.perf_counter() - waiting)
    state.trained = True
    recipe.finish(state)
    for callback in callbacks:
        callback.on_fit_end(state)
    return state


def init_from_data(model: LatentVariableModel, data: DataSplits) -> None:
    """Data-dependent initialisation from the mean of the first DATA_INIT_ROWS training
    examples (every rank reads the same rows, so the ranks start alike)."""
    mean = data.train.x[:DATA_INIT_ROWS].to(torch.float64).mean(dim=0)
    if init_output_bias(model, mean):
        logger.info("decoder output bias set to the mean of %d training examples",
                    min(len(data.train), DATA_INIT_ROWS))  # fmt: skip
    else:
        logger.info("data_init: this model's decoder has no output bias to set; skipped")


def train_epochs(
    state: TrainState,
    data: DataSplits,
    run_dir: str | os.PathLike | None,
    callbacks: Sequence[TrainCallback],
    should_stop: Callable[[], bool] | None,
) -> None:
    """Epochs until the configured number, a stop reason or an interruption: steps,
    validation, metrics.csv, checkpoint, callbacks."""
    config, world = state.config, state.world
    steps_per_epoch = num_batches(len(data.train), config.batch_size, num_ranks=world.size)
    for callback in callbacks:
        callback.on_fit_start(state, steps_per_epoch * config.epochs)
    while state.epoch < config.epochs:
        started = time.perf_counter()
        totals = run_epoch(state, data, steps_per_epoch, run_dir, callbacks, should_stop)
        state.add_seconds("steps", time.perf_counter() - started)
        if state.interrupted:
            break
        row = epoch_row(state, data, totals, time.perf_counter() - started)
        state.history.append(row)
        state.epoch += 1
        state.batch_in_epoch = 0
        # decided before the checkpoint, so that it records the seconds the decision saw
        # and a resume of this checkpoint comes to the same decision
        state.stop_reason = recipe.stop_reason(state)
        saving = time.perf_counter()
        if run_dir is not None and world.is_main:
            write_metrics_csv(run_dir, state.history)
        mark_good(state, run_dir)
        state.add_seconds("checkpoints", time.perf_counter() - saving)
        for callback in callbacks:
            callback.on_epoch_end(state, row)
        if state.stop_reason is not None:
            logger.info("training %s", state.stop_reason)
            break


def set_up_engine(state: TrainState, world: World, *, compile: bool) -> None:
    """How steps run: DDP across the ranks and/or torch.compile through a loss module, fp16's
    gradient scaler, and a noise stream of its own for each rank (rank 0 keeps the
    single-process one). The fused fast path computes gradients outside autograd, where
    DDP cannot reach, so it is left off there (and with torch.compile, which is asked to
    compile the autograd step); it computes bf16 itself, and fp16 never takes it."""
    config = state.config
    device = next(state.model.parameters()).device
    state.world = world
    state.scaler = make_scaler(config.precision, device)
    if world.is_distributed or compile:
        state.fast_path = None
    if world.is_distributed or compile:
        state.loss_module = build_loss_module(state.model, config, world, compile=compile)
    if world.rank > 0:
        state.noise_generator.manual_seed(config.seed + 1 + 1_000_003 * world.rank)


def check_labels(model: LatentVariableModel, data: DataSplits) -> None:
    """Raise ConfigError when `model` trains on labels the data do not have: a conditional
    model needs every training label, a classifying one at least one."""
    if not model.uses_labels:
        return
    name = type(model).__name__
    labels = data.train.y
    if labels is None:
        raise ConfigError(
            f"a {name} trains on labels and these data have none (a CSV names its label "
            "column with label_column)"
        )
    if model.is_conditional and bool((labels < 0).any()):
        raise ConfigError(f"a {name} models p(x | y) and needs every training label")
    if model.classifies and not bool((labels >= 0).any()):
        raise ConfigError(f"a {name} learns to classify and no training example is labelled")
    num_classes = data.spec.num_classes
    wanted = getattr(model.config, "num_classes", None)
    if wanted is not None and num_classes is not None and num_classes > wanted:
        raise ConfigError(f"the data have {num_classes} classes; the {name} was built for {wanted}")


def resume_finished_run(state: TrainState, run_dir: str | os.PathLike | None) -> bool:
    """Restore the newest checkpoint in run_dir into state. True when that run was already
    over (all epochs, its time budget, or early stopping; state.stop_reason says which):
    then nothing more is trained, since even one more step would change a finished run."""
    if run_dir is None:
        raise CheckpointError("resume needs a run directory")
    folder = restore_checkpoint(run_dir, state)
    logger.info("resumed from %s at step %d (epoch %d)", folder, state.step, state.epoch)
    state.start_clock()
    if state.batch_in_epoch != 0:  # stopped inside an epoch: never a finished run
        return False
    state.stop_reason = recipe.stop_reason(state)
    if state.stop_reason is None:
        return False
    logger.info("nothing to do: the run %s", state.stop_reason)
    recipe.finish(state)
    return True


def holds_run(run_dir: str | os.PathLike) -> bool:
    """Whether run_dir already holds a run's checkpoints or an exported model."""
    return has_checkpoint(run_dir) or (Path(run_dir) / "config.json").is_file()


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator that orders epoch `epoch`: a pure function of (seed, epoch), so a resumed
    run replays the same order without storing it."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def run_epoch(
    state: TrainState,
    data: DataSplits,
    steps_per_epoch: int,
    run_dir: str | os.PathLike | None,
    callbacks: Sequence[TrainCallback],
    should_stop: Callable[[], bool] | None = None,
) -> StepTotals:
    """Take the remaining steps of epoch `state.epoch`; returns its running totals."""
    config = state.config
    device = next(state.model.parameters()).device
    warmup_steps = round(config.kl_warmup_epochs * steps_per_epoch)
    dynamic = data.spec.binarize == "dynamic"
    widths = noise_widths(data.spec)  # integer table columns get fresh noise every batch
    widths = None if widths is None else widths.to(device)
    totals, window = StepTotals(), StepTotals()
    world = state.world
    batches = iterate_batches(
        data.train,
        config.batch_size,
        shuffle=True,
        generator=epoch_generator(config.seed, state.epoch),
        rank=world.rank,
        num_ranks=world.size,
    )
    state.model.train()
    for index, (x, y) in enumerate(batches):
        if index < state.batch_in_epoch:
            continue  # consumed before the checkpoint this run resumed from
        x = x.to(device, non_blocking=True)
        if dynamic:
            x = binarize_batch(x, generator=state.noise_generator)
        if widths is not None:
            x = dequantize_batch(x, widths, generator=state.noise_generator)
        beta = kl_weight(state.step, beta=config.beta, warmup_steps=warmup_steps)
        recipe.set_learning_rate(state, steps_per_epoch)
        labels = None if y is None else y.to(device, non_blocking=True)
        weight = share_weight(len(data.train), config.batch_size, index, x.shape[0], world)
        took_step = take_step(state, Batch(x, labels), beta, (totals, window), loss_weight=weight)
        state.batch_in_epoch = index + 1
        if took_step:
            recipe.after_step(state)
        if stop_requested(world, should_stop):
            state.interrupted = True
            mark_good(state, run_dir)
            return totals
        if recipe.out_of_time(state):
            return totals  # the epoch ends here and is validated as usual
        if not took_step:
            continue
        if state.step % config.log_every == 0 or state.batch_in_epoch == steps_per_epoch:
            metrics = {**window.means(), "kl_weight": beta, "epoch": state.epoch}
            window = StepTotals()
            for callback in callbacks:
                callback.on_step(state, metrics)
        if config.checkpoint_every and state.step % config.checkpoint_every == 0:
            mark_good(state, run_dir)
    return totals


def share_weight(
    num_rows: int, batch_size: int, index: int, local_rows: int, world: World
) -> float:
    """local_rows * ranks / global_rows of global batch `index`: 1 wherever the ranks' shares
    are equal, which is every batch but perhaps the last."""
    if not world.is_distributed:
        return 1.0
    global_rows = min(batch_size, num_rows - index * batch_size)
    return local_rows * world.size / global_rows


def stop_requested(world: World, should_stop: Callable[[], bool] | None) -> bool:
    """should_stop's answer, agreed by all ranks (a signal may reach them a step apart)."""
    asked = should_stop is not None and should_stop()
    return world.any(asked) if world.is_distributed else asked


def mark_good(state: TrainState, run_dir: str | os.PathLike | None) -> None:
    """Record the current state as the one to return to: in memory, and on disk if asked
    (by rank 0, with every rank's noise generator). Within fit() the files are written in
    the background (state.checkpoint_writer) from host copies taken here; an interrupted run
    writes in the foreground, so its checkpoint is on disk when fit returns."""
    state.take_snapshot()
    world = state.world
    generators = world.gather_states(state.noise_generator.get_state())
    if run_dir is None or not world.is_main:
        return
    extra = {rank_noise_key(rank): value for rank, value in enumerate(generators) if rank}
    writer = state.checkpoint_writer
    if writer is None or state.interrupted:
        if writer is not None:
            writer.wait()  # the earlier checkpoint first: files go down in order
        save_checkpoint(run_dir, state, extra_tensors=extra)
        return
    writer.submit(run_dir, checkpoint_contents(state, extra_tensors=extra))


def epoch_row(state: TrainState, data: DataSplits, totals: StepTotals, seconds: float) -> dict:
    """The metrics.csv row of the epoch just trained, with validation ELBO; with several
    ranks, the training means and validation figures are over all of them."""
    totals = all_ranks_totals(state.world, totals)
    row = {"epoch": state.epoch + 1, "step": state.step, **totals.means()}
    if state.model.has_likelihood_bound and len(data.val) > 0:
        started = time.perf_counter()
        row.update(validation_figures(state, data))
        state.add_seconds("validation", time.perf_counter() - started)
    row["epoch_seconds"] = seconds
    row["train_samples_per_second"] = totals.examples / seconds if seconds > 0 else float("nan")
    row["skipped_steps"] = state.skipped_steps
    return row


def all_ranks_totals(world: World, totals: StepTotals) -> StepTotals:
    """The running sums of every rank added up (one all-reduce); this rank's alone if single."""
    if not world.is_distributed:
        return totals
    sums = torch.zeros(4, dtype=torch.float64)
    if totals.examples:
        sums[:3] = torch.as_tensor(totals.sums).detach().cpu().double()
    sums[3] = totals.examples
    sums = world.sum(sums)
    return StepTotals(sums=sums[:3], examples=int(sums[3]))


def validation_figures(state: TrainState, data: DataSplits) -> dict[str, float]:
    """val_elbo_nats, val_bits_per_dim (and val_accuracy for a classifier). With several
    ranks, each scores a block of the split that starts on a batch boundary and the
    per-example terms are gathered; the draws are tied to each batch's place in the split
    (BatchNoise), so the figures are one process's, and the same every epoch."""
    config, world = state.config, state.world
    device = next(state.model.parameters()).device
    batch_size = config.validation_batch_size
    rows = world.shard(len(data.val), batch_size)
    # one process keeps the split as it is: a memory-mapped split moves as a view, not a copy
    val_x = (data.val.x[rows] if world.is_distributed else data.val.x).to(device)
    val_y = None if data.val.y is None else data.val.y[rows].to(device)
    log_px, kls = elbo_scores(
        state.eval_model,
        val_x,
        y=val_y if state.model.is_conditional else None,
        batch_size=batch_size,
        generator=BatchNoise(config.seed + 2, first_row=rows.start),
    )
    log_px, kls = world.gather_rows(log_px), world.gather_rows(kls)
    val_elbo = float((log_px - kls).double().mean())
    figures = {
        "val_elbo_nats": val_elbo,
        "val_bits_per_dim": nats_to_bits_per_dim(-val_elbo, data.spec.num_dims),
        "val_reconstruction_nats": float(-log_px.double().mean()),
        "val_kl_nats": float(kls.double().mean()),
    }
    if state.model.classifies and data.val.y is not None:
        gather = world.gather_rows if world.is_distributed else None
        figures["val_accuracy"] = classification_accuracy(
            state.eval_model, val_x, val_y, gather=gather
        )
    return figures
