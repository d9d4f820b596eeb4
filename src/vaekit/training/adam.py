"""Adam (and AdamW) stepping with torch's fused kernel, without torch.optim around it.

torch.optim's optimizers import torch._dynamo (1.2-2 s of pure Python on this project's
2-core CPU) when they are built, and wrap every step in calls that exist for torch.compile
(two graph breaks and a dynamo-disabled function: ~0.15 ms of a 6 ms step of the canonical
model). `FusedAdam` calls the same kernel torch.optim.Adam(fused=True) calls, with the same
arguments, so the weights it produces are bit-identical (tests/training/test_adam.py), and
its state_dict has torch.optim.Adam's layout, so checkpoints written by either load into
the other. Used where the fused kernel runs (`fused_adam_supported`); elsewhere
`make_adam` falls back to torch.optim.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

# torch.optim.Adam's param_group keys, with the values FusedAdam always has
_FIXED_GROUP_FIELDS = {
    "amsgrad": False,
    "maximize": False,
    "foreach": None,
    "capturable": False,
    "differentiable": False,
    "fused": True,
}
_STATE_KEYS = ("step", "exp_avg", "exp_avg_sq")


def fused_adam_supported(params: list[torch.Tensor]) -> bool:
    """True when torch's fused Adam kernel runs on all of `params` (floating point, on the
    CPU or a CUDA device, one device for all)."""
    if not params or not hasattr(torch, "_fused_adam_"):
        return False
    devices = {p.device for p in params}
    return (
        len(devices) == 1
        and next(iter(devices)).type in ("cpu", "cuda")
        and all(
            p.dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16) for p in params
        )  # fmt: skip
    )


class FusedAdam:
    """Adam over one group of parameters; weight_decay > 0 gives AdamW's decoupled decay
    (Loshchilov & Hutter 2019). The learning rate is read from param_groups[0]["lr"] at
    every step, so schedules set it there as they would for torch.optim."""

    def __init__(
        self,
        params: list[torch.Tensor],
        lr: float,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.params = list(params)
        group = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        group.update(_FIXED_GROUP_FIELDS, decoupled_weight_decay=weight_decay > 0)
        self.param_groups = [{**group, "params": self.params}]
        # per parameter (by position): step (0-dim float32 on its device), exp_avg, exp_avg_sq
        self.state: dict[int, dict[str, torch.Tensor]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One Adam step for every parameter that has a gradient."""
        group = self.param_groups[0]
        params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
        for index, p in enumerate(self.params):
            if p.grad is None:
                continue
            state = self.state.get(index)
            if state is None:
                state = self.state[index] = {
                    "step": torch.zeros((), dtype=torch.float32, device=p.device),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                }
            params.append(p)
            grads.append(p.grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        if not params:
            return
        torch._foreach_add_(steps, 1)
        kernel = torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_
        beta1, beta2 = group["betas"]
        kernel(params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False,
               lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
               weight_decay=float(group["weight_decay"]), eps=float(group["eps"]),
               maximize=False, grad_scale=None, found_inf=None)  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """torch.optim.Adam's layout: {"state": {index: {step, exp_avg, exp_avg_sq}},
        "param_groups": [{...settings, "params": [indices]}]} (the tensors are the live ones,
        as torch.optim hands them out)."""
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        group["params"] = list(range(len(self.params)))
        state = {index: dict(values) for index, values in self.state.items()}
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state_dict of this class or of torch.optim.Adam/AdamW (fused or not) for the
        same parameters; ValueError when it does not fit them. The tensors are copied."""
        groups = state_dict["param_groups"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(self.params):
            raise ValueError(
                f"the saved optimizer holds {sum(len(g['params']) for g in groups)} "
                f"parameters in {len(groups)} groups; this one has {len(self.params)} in 1"
            )
        saved_group = groups[0]
        if saved_group.get("amsgrad") or saved_group.get("maximize"):
            raise ValueError("the saved optimizer uses amsgrad or maximize; FusedAdam does not")
        position = {saved: index for index, saved in enumerate(saved_group["params"])}
        state: dict[int, dict[str, torch.Tensor]] = {}
        for saved_index, values in state_dict["state"].items():
            index = position.get(int(saved_index))
            if index is None or set(_STATE_KEYS) - set(values):
                raise ValueError(f"the saved optimizer state of parameter {saved_index} is "
                                 f"not Adam's ({', '.join(_STATE_KEYS)})")  # fmt: skip
            p = self.params[index]
            moments = {key: values[key] for key in ("exp_avg", "exp_avg_sq")}
            for key, value in moments.items():
                if tuple(value.shape) != tuple(p.shape):
                    raise ValueError(
                        f"saved {key} of parameter {index} has shape {tuple(value.shape)}, "
                        f"the parameter {tuple(p.shape)}"
                    )
            step = torch.as_tensor(values["step"])
            state[index] = {
                "step": step.detach().to(device=p.device, dtype=torch.float32).clone(),
                **{k: v.detach().to(device=p.device, dtype=p.dtype).clone()
                   for k, v in moments.items()},
            }  # fmt: skip
        settings = {k: copy.deepcopy(v) for k, v in saved_group.items() if k != "params"}
        settings["betas"] = tuple(settings.get("betas", (0.9, 0.999)))
        settings.update(_FIXED_GROUP_FIELDS)
        # torch before 2.6 did not record it (AdamW was its own class): then it is ours,
        # which make_adam chose from weight_decay as it chose between Adam and AdamW
        ours = self.param_groups[0]["decoupled_weight_decay"]
        settings["decoupled_weight_decay"] = bool(saved_group.get("decoupled_weight_decay", ours))
        self.param_groups = [{**settings, "params": self.params}]
        self.state = state
