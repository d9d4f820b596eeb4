"""argparse types for every numeric flag: a bad value is refused while parsing, in one line.

Each factory returns a callable that turns the flag's text into a number or raises
argparse.ArgumentTypeError naming the allowed range. Floats must be finite (NaN and inf are
never useful settings, and they travel silently into all-NaN pictures), and every range has
an upper end, so that `--num-samples 1e18` is refused instead of exhausting memory.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from vaekit.models.config import MAX_WIDTH

# the upper ends: far beyond any sensible setting, well below what would exhaust memory
MAX_COUNT = 2**20  # examples, batch rows, steps: a million
MAX_SEED = 2**32 - 1  # numpy's RandomState takes seeds below 2**32


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An integer in low..high (both included)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in {low}..{high}, got {value}")
        return value

    parse.__name__ = f"int_in({low}, {high})"
    parse.number_kind = int  # lets tests find every numeric flag from the parser
    return parse


def float_in(
    low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> Callable[[str], float]:
    """A finite float in [low, high]; low_open/high_open exclude an end."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if not math.isfinite(value) or too_low or too_high:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            raise argparse.ArgumentTypeError(
                f"must be a finite number in {left}{low:g}, {high:g}{right}, got {text!r}"
            )
        return value

    parse.__name__ = f"float_in({low}, {high})"
    parse.number_kind = float
    return parse


def positive_int(high: int = MAX_COUNT) -> Callable[[str], int]:
    return int_in(1, high)


def nonnegative_int(high: int = MAX_COUNT) -> Callable[[str], int]:
    return int_in(0, high)


def positive_float(high: float = 1e6) -> Callable[[str], float]:
    return float_in(0.0, high, low_open=True)


def nonnegative_float(high: float = 1e6) -> Callable[[str], float]:
    return float_in(0.0, high)


SEED = int_in(0, MAX_SEED)
THREADS = int_in(1, 1024)
INDEX = nonnegative_int(2**31 - 1)  # an example's position; checked against the split later
WIDTH = positive_int(MAX_WIDTH)  # latent size, hidden units, channels
LATENT_INDEX = nonnegative_int(MAX_WIDTH)  # checked against the model's latent_dim later
MAX_SAMPLES = 100_000  # prior samples decoded at once, in memory
MAX_STEPS = 1_000  # pictures in an interpolation or a traversal row
# z is decoded from prior draws scaled by --temperature, or set to +-(--range): beyond a few
# hundred standard deviations the decoder's float32 outputs overflow into NaN
MAX_LATENT_SCALE = 100.0
