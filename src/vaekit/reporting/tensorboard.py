"""TensorBoard events while training: scalars, a sample grid each epoch, KL per dimension.

Written through torch.utils.tensorboard, which needs the `tensorboard` package (the optional
extra `vaekit[tensorboard]`). Tags:
- `step/<metric>`: running means each logging step (x axis: optimizer step);
- `epoch/<metric>`: the metrics.csv row of each epoch, plus `epoch/active_units`
  (x axis: epochs finished);
- `samples`: 64 prior samples each epoch, from the same z every epoch (images, VAEs only);
- `latent/kl_per_dimension`, `latent/activity`: histograms over latent dimensions of the
  mean KL(q(z_d|x) || p(z_d)) in nats and of Cov_x(E_q[z_d]), on up to 500 validation
  examples.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from vaekit.data import DataSplits
from vaekit.errors import ConfigError
from vaekit.features import latent_activity
from vaekit.models import LatentVariableModel
from vaekit.reporting.images import image_grid
from vaekit.sampling import generation_labels, known_labels, prior_samples
from vaekit.training import TrainCallback

TENSORBOARD_DIR = "tensorboard"
ACTIVITY_EXAMPLES = 500


def summary_writer_class() -> type:
    """torch's SummaryWriter; ConfigError (one line) when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError(
            "--tensorboard needs the tensorboard package: pip install 'vaekit[tensorboard]'"
        ) from None
    return SummaryWriter


class TensorBoardCallback(TrainCallback):
    """Writes a run's TensorBoard events under log_dir (see the module docstring for tags).

    data: the run's splits (pictures and histograms use validation examples); seed fixes the
    prior draws of the sample grid, so every epoch decodes the same z. Nothing here draws
    from the global RNG, so training is the same with or without this callback.
    """

    def __init__(self, log_dir: str | os.PathLike, data: DataSplits, *, seed: int = 0) -> None:
        self.writer = summary_writer_class()(log_dir=str(log_dir))
        self.data = data
        self.seed = seed

    def on_step(self, state: Any, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            if key != "epoch":
                self.writer.add_scalar(f"step/{key}", value, state.step)

    def on_epoch_end(self, state: Any, metrics: dict[str, float]) -> None:
        epoch = int(metrics["epoch"])
        for key, value in metrics.items():
            if key != "epoch":
                self.writer.add_scalar(f"epoch/{key}", value, epoch)
        model = state.eval_model
        was_training = model.training
        model.eval()
        try:
            self._pictures(model, epoch)
        finally:
            model.train(was_training)
        self.writer.flush()

    def on_fit_end(self, state: Any) -> None:
        self.writer.close()

    def _pictures(self, model: LatentVariableModel, epoch: int) -> None:
        device = next(model.parameters()).device
        if self.data.spec.kind == "image" and model.has_likelihood_bound:
            generator = torch.Generator(device=device).manual_seed(self.seed)
            labels = generation_labels(model, 64)
            labels = None if labels is None else labels.to(device)
            samples = prior_samples(model, 64, y=labels, generator=generator)
            columns = 8 if labels is None else model.num_classes  # one class per column
            grid = image_grid(samples.cpu(), num_columns=columns)
            self.writer.add_image("samples", grid, epoch, dataformats="HWC")
        split = self.data.val if len(self.data.val) >= 2 else self.data.train
        if len(split) < 2:
            return
        x = split.x[:ACTIVITY_EXAMPLES].to(device)
        y = None if split.y is None else split.y[:ACTIVITY_EXAMPLES].to(device)
        with torch.inference_mode():
            labels = known_labels(model, x, y)
        activity = latent_activity(model, x, labels)
        self.writer.add_scalar("epoch/active_units", activity.num_active, epoch)
        self.writer.add_histogram("latent/activity", activity.activity, epoch)
        if activity.kl_per_dim is not None:
            self.writer.add_histogram("latent/kl_per_dimension", activity.kl_per_dim, epoch)


def tensorboard_callbacks(
    enabled: bool, run_dir: str | os.PathLike, data: DataSplits, *, seed: int
) -> list[TrainCallback]:
    """[TensorBoardCallback writing to run_dir/tensorboard] when enabled, else []."""
    if not enabled:
        return []
    return [TensorBoardCallback(Path(run_dir) / TENSORBOARD_DIR, data, seed=seed)]
