"""One optimizer step, with the non-finite guard and rollback to the last good state."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from vaekit.data import Batch
from vaekit.errors import TrainingError
from vaekit.models.fused_mlp import has_hooks
from vaekit.objectives import batch_loss
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


def take_step(state: TrainState, batch: Batch, beta: float, totals: tuple[StepTotals, ...]) -> bool:
    """One Adam step on the configured objective's loss (`batch_loss`; for the ELBO,
    -mean(log p(x|z) - beta * KL)). Returns False if skipped.

    A step with a non-finite loss or gradient norm changes nothing and is counted; see
    `handle_skip` for what happens when they persist.
    """
    model, optimizer, config = state.model, state.optimizer, state.config
    x = batch.x
    fused = state.fast_path is not None and not has_hooks(model)
    if fused:  # the hand-written gradient fills .grad itself; no graph is built
        loss, reconstruction, kl = state.fast_path.loss_and_grads(
            x, beta, generator=state.noise_generator
        )
    else:
        loss, reconstruction, kl = batch_loss(
            model,
            x,
            y=batch.y,
            kl_weight=beta,
            objective=config.objective,
            num_samples=config.iw_train_samples,
            free_bits=config.free_bits,
            generator=state.noise_generator,
        )
        optimizer.zero_grad(set_to_none=True)
    finite = bool(torch.isfinite(loss))
    if finite:
        if not fused:
            loss.backward()
        finite = bool(torch.isfinite(gradient_norm(model, config.grad_clip)))
    if not finite:
        optimizer.zero_grad(set_to_none=True)
        handle_skip(state)
        return False
    optimizer.step()
    state.step += 1
    state.consecutive_skips = 0
    add_to_totals(totals, loss, reconstruction, kl, x.shape[0])
    return True


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
