"""SIGINT/SIGTERM during training: finish the step, save a checkpoint, exit cleanly."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


class StopRequest:
    """A callable flag for fit(should_stop=...): set by the first SIGINT or SIGTERM."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __call__(self) -> bool:
        return self.signal_name is not None

    @property
    def exit_code(self) -> int:
        """The shell convention: 128 + signal number."""
        number = signal.Signals[self.signal_name] if self.signal_name else signal.SIGINT
        return 128 + int(number)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Route SIGINT/SIGTERM to a StopRequest while the block runs; restore handlers after."""
    request = StopRequest()

    def handle(signum, _frame) -> None:
        request.signal_name = signal.Signals(signum).name

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
