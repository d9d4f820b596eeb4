"""Noise drawn once over a whole split (binarize_once, dequantize_once), replayed for any
batch of its rows: what a memory-mapped split uses instead of holding the noisy values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_ROWS_PER_SMALL_DRAW = 32  # per batch: 200 KB of float64 noise for 28x28 images


@dataclass(frozen=True)
class NoiseOnce:
    """Noise drawn once over a whole split, as binarize_once and dequantize_once draw it:
    row i of the split takes row i of RandomState(seed).random_sample((N, width)).

    positions: (N,) each row's index i in the split the noise was drawn for.
    columns: None binarizes every value (noise < value; width = values per example); else
        the integer table columns that get noise - 1/2 added (width = len(columns)).
    """

    seed: int
    positions: np.ndarray
    columns: tuple[int, ...] | None = None


class NoiseStream:
    """Rows of RandomState(seed).random_sample((N, width)) read forwards, restarted when a
    caller goes back: sequential reads (evaluation, validation) cost one pass."""

    def __init__(self, seed: int, width: int) -> None:
        self.seed, self.width = seed, width
        self._restart()

    def _restart(self) -> None:
        self.rng, self.cursor = np.random.RandomState(self.seed), 0

    def apply(self, positions: np.ndarray, use: Callable[[np.ndarray, np.ndarray], None]) -> None:
        """Call use(rows, noise) for the batch rows at `positions` (B,) of the stream (any
        order): noise (b, width) holds stream row positions[rows[k]] in row k. Draws at most
        _ROWS_PER_SMALL_DRAW rows at a time, so no buffer grows with the batch."""
        order = np.argsort(positions, kind="stable")
        wanted = positions[order]
        if wanted[0] < self.cursor:
            self._restart()
        done = 0
        while done < len(wanted):
            gap = int(wanted[done]) - self.cursor
            count = min(_ROWS_PER_SMALL_DRAW, gap if gap > 0 else int(wanted[-1]) + 1 - self.cursor)
            block = self.rng.random_sample((count, self.width))
            if gap <= 0:  # else rows nobody asked for: drawn and dropped
                stop = int(np.searchsorted(wanted, self.cursor + count))
                use(order[done:stop], block[wanted[done:stop] - self.cursor])
                done = stop
            self.cursor += count
