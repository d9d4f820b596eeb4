"""An exponential moving average of a model's weights, for validation, evaluation and saving.

Averaging the iterates of Adam removes most of their step-to-step noise (Polyak & Juditsky
1992); for VAEs the averaged weights score a better ELBO than the last iterate at no extra
training cost, which is why NVAE and VDVAE evaluate their EMA copies.
"""

from __future__ import annotations

import copy

import torch

from vaekit.models import LatentVariableModel


class WeightAverage:
    """A frozen copy of `model` whose floating-point tensors track an EMA of the model's.

    The decay used at update n is min(decay, (1 + n) / (10 + n)): early averages forget
    their random start quickly, later ones average over about 1 / (1 - decay) steps.
    """

    def __init__(self, model: LatentVariableModel, decay: float) -> None:
        self.decay = decay
        self.num_updates = 0
        self.model = copy.deepcopy(model)
        self.model.requires_grad_(False)
        self.model.metadata = model.metadata  # one dict: the export carries the same sections

    def _pairs(self, model: LatentVariableModel) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        ours, theirs = [], []
        live = model.state_dict()
        for name, tensor in self.model.state_dict().items():
            if tensor.is_floating_point():
                ours.append(tensor)
                theirs.append(live[name].detach())
        return ours, theirs

    @torch.no_grad()
    def update(self, model: LatentVariableModel) -> None:
        """average <- average + (1 - d) * (weights - average), one fused pass over tensors."""
        decay = min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        ours, theirs = self._pairs(model)
        torch._foreach_lerp_(ours, theirs, 1.0 - decay)
        self.num_updates += 1

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {name: tensor.detach().clone() for name, tensor in self.model.state_dict().items()}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], num_updates: int) -> None:
        self.model.load_state_dict(tensors, strict=True)
        self.num_updates = num_updates
