"""`vaekit train --resume`: which of the given flags a resumed run cannot honour.

A resumed run continues with the model, data and training settings stored in its
checkpoint; only --epochs and --time-budget change it (both are totals over all sessions).
Any other training flag given with --resume is named in a warning instead of being
dropped silently.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

# flags that act on a resumed run: how long it trains, where it is, how this process runs
HONOURED_ON_RESUME = frozenset(
    {
        "epochs",
        "time_budget_seconds",
        "out",
        "resume",
        "quiet",
        "tensorboard",
        "device",
        "compile",
        "threads",
        "seed",
        "verbose",
        "command",
        "help",
    }  # fmt: skip
)


def ignored_flags(
    args: argparse.Namespace, add_arguments: Callable[[argparse.ArgumentParser], None]
) -> list[str]:
    """'--flag value' for each flag given away from its default that a resume ignores.

    add_arguments: the command's own argument builder, run on a fresh parser to learn every
    flag and its default, so a flag added later is covered without edits here.
    """
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    ignored = []
    for action in parser._actions:  # argparse has no public list of a parser's actions
        if action.dest in HONOURED_ON_RESUME or not action.option_strings:
            continue
        value = getattr(args, action.dest, action.default)
        if value != action.default:
            shown = " ".join(map(str, value)) if isinstance(value, list) else value
            text = "" if isinstance(value, bool) else f" {shown}"
            ignored.append(f"{max(action.option_strings, key=len)}{text}")
    return ignored
