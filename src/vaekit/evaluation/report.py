"""EvalReport: what an evaluation measured, in stated units."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EvalReport:
    """Per-example means over `num_examples` examples of one split.

    elbo_nats: one-sample ELBO (higher is better); nll_nats: -log p(x) estimated by the
    importance-weighted bound with `iw_samples` samples (lower is better; None when
    iw_samples is 0 or the model has no likelihood bound). bits_per_dim is nll_nats (or -ELBO
    when no NLL was computed) / (num_dims * ln 2), and `bits_per_dim_source` says which.
    density_note is non-empty when the numbers are not code lengths of discrete data.
    For a conditional model every figure is of log p(x | y), given the split's labels
    (`conditional` is True). accuracy: fraction of labelled examples whose predicted class is
    right, for models that classify (None otherwise).
    """

    split: str
    num_examples: int
    num_dims: int
    iw_samples: int
    elbo_nats: float | None
    nll_nats: float | None
    bits_per_dim: float | None
    bits_per_dim_source: str
    reconstruction_nats: float
    kl_nats: float | None
    data_scaling: str
    seconds: float
    density_note: str = ""
    conditional: bool = False
    accuracy: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
