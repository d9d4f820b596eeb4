"""Training on several processes launched by torchrun: the process group, and the few
collectives fit() needs besides PyTorch's DistributedDataParallel.

DistributedDataParallel averages the gradients; everything here only keeps the processes
("ranks") in step: the same decisions (skip a non-finite step, stop on a signal), validation
figures over the whole split rather than one rank's shard, and each rank's noise generator in
the checkpoint. A single process is a World of size 1, for which every collective is the
identity, so fit() has one code path.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from vaekit.errors import ConfigError

logger = logging.getLogger(__name__)

# torch's default is 30 min: a rank that dies is noticed by torchrun anyway, and a
# collective stuck on a mismatch should fail within minutes, not half an hour
COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class World:
    """This process's place among the training processes: rank in 0..size-1. device is where
    collectives put their tensors (gloo: CPU, nccl: this rank's GPU)."""

    rank: int = 0
    size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """Whether this rank writes files and talks to the user (rank 0)."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.size > 1

    @classmethod
    def current(cls, device: torch.device | None = None) -> World:
        """The initialised default process group as a World, or a single process."""
        if not (dist.is_available() and dist.is_initialized()):
            return cls()
        if device is None:
            device = torch.device("cuda", torch.cuda.current_device()) if (
                dist.get_backend() == "nccl"
            ) else torch.device("cpu")  # fmt: skip
        return cls(rank=dist.get_rank(), size=dist.get_world_size(), device=device)

    def all_agree(self, flag: bool) -> bool:
        """True only when `flag` is True on every rank (one all-reduce)."""
        if not self.is_distributed:
            return flag
        value = torch.tensor([0.0 if flag else 1.0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item() == 0.0)

    def any(self, flag: bool) -> bool:
        """True when `flag` is True on some rank."""
        return not self.all_agree(not flag)

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise sum over ranks of a float tensor (returns a new tensor)."""
        if not self.is_distributed:
            return values
        total = values.detach().to(self.device, torch.float64).clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total.to(values.device)

    def shard(self, num_rows: int, multiple: int = 1) -> slice:
        """This rank's contiguous block of rows 0..num_rows-1: blocks of whole groups of
        `multiple` rows (the last group may be short), their sizes differing by at most one
        group, so every block starts on a multiple of `multiple`."""
        groups = -(-num_rows // multiple)
        base, extra = divmod(groups, self.size)
        first = self.rank * base + min(self.rank, extra)
        last = first + base + (1 if self.rank < extra else 0)
        return slice(min(first * multiple, num_rows), min(last * multiple, num_rows))

    def gather_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Concatenate every rank's `rows` (R_r, ...) along dim 0, in rank order: the inverse
        of `shard`. Shards may differ in length; they are padded for the all-gather."""
        if not self.is_distributed:
            return rows
        lengths = torch.zeros(self.size, dtype=torch.int64, device=self.device)
        lengths[self.rank] = rows.shape[0]
        dist.all_reduce(lengths, op=dist.ReduceOp.SUM)
        longest = int(lengths.max())
        padded = torch.zeros((longest, *rows.shape[1:]), dtype=rows.dtype, device=self.device)
        padded[: rows.shape[0]] = rows.detach().to(self.device)
        pieces = [torch.empty_like(padded) for _ in range(self.size)]
        dist.all_gather(pieces, padded)
        parts = [piece[: int(n)] for piece, n in zip(pieces, lengths.tolist())]
        return torch.cat(parts).to(rows.device)

    def gather_states(self, state: torch.Tensor) -> list[torch.Tensor]:
        """Every rank's generator state (uint8 (S,), same S on all ranks), in rank order."""
        if not self.is_distributed:
            return [state]
        local = state.to(self.device)
        pieces = [torch.empty_like(local) for _ in range(self.size)]
        dist.all_gather(pieces, local)
        return [piece.cpu() for piece in pieces]


def world_size_from(environ: Mapping[str, str]) -> int:
    """WORLD_SIZE as torchrun sets it (1 when absent); ConfigError when it is not a count."""
    text = environ.get("WORLD_SIZE", "1")
    try:
        size = int(text)
    except ValueError:
        raise ConfigError(f"WORLD_SIZE must be a whole number, got {text!r}") from None
    if size < 1:
        raise ConfigError(f"WORLD_SIZE must be >= 1, got {size}")
    return size


def local_rank_from(environ: Mapping[str, str]) -> int:
    """LOCAL_RANK as torchrun sets it: which of this node's GPUs the process uses."""
    try:
        return int(environ.get("LOCAL_RANK", "0"))
    except ValueError:
        text = environ.get("LOCAL_RANK")
        raise ConfigError(f"LOCAL_RANK must be a whole number, got {text!r}") from None


def rank_from(environ: Mapping[str, str]) -> int:
    """RANK as torchrun sets it (0 when absent or not a number: the process then acts as
    rank 0, which is what a single process is)."""
    try:
        return int(environ.get("RANK", "0"))
    except ValueError:
        return 0


def start_process_group(device: torch.device, environ: Mapping[str, str] | None = None) -> World:
    """Join the process group torchrun describes in the environment (RANK, WORLD_SIZE,
    MASTER_ADDR, MASTER_PORT): gloo for CPU, nccl for CUDA. Without torchrun (WORLD_SIZE
    absent or 1), nothing is started and the World is a single process."""
    environ = os.environ if environ is None else environ
    if world_size_from(environ) == 1:
        return World(device=device)
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(
            f"training on several processes runs on cpu (gloo) or cuda (nccl), not {device.type}"
        )
    if not dist.is_available():
        raise ConfigError("this PyTorch build has no torch.distributed")
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=COLLECTIVE_TIMEOUT)
    world = World.current(device if device.type == "cuda" else torch.device("cpu"))
    logger.info("rank %d of %d (%s, %s)", world.rank, world.size, backend, device)
    return world


def end_process_group(*, finished: bool = True) -> None:
    """Destroy the default process group if one was started (safe to call twice).

    finished: every rank got here normally, so they first wait for each other. A rank that
    tore its group down while another was still using it was seen to abort in gloo's C++
    ("terminate called without an active exception"). After an error (finished=False) a
    peer may never arrive, so there is no wait; torchrun stops the others.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    if finished:
        dist.barrier()
    dist.destroy_process_group()


def in_process_group(device: torch.device, work: Callable[[World], int]) -> int:
    """Run `work(world)` inside the process group torchrun describes (none without
    torchrun) and end the group after it, on success or error; work's exit code."""
    world = start_process_group(device)
    try:
        code = work(world)
    except BaseException:
        end_process_group(finished=False)
        raise
    end_process_group()
    return code


def check_batch_size(batch_size: int, world: World) -> None:
    """The global batch must split evenly over the ranks: each takes batch_size / size."""
    if batch_size % world.size != 0:
        raise ConfigError(
            f"batch_size {batch_size} is the global batch and must be divisible by the "
            f"{world.size} processes (each takes batch_size / {world.size}); try "
            f"{max(world.size, batch_size - batch_size % world.size)}"
        )
