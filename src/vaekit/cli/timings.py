"""timings.json: where the wall time of a `vaekit train` went, phase by phase.

Phases (seconds): start-up (from the command's entry to the train command running: mostly
importing torch), data (loading and checking the dataset), setup (building the model),
steps, validation and checkpoints (fit()'s own clocks; checkpoints include metrics.csv),
fit other (the rest of fit(): engine set-up, resume), pictures (the end-of-run gallery and
report.md). `total_seconds` runs from the command's entry to the file's writing; the time
before the entry (the interpreter starting) is the caller's to measure, against
`command_started_unix`.
"""

from __future__ import annotations

import time
from pathlib import Path

from vaekit.io import write_json

TIMINGS_FILE = "timings.json"


class PhaseClock:
    """Wall time by phase: each mark() charges the time since the previous mark to a phase."""

    def __init__(self, started_unix: float | None = None) -> None:
        now = time.time()
        self.started_unix = now if started_unix is None else started_unix
        self.seconds: dict[str, float] = {"start-up": now - self.started_unix}
        self._last = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._last
        self._last = now

    def add_fit(self, fit_phases: dict[str, float]) -> None:
        """Split the last mark's "fit" phase into fit()'s own phases and the rest."""
        total = self.seconds.pop("fit", 0.0)
        self.seconds.update(fit_phases)
        self.seconds["fit other"] = max(0.0, total - sum(fit_phases.values()))

    def write(self, run_dir: Path) -> None:
        """OUT/timings.json with the phases so far (written atomically)."""
        payload = {
            "command_started_unix": self.started_unix,
            "seconds": self.seconds,
            "total_seconds": time.time() - self.started_unix,
        }
        write_json(run_dir / TIMINGS_FILE, payload)
