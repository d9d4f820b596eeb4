"""Export a model's encoder and decoder to ONNX, for inference without PyTorch or vaekit.

A folder gets three files, written to a temporary folder and renamed into place:
- encoder.onnx: x (B, *input_shape) float32 -> the posterior's parameters, `mean` (B, D) and,
  for a Gaussian posterior, `log_var` (B, D);
- decoder.onnx: z (B, D) float32 -> the likelihood's parameters (`logits` for a Bernoulli,
  `mean` and `log_var` for a Gaussian, `loc` and `log_scale` for a discretized logistic,
  plus `log_weights` for a mixture), each (B, ...) with the batch dimension dynamic;
- export.json: the graphs' inputs and outputs with their shapes, the likelihood, and the
  data spec the model was trained on (shape, scaling, table statistics).

Graphs are traced by torch.onnx.export's TorchScript exporter (dynamo=False): it needs only
the `onnx` package, while the torch.export-based one also needs onnxscript.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vaekit.distributions import Bernoulli, DiagonalGaussian, Distribution
from vaekit.distributions.point_mass import PointMass
from vaekit.errors import ConfigError
from vaekit.likelihoods.discretized_logistic import DiscretizedLogistic
from vaekit.likelihoods.logistic_mixture import DiscretizedLogisticMixture
from vaekit.models import LatentVariableModel
from vaekit.models.registry import model_name
from vaekit.version import __version__

FORMATS = ("onnx",)
OPSET_VERSION = 17
EXPORT_FILES = ("encoder.onnx", "decoder.onnx", "export.json")
EXPORT_FORMAT_VERSION = 1
_TRACE_BATCH = 2  # a batch of 1 can let the tracer fold the batch size into reshapes


def _full(param: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """param broadcast to like's shape (a learned per-dimension log-variance has no batch)."""
    return param.expand_as(like)


# distribution -> its parameters by output name; what the exported graphs return
PARAMETERS: dict[type[Distribution], Callable[[Any], dict[str, torch.Tensor]]] = {
    DiagonalGaussian: lambda d: {"mean": d.loc, "log_var": _full(d.log_var, d.loc)},
    PointMass: lambda d: {"mean": d.value},
    Bernoulli: lambda d: {"logits": d.logits},
    DiscretizedLogistic: lambda d: {"loc": d.loc, "log_scale": _full(d.log_scale, d.loc)},
    DiscretizedLogisticMixture: lambda d: {
        "log_weights": d.log_weights,
        "loc": d.components.loc,
        "log_scale": d.components.log_scale,
    },
}
MEANINGS = {
    DiagonalGaussian: "Gaussian: mean and log-variance per value",
    PointMass: "a point: the code itself",
    Bernoulli: "Bernoulli: p = sigmoid(logits) per value",
    DiscretizedLogistic: "discretized logistic on num_levels bins of [0, 1]: loc, log_scale",
    DiscretizedLogisticMixture: (
        "mixture of discretized logistics on num_levels bins of [0, 1]: log_weights, loc, "
        "log_scale, mixture axis 1"
    ),
}


def _parameters(dist: Distribution, what: str, model: LatentVariableModel) -> dict:
    extract = PARAMETERS.get(type(dist))
    if extract is None:
        raise ConfigError(
            f"cannot export a {type(model).__name__} whose {what} is a "
            f"{type(dist).__name__}: it has no fixed set of parameters to output "
            f"(exportable: {', '.join(cls.__name__ for cls in PARAMETERS)})"
        )
    return extract(dist)


class _Graph(nn.Module):
    """model.encode or model.decode with the distribution's parameters as a tuple of tensors."""

    def __init__(self, model: LatentVariableModel, method: str, what: str) -> None:
        super().__init__()
        self.model, self.method, self.what = model, method, what

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        dist = getattr(self.model, self.method)(inputs)
        return tuple(_parameters(dist, self.what, self.model).values())


def check_format(export_format: str) -> None:
    """ConfigError unless export_format is one of FORMATS."""
    if export_format not in FORMATS:
        raise ConfigError(f"unknown export format {export_format!r}; choose {', '.join(FORMATS)}")


def check_exportable(model: LatentVariableModel, export_format: str) -> None:
    """ConfigError naming the reason when `model` cannot be exported to `export_format`."""
    check_format(export_format)
    if model.uses_labels:
        raise ConfigError(
            f"cannot export a {type(model).__name__}: it reads labels (conditional or "
            "classifying models), and exported graphs take x or z only"
        )
    if importlib.util.find_spec("onnx") is None:
        raise ConfigError("ONNX export needs the onnx package: pip install 'vaekit[export]'")


def _export_graph(graph: _Graph, example: torch.Tensor, path: Path, input_name: str) -> None:
    names = list(_parameters(getattr(graph.model, graph.method)(example), graph.what, graph.model))
    dynamic = {name: {0: "batch"} for name in (input_name, *names)}
    with warnings.catch_warnings():
        # the TorchScript exporter announces its deprecation and traces with TracerWarnings
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=names,
            dynamic_axes=dynamic,
            opset_version=OPSET_VERSION,
            dynamo=False,
        )


def _describe(dist: Distribution, params: dict[str, torch.Tensor]) -> dict:
    described = {
        "distribution": type(dist).__name__,
        "meaning": MEANINGS[type(dist)],
        "outputs": {name: ["batch", *value.shape[1:]] for name, value in params.items()},
    }
    if hasattr(dist, "num_levels"):
        described["num_levels"] = int(dist.num_levels)
    return described


@torch.no_grad()
def export_description(model: LatentVariableModel) -> dict:
    """The export.json content: graphs' inputs and outputs, likelihood and data spec."""
    example = torch.zeros(_TRACE_BATCH, *model.input_shape)
    posterior = model.encode(example)
    encoder_params = _parameters(posterior, "posterior", model)
    z = encoder_params["mean"]
    likelihood = model.decode(z)
    return {
        "format": "onnx",
        "format_version": EXPORT_FORMAT_VERSION,
        "vaekit_version": __version__,
        "opset_version": OPSET_VERSION,
        "model": model_name(model),
        "encoder": {
            "file": "encoder.onnx",
            "inputs": {"x": ["batch", *model.input_shape]},
            **_describe(posterior, encoder_params),
        },
        "decoder": {
            "file": "decoder.onnx",
            "inputs": {"z": ["batch", int(z.shape[1])]},
            "likelihood": getattr(model.config, "likelihood", None),
            **_describe(likelihood, _parameters(likelihood, "likelihood", model)),
        },
        "data": model.metadata.get("data"),
    }


def _replace_folder(tmp: Path, out: Path) -> None:
    """Move tmp to out; an earlier export at out is swapped out, then removed."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def check_export_folder(out: str | os.PathLike) -> Path:
    """out as a Path; ConfigError when it is a file or a folder holding anything but an
    earlier export's files (which an export replaces)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output {out} is a file; give a folder")
    if out.is_dir():
        others = sorted(p.name for p in out.iterdir() if p.name not in EXPORT_FILES)
        if others:
            raise ConfigError(f"output folder {out} holds other files ({', '.join(others[:3])})")
    return out


@torch.no_grad()
def export_model(model: LatentVariableModel, out: str | os.PathLike, export_format: str) -> dict:
    """Write encoder.onnx, decoder.onnx and export.json to the folder `out`; returns the
    description written to export.json.

    The model is exported on the CPU in float32, in eval mode. Raises ConfigError for an
    unknown format, a model that cannot be exported (labels, a likelihood without fixed
    parameters) or a missing onnx package; `out` is untouched on any error.
    """
    check_exportable(model, export_format)
    out = check_export_folder(out)
    model = copy.deepcopy(model).to("cpu", torch.float32).eval()  # the caller's stays put
    description = export_description(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        example = torch.zeros(_TRACE_BATCH, *model.input_shape)
        _export_graph(_Graph(model, "encode", "posterior"), example, tmp / "encoder.onnx", "x")
        z = torch.zeros(_TRACE_BATCH, description["decoder"]["inputs"]["z"][1])
        _export_graph(_Graph(model, "decode", "likelihood"), z, tmp / "decoder.onnx", "z")
        (tmp / "export.json").write_text(json.dumps(description, indent=2) + "\n")
        _replace_folder(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return description
