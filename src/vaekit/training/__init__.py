"""Training: fit(), TrainConfig, TrainState, checkpoints and resume."""

from vaekit.training.callbacks import TrainCallback
from vaekit.training.checkpoint import has_checkpoint, restore_checkpoint, save_checkpoint
from vaekit.training.config import TrainConfig
from vaekit.training.loop import fit
from vaekit.training.presets import Preset, table_recipe
from vaekit.training.state import TrainState

__all__ = [
    "Preset",
    "TrainCallback",
    "TrainConfig",
    "TrainState",
    "fit",
    "has_checkpoint",
    "restore_checkpoint",
    "save_checkpoint",
    "table_recipe",
]
