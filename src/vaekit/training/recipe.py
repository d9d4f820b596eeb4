"""The training recipe around each step: learning-rate schedule, weight average, time
budget and early stopping. fit() calls these; each is a no-op unless its TrainConfig field
asks for it, so the default run takes exactly the plain Adam steps."""

from __future__ import annotations

import logging

from vaekit.training.schedules import lr_factor
from vaekit.training.state import TrainState

logger = logging.getLogger(__name__)


def schedule_is_on(state: TrainState) -> bool:
    config = state.config
    return config.lr_schedule != "constant" or config.lr_warmup_steps > 0


def progress(state: TrainState, steps_per_epoch: int) -> float:
    """Fraction of the run done: of the time budget when there is one, else of the steps."""
    config = state.config
    if config.time_budget_seconds is not None:
        return state.elapsed_seconds() / config.time_budget_seconds
    return state.step / max(1, config.epochs * steps_per_epoch)


def set_learning_rate(state: TrainState, steps_per_epoch: int) -> None:
    """Write this step's learning rate into the optimizer (base lr x schedule x rollbacks)."""
    if not schedule_is_on(state):
        return
    config = state.config
    factor = lr_factor(
        config.lr_schedule,
        progress(state, steps_per_epoch),
        state.step,
        warmup_steps=config.lr_warmup_steps,
        final_factor=config.lr_final_factor,
    )
    lr = config.lr * factor * config.rollback_lr_factor**state.rollbacks
    for group in state.optimizer.param_groups:
        group["lr"] = lr


def after_step(state: TrainState) -> None:
    """Fold the new weights into the moving average."""
    if state.ema is not None:
        state.ema.update(state.model)


def out_of_time(state: TrainState) -> bool:
    budget = state.config.time_budget_seconds
    return budget is not None and state.elapsed_seconds() >= budget


def early_stop_reason(state: TrainState) -> str | None:
    """Why the run stops early, once early_stopping_patience epochs have passed without a
    better validation ELBO; None while it should go on."""
    patience = state.config.early_stopping_patience
    scores = [row["val_elbo_nats"] for row in state.history if "val_elbo_nats" in row]
    if patience is None or not scores:
        return None
    best_epoch = max(range(len(scores)), key=scores.__getitem__)
    if len(scores) - 1 - best_epoch < patience:
        return None
    return (
        f"stopped early after epoch {len(scores)}: the validation ELBO has not beaten epoch "
        f"{best_epoch + 1}'s {scores[best_epoch]:.2f} nats for {_epochs(patience)}"
    )


def _epochs(count: int) -> str:
    return f"{count} epoch" + ("" if count == 1 else "s")


def stop_early(state: TrainState) -> bool:
    """True once early_stopping_patience epochs have passed without a better val ELBO."""
    return early_stop_reason(state) is not None


def stop_reason(state: TrainState) -> str | None:
    """Why training is over at an epoch boundary (all epochs done, time budget used, early
    stopping), or None while it should go on. Resuming a run for which this is not None
    trains nothing."""
    config = state.config
    if state.epoch >= config.epochs:
        return f"finished its {_epochs(config.epochs)}"
    if out_of_time(state):
        return f"used its time budget of {config.time_budget_seconds:g} s (at epoch {state.epoch})"
    return early_stop_reason(state)


def finish(state: TrainState) -> None:
    """Leave the trained model holding the weights that were validated and exported."""
    if state.ema is not None and not state.interrupted:
        state.model.load_state_dict(state.ema.model.state_dict())
