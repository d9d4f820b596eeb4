"""The explorer's model side: decode latents, interpolate, score an uploaded image.

One Explorer holds a loaded model read-only (eval mode, no gradients) and answers the web
app's requests with plain JSON-ready dicts. Images travel as {"width", "height",
"channels", "pixels"}: pixels are base64 of the uint8 values in row-major (H, W, C) order,
which the page draws on a canvas. Every model call runs under one lock: torch modules are
not documented as safe to call from several threads at once, and with a small model the
lock costs less than a request's HTTP round trip.
"""

from __future__ import annotations

import base64
import io
import math
import threading
import warnings
from typing import Any

import numpy as np
import torch
from PIL import Image

from vaekit.compression import compress
from vaekit.data import DataSpec, Split
from vaekit.errors import ConfigError, DataError, VaekitError
from vaekit.features import latent_activity
from vaekit.likelihoods import BINARY_LIKELIHOODS
from vaekit.models import LatentVariableModel
from vaekit.sampling import interpolate, known_labels
from vaekit.units import nats_to_bits_per_dim

NUM_SLIDERS = 8
NUM_EXAMPLES = 24
INTERPOLATION_STEPS = 10
NLL_SAMPLES = 100  # importance samples for an uploaded image's NLL
MAX_PIXELS = 4096 * 4096  # larger uploads are refused before they are decoded
MAX_LATENT = 1e3


def image_payload(values: torch.Tensor) -> dict[str, Any]:
    """values: (C, H, W) in [0, 1] -> the JSON form the page draws."""
    pixels = (values.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    channels, height, width = pixels.shape
    raw = pixels.permute(1, 2, 0).contiguous().numpy().tobytes()
    return {
        "width": width,
        "height": height,
        "channels": channels,
        "pixels": base64.b64encode(raw).decode("ascii"),
    }


class Explorer:
    """Answers for one model. examples: the split whose first images the page offers for
    interpolation (None: no data, so no examples, and sliders start from z = 0)."""

    def __init__(
        self, model: LatentVariableModel, spec: DataSpec, examples: Split | None, *, seed: int = 0
    ) -> None:
        self.model = model.eval().requires_grad_(False)
        self.spec = spec
        self.device = next(model.parameters()).device
        self.seed = seed
        self.lock = threading.Lock()
        self.examples = self._first_examples(examples)
        self._setup_latents(examples)

    def _first_examples(self, split: Split | None) -> Split | None:
        if split is None or len(split) == 0:
            return None
        x = split.x[:NUM_EXAMPLES].to(self.device)
        y = None if split.y is None else split.y[:NUM_EXAMPLES].to(self.device)
        with torch.inference_mode():
            return Split(x=x, y=known_labels(self.model, x, y))

    def _setup_latents(self, split: Split | None) -> None:
        """The slider dims (most active), their ranges, and the starting z."""
        dims = list(range(min(NUM_SLIDERS, self.model.latent_dim)))
        self.kl_per_dim: list[float] | None = None
        self.base_z = torch.zeros(self.model.latent_dim)
        spread = torch.ones(self.model.latent_dim)
        if split is not None and len(split) >= 2:
            x = split.x[:1000].to(self.device)
            y = None if split.y is None else split.y[:1000].to(self.device)
            with torch.inference_mode():
                labels = known_labels(self.model, x, y)
            activity = latent_activity(self.model, x, labels)
            dims = activity.most_active(NUM_SLIDERS)
            if activity.kl_per_dim is not None:
                self.kl_per_dim = [float(v) for v in activity.kl_per_dim]
            self.base_z = activity.means[0].clone()
            spread = activity.means.abs().amax(dim=0)
        self.dims = dims
        # wide enough for the prior's +-3 std and every posterior mean seen
        self.ranges = [max(3.0, math.ceil(float(spread[d]) * 1.2)) for d in dims]

    @property
    def is_image(self) -> bool:
        return self.spec.kind == "image"

    def info(self) -> dict[str, Any]:
        """What the page needs to build itself."""
        dims = self.dims
        return {
            "model": type(self.model).__name__,
            "source": self.spec.source,
            "kind": self.spec.kind,
            "shape": list(self.spec.shape),
            "latent_dim": self.model.latent_dim,
            "dims": dims,
            "ranges": self.ranges,
            "kl_per_dim": None if self.kl_per_dim is None else [self.kl_per_dim[d] for d in dims],
            "base_z": [float(v) for v in self.base_z],
            "num_examples": 0 if self.examples is None else len(self.examples),
            "has_likelihood_bound": self.model.has_likelihood_bound,
            "feature_names": list(self.spec.feature_names or ()),
        }

    def example_images(self) -> list[dict[str, Any]]:
        if self.examples is None or not self.is_image:
            return []
        return [image_payload(x) for x in self.examples.x]

    def decode(self, z: list[float]) -> dict[str, Any]:
        """z: latent_dim numbers -> the mean of p(x|z): an image, or a table row in the data's
        column units ({"row": [...]})."""
        latent = self._checked_z(z)
        labels = None if self.examples is None else self.examples.y
        labels = None if labels is None else labels[:1]
        with self.lock, torch.inference_mode():
            mean = self.model.decode(latent, labels).mean[0].cpu()
        if self.is_image:
            return image_payload(mean)
        return {"row": self._in_column_units(mean).tolist()}

    def _checked_z(self, z: Any) -> torch.Tensor:
        if not isinstance(z, list) or len(z) != self.model.latent_dim:
            raise DataError(f"z must be a list of {self.model.latent_dim} numbers")
        if not all(isinstance(v, (int, float)) and abs(v) <= MAX_LATENT for v in z):
            raise DataError(f"z must hold finite numbers within +-{MAX_LATENT:g}")
        return torch.tensor([z], dtype=torch.float32, device=self.device)

    def _in_column_units(self, row: torch.Tensor) -> np.ndarray:
        values = row.numpy().astype(np.float64)
        if self.spec.feature_mean is not None and self.spec.feature_std is not None:
            values = values * np.asarray(self.spec.feature_std) + np.asarray(self.spec.feature_mean)
        return values

    def interpolate(self, start: Any, end: Any) -> dict[str, list[dict[str, Any]]]:
        """Linear and spherical paths between two of the offered examples."""
        if self.examples is None or not self.is_image:
            raise ConfigError("interpolation needs the run's test images")
        count = len(self.examples)
        for index in (start, end):
            if not isinstance(index, int) or not 0 <= index < count:
                raise DataError(f"example index must be an integer in 0..{count - 1}")
        x, y = self.examples.x, self.examples.y
        pair_y = None if y is None else y[[start, end]]
        paths = {}
        with self.lock:
            for method in ("linear", "slerp"):
                path = interpolate(self.model, x[start], x[end], INTERPOLATION_STEPS,
                                   method=method, y=pair_y)  # fmt: skip
                paths[method] = [image_payload(image) for image in path]
        return paths

    def upload(self, raw: bytes) -> dict[str, Any]:
        """An uploaded image file -> the image as the model sees it, its reconstruction, NLL
        (nats and bits/dim) and, for models the coder handles, its compressed size."""
        if not self.is_image:
            raise ConfigError("this run models table rows; uploads take images only")
        x = self.to_model_input(read_image(raw, self.spec.shape))
        answer: dict[str, Any] = {"input": image_payload(x[0])}
        with self.lock, torch.inference_mode():
            labels = known_labels(self.model, x, None)
            answer["reconstruction"] = image_payload(self.model.reconstruct(x, labels)[0])
            if self.model.has_likelihood_bound:
                generator = torch.Generator(device=self.device).manual_seed(self.seed)
                log_px = self.model.log_likelihood(x, NLL_SAMPLES, y=labels, generator=generator)
                nll = -float(log_px[0])
                answer["nll_nats"] = nll
                answer["bits_per_dim"] = nats_to_bits_per_dim(nll, self.spec.num_dims)
                answer["nll_samples"] = NLL_SAMPLES
        answer.update(self._compressed_size(x))
        return answer

    def to_model_input(self, values: np.ndarray) -> torch.Tensor:
        """(C, H, W) floats in [0, 1] -> (1, C, H, W) on the model's value grid: 0/1 for a
        binary model (threshold 1/2), the data's levels otherwise."""
        likelihood = getattr(self.model.config, "likelihood", "")
        if self.spec.binarize != "none" or likelihood in BINARY_LIKELIHOODS:
            values = (values >= 0.5).astype(np.float32)
        elif self.spec.levels is not None:
            steps = self.spec.levels - 1
            values = (np.rint(values * steps) / steps).astype(np.float32)
        return torch.from_numpy(values).unsqueeze(0).to(self.device)

    def _compressed_size(self, x: torch.Tensor) -> dict[str, Any]:
        """{"compressed_bits": size of the .vkz file of this one image} or
        {"compressed_note": why the coder cannot code this model}."""
        levels = 2 if getattr(self.model.config, "likelihood", "") in BINARY_LIKELIHOODS else 256
        symbols = np.rint(x.cpu().numpy() * (levels - 1)).astype(np.uint8)
        try:
            with self.lock:
                data = compress(self.model, symbols)
        except VaekitError as err:
            return {"compressed_note": str(err)}
        return {"compressed_bits": 8 * len(data)}


def read_image(raw: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """An image file's bytes -> (C, H, W) float32 in [0, 1], converted to C channels (grey or
    RGB) and resized to H x W (area averages when shrinking). DataError for anything PIL
    cannot read as an image."""
    channels, height, width = shape
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))
            if image.width * image.height > MAX_PIXELS:
                raise DataError(f"the image is {image.width}x{image.height}; the limit is "
                                f"{MAX_PIXELS} pixels")  # fmt: skip
            image.load()
    except DataError:
        raise
    except Exception as err:  # PIL raises many kinds for a file that is not an image
        raise DataError(
            "the file is not an image vaekit can read (PNG, JPEG, GIF, BMP, WebP, ...): "
            f"{type(err).__name__}"
        ) from None
    # shrinking averages each output pixel's area (BOX); enlarging interpolates
    shrinking = image.width >= width and image.height >= height
    image = image.convert("L" if channels == 1 else "RGB").resize(
        (width, height), Image.BOX if shrinking else Image.BILINEAR
    )
    array = np.asarray(image, dtype=np.float32) / 255.0
    array = array[None] if channels == 1 else array.transpose(2, 0, 1)
    return np.ascontiguousarray(array)
