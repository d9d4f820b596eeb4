"""One optimizer step, with the non-finite guard and rollback to the last good state."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from vaekit.data import Batch
from vaekit.errors import TrainingError
from vaekit.models.fused_mlp import has_hooks
from vaekit.objectives import batch_loss
from vaekit.training.engine import autocast
from vaekit.training.state import TrainState

logger = logging.getLogger(__name__)


@dataclass
class StepTotals:
    """Running sums of per-example terms over the steps taken (a tensor, so no host sync).

    sums holds (loss, reconstruction, kl), each summed over examples.
    """

    sums: torch.Tensor | float = 0.0
    examples: int = 0

    def add(self, weighted_terms: torch.Tensor, count: int) -> None:
        """weighted_terms: (3,) batch means of (loss, reconstruction, kl) times `count`."""
        self.sums = self.sums + weighted_terms
        self.examples += count

    def means(self) -> dict[str, float]:
        if self.examples == 0:
            return {}
        loss, reconstruction, kl = (float(value) / self.examples for value in self.sums)
        return {
            "train_loss": loss,
            "train_reconstruction_nats": reconstruction,
            "train_kl_nats": kl,
        }


def add_to_totals(
    totals: tuple[StepTotals, ...],
    loss: torch.Tensor,
    reconstruction: torch.Tensor,
    kl: torch.Tensor,
    count: int,
) -> None:
    """Add one step's batch means to every running total: one stack for all of them."""
    weighted_terms = torch.stack([loss.detach(), reconstruction.detach(), kl.detach()]) * count
    for total in totals:
        total.add(weighted_terms, count)


def take_step(
    state: TrainState,
    batch: Batch,
    beta: float,
    totals: tuple[StepTotals, ...],
    *,
    loss_weight: float = 1.0,
) -> bool:
    """One Adam step on the configured objective's loss (`batch_loss`; for the ELBO,
    -mean(log p(x|z) - beta * KL)). Returns False if skipped.

    loss_weight multiplies the loss that is differentiated (not the totals): with several
    ranks, B_rank * ranks / B_global, so that DDP's average of the ranks' gradients is the
    gradient of the global batch mean even when the ranks' shares differ (the last batch).
    A step with a non-finite loss or gradient norm changes nothing and is counted; see
    `handle_skip` for what happens when they persist. With several ranks, all of them agree
    on whether to step, so they never drift apart.
    """
    model, optimizer = state.model, state.optimizer
    fused = state.fast_path is not None and not has_hooks(model)
    if fused:  # the hand-written gradient fills .grad itself; no graph is built
        loss, reconstruction, kl = state.fast_path.loss_and_grads(
            batch.x, beta, generator=state.noise_generator
        )
    else:
        loss, reconstruction, kl = forward_loss(state, batch, beta)
        optimizer.zero_grad(set_to_none=True)
    finite = bool(torch.isfinite(loss))
    if state.world.is_distributed:  # every rank joins DDP's gradient all-reduce in backward
        backward(state, loss * loss_weight if loss_weight != 1.0 else loss)
        finite = state.world.all_agree(finite and gradients_finite(state))
    elif finite:
        if not fused:
            backward(state, loss)
        finite = gradients_finite(state)
    if not finite:
        optimizer.zero_grad(set_to_none=True)
        if state.scaler is not None and bool(torch.isfinite(loss)):
            state.scaler.update()  # an fp16 overflow: the scaler backs off; not a bad step
            return False
        handle_skip(state)
        return False
    if state.scaler is not None:
        state.scaler.step(optimizer)
        state.scaler.update()
    else:
        optimizer.step()
    state.step += 1
    state.consecutive_skips = 0
    add_to_totals(totals, loss, reconstruction, kl, batch.x.shape[0])
    return True


def forward_loss(
    state: TrainState, batch: Batch, beta: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, reconstruction, kl) of the batch, through the loss module when there is one
    (DDP, torch.compile) and in the configured precision; the three come out in fp32."""
    config = state.config
    device = batch.x.device
    with autocast(config.precision, device):
        if state.loss_module is not None:
            terms = state.loss_module(batch.x, batch.y, beta, state.noise_generator)
        else:
            terms = batch_loss(
                state.model,
                batch.x,
                y=batch.y,
                kl_weight=beta,
                objective=config.objective,
                num_samples=config.iw_train_samples,
                free_bits=config.free_bits,
                generator=state.noise_generator,
            )
    return tuple(term.float() for term in terms)


def backward(state: TrainState, loss: torch.Tensor) -> None:
    """Gradients of `loss` (scaled up first under fp16, and unscaled again after)."""
    if state.scaler is None:
        loss.backward()
        return
    state.scaler.scale(loss).backward()
    state.scaler.unscale_(state.optimizer)


def gradients_finite(state: TrainState) -> bool:
    """Whether the global gradient norm is finite (clipping to grad_clip on the way)."""
    return bool(torch.isfinite(gradient_norm(state.model, state.config.grad_clip)))


def gradient_norm(model: torch.nn.Module, max_norm: float | None) -> torch.Tensor:
    """Global gradient norm; gradients are clipped to max_norm when one is given.

    Without clipping, only the norm is computed (for the non-finite check), sparing
    clip_grad_norm_'s multiply of every gradient by 1.
    """
    if max_norm is not None:
        return torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def handle_skip(state: TrainState) -> None:
    """Count a skipped step; on a run of them, roll back with a lower learning rate."""
    config = state.config
    state.skipped_steps += 1
    state.consecutive_skips += 1
    logger.debug("skipped a non-finite step (%d so far)", state.skipped_steps)
    if state.consecutive_skips < config.rollback_after:
        return
    if state.rollbacks >= config.max_rollbacks:
        raise TrainingError(
            f"training diverged: {state.consecutive_skips} non-finite steps in a row after "
            f"{state.rollbacks} rollbacks (step {state.step}); try a lower --lr "
            f"(started at {config.lr:g}) or --grad-clip 1.0"
        )
    state.rollback_to_snapshot(config.rollback_lr_factor)
    logger.warning(
        "%d non-finite steps in a row: rolled back to step %d, learning rate now %g",
        config.rollback_after,
        state.snapshot_step,
        state.optimizer.param_groups[0]["lr"],
    )
