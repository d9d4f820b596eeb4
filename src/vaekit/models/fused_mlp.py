"""Hand-written ELBO gradient and importance weights for an MLP VAE with a Bernoulli decoder.

This is the fast path for the most common model (the canonical MLP VAE of the benchmark
protocol, docs/benchmarks/README.md, and its wider or deeper cousins). Autograd runs each
elementwise step of the loss as its own kernel, with saved buffers and a graph to walk; at
batch 128 those kernels, not the matrix multiplications, take most of a training step on a
CPU. Here the forward pass keeps only what the backward pass needs, and the backward pass is
the closed form:

    d(-log p(x|z)) / d logits = sigmoid(logits) - x
    d KL / d mean = mean,   d KL / d log_var = (exp(log_var) - 1) / 2
    d z / d mean = 1,       d z / d log_var = eps * std / 2

For importance-weighted evaluation, log p(x|z) = x . logits - sum softplus(logits), and
x . logits = (x W) . h + x . b for the last layer logits = h W^T + b: x W is computed once
per example instead of once per sample, and sum softplus(logits) takes one sigmoid per
pixel (`_softplus_row_sums`), so the K samples cost little beyond the GEMMs. Both equal the
general code path's results to float tolerance (tests/training/test_fused_mlp.py).

Training in bf16 (`compute_dtype=torch.bfloat16`) runs the matrix multiplications, and only
them, on bf16 copies of the weights and layer inputs, as torch.autocast would: on a CPU with
bf16 dot-product instructions (AVX512-BF16, AMX) they take about a third of fp32's time. The
loss, the latent terms, the bias gradients and the weights the optimizer updates stay fp32.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn
from torch.nn.modules import module as module_globals

LOG_2PI = math.log(2 * math.pi)
# pixels per log in _softplus_row_sums: a product of this many sigmoids >= 1/2 stays >= 2^-64
_LOG_GROUP = 64
# config fields the fused code handles for any value; every other field must be its default
_FREE_FIELDS = {"input_shape", "latent_dim", "hidden_dims", "conv_channels"}
_REQUIRED = {"arch": "mlp", "activation": "relu", "likelihood": "bernoulli",
             "prior": "standard_normal"}  # fmt: skip


def fused_mlp_supported(model: nn.Module) -> bool:
    """True when the hand-written code computes `model`'s own loss and gradients.

    Two conditions, both needed:
    - the model's class itself declares `supports_fused_mlp = True` (VAE does). The flag is
      read from the class's own attributes, never inherited: a subclass may override the
      loss (training_terms), encode/decode/prior or the networks __init__ builds, and the
      fused code would silently compute the parent's ELBO instead, so a subclass gets
      autograd unless it declares the flag again;
    - its config passes `fused_mlp_options` (an MLP with ReLUs, a Bernoulli decoder, the
      N(0, I) prior).
    """
    if not vars(type(model)).get("supports_fused_mlp", False):
        return False
    return fused_mlp_options(getattr(model, "config", None))


def fused_mlp_options(config: object) -> bool:
    """True for a model config describing an MLP with ReLUs, a Bernoulli decoder and the
    N(0, I) prior, with every other option at its default (so options added later turn the
    fast path off until it learns them)."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        return False
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if field.name in _REQUIRED:
            if value != _REQUIRED[field.name]:
                return False
        elif field.name not in _FREE_FIELDS and value != field.default:
            return False
    return _REQUIRED.keys() <= {field.name for field in dataclasses.fields(config)}


def has_hooks(model: nn.Module) -> bool:
    """True if any module of `model` has a forward or backward hook: the fused code does not
    call the modules, so a model with hooks must take the autograd path to honour them."""
    if module_globals._global_forward_hooks or module_globals._global_forward_pre_hooks:
        return True
    for module in model.modules():
        if (
            module._forward_hooks
            or module._forward_pre_hooks
            or module._backward_hooks
            or module._backward_pre_hooks
        ):
            return True
    return False


class FusedMLPVAE:
    """The fast path over a supported VAE's own parameters (no copies: it reads the
    model's Linear layers each call, so it always sees the current weights)."""

    def __init__(self, model: nn.Module, *, compute_dtype: torch.dtype = torch.float32) -> None:
        if not fused_mlp_supported(model):
            raise ValueError(f"{type(model).__name__} is not an MLP VAE with a Bernoulli decoder")
        if compute_dtype not in (torch.float32, torch.bfloat16):
            raise ValueError(f"the fused MLP computes in float32 or bfloat16, not {compute_dtype}")
        self.compute_dtype = compute_dtype  # of loss_and_grads' GEMMs only
        self.latent_dim = model.config.latent_dim
        self.encoder_layers = _linear_layers(model.encoder.mlp.layers)
        self.decoder_layers = _linear_layers(model.decoder.mlp.layers)
        self._buffers: dict[int, torch.Tensor] = {}

    def _scratch(self, key: int, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """An uninitialised tensor for a layer's output, reused while shapes stay the same."""
        buffer = self._buffers.get(key)
        wanted = (torch.Size(shape), like.dtype, like.device)
        if buffer is None or (buffer.shape, buffer.dtype, buffer.device) != wanted:
            buffer = self._buffers[key] = like.new_empty(shape)
        return buffer

    def loss_and_grads(
        self, x: torch.Tensor, kl_weight: float, *, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (B, *input_shape) targets in [0, 1]. Sets every parameter's .grad to
        d loss / d parameter for loss = mean over the batch of (-log p(x|z) + kl_weight * KL).

        Returns 0-dim tensors (loss, reconstruction, kl): batch means in nats, where
        reconstruction = -log p(x|z) and kl = KL(q(z|x) || N(0, I)). The noise is drawn as
        DiagonalGaussian.rsample draws it, so both paths see the same samples.
        """
        batch = x.shape[0]
        scale = 1.0 / batch
        dtype = self.compute_dtype
        targets = x.reshape(batch, -1)  # (B, D)
        encoder_weights = _weights(self.encoder_layers, dtype)
        decoder_weights = _weights(self.decoder_layers, dtype)
        encoder_inputs, encoded = _forward(self.encoder_layers, targets, encoder_weights)
        mean, log_var = encoded[:, : self.latent_dim], encoded[:, self.latent_dim :]
        std = torch.exp(0.5 * log_var)
        eps = torch.randn(mean.shape, generator=generator, device=x.device, dtype=x.dtype)
        z = torch.addcmul(mean, std, eps)  # (B, L)
        decoder_inputs, logits = _forward(self.decoder_layers, z, decoder_weights)  # (B, D)

        # -log Bernoulli(x; sigmoid(l)) = softplus(l) - x * l, summed over the batch, with
        # softplus(l) = relu(l) - log sigmoid(|l|) and sigmoid(|l|) = 1/2 + |sigmoid(l) - 1/2|:
        # the sigmoid the gradient needs anyway stands in for softplus's exp and log1p per
        # pixel (measured at batch 1024: 1.0 against 2.2 ms for loss and d loss / d logits)
        probabilities = torch.sigmoid(logits)
        x_dot_logits = torch.dot(targets.flatten(), logits.flatten())
        relu_total = logits.clamp_min_(0.0).sum()
        sigmoid_magnitudes = torch.sub(probabilities, 0.5, out=logits).abs_().add_(0.5)
        reconstruction = relu_total - _row_sums_of_log(sigmoid_magnitudes).sum() - x_dot_logits
        variance = std * std
        kl = 0.5 * (mean * mean + variance - log_var - 1.0).sum()
        loss = (reconstruction + kl_weight * kl) * scale

        grad_logits = probabilities.sub_(targets).mul_(scale)
        grad_z = _backward(
            self.decoder_layers, decoder_weights, decoder_inputs, grad_logits, need_input=True
        ).float()
        grad_encoded = torch.empty_like(encoded)
        grad_mean = grad_encoded[:, : self.latent_dim]
        torch.add(grad_z, mean, alpha=kl_weight * scale, out=grad_mean)
        grad_log_var = grad_encoded[:, self.latent_dim :]
        torch.mul(grad_z, eps, out=grad_log_var).mul_(std).mul_(0.5)
        grad_log_var.add_(variance.sub_(1.0), alpha=0.5 * kl_weight * scale)
        _backward(
            self.encoder_layers, encoder_weights, encoder_inputs, grad_encoded, need_input=False
        )
        return loss, reconstruction * scale, kl * scale

    @torch.no_grad()
    def log_importance_weights(
        self,
        x: torch.Tensor,
        num_samples: int,
        *,
        generator: torch.Generator | None = None,
        posterior: tuple[torch.Tensor, torch.Tensor] | None = None,
        data_terms: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """log p(x, z_k) - log q(z_k|x) for K samples z_k ~ q(z|x): (K, B) nats.

        x: (B, *input_shape). `posterior` (mean, log_var) and `data_terms` (from
        `data_terms`) may be passed in to reuse them across chunks of samples. Draws the
        noise as DiagonalGaussian.rsample_n does.
        """
        batch = x.shape[0]
        targets = x.reshape(batch, -1)
        if posterior is None:
            posterior = self.posterior(targets)
        mean, log_var = posterior
        if data_terms is None:
            data_terms = self.data_terms(targets)
        x_weight, x_bias = data_terms  # (B, H), (B,)
        eps = torch.randn(
            (num_samples, *mean.shape), generator=generator, device=x.device, dtype=x.dtype
        )
        z = torch.addcmul(mean, torch.exp(0.5 * log_var), eps)  # (K, B, L)
        # the decoder writes into buffers kept across calls: chunks of thousands of rows
        # would otherwise take fresh pages from the OS every call (measured ~3,000 page
        # faults per 2,000-row chunk of the canonical model)
        rows = num_samples * batch
        hidden = z.reshape(rows, -1)
        last_index = len(self.decoder_layers) - 1
        for index, layer in enumerate(self.decoder_layers):
            out = self._scratch(index, (rows, layer.out_features), hidden)
            torch.addmm(layer.bias, hidden, layer.weight.t(), out=out)
            if index == last_index:
                logits = out  # (K*B, D)
            else:
                hidden = out.clamp_min_(0.0)  # (K*B, H)
        last = self.decoder_layers[-1]
        logit_sums = torch.addmv(last.bias.sum(), hidden, last.weight.sum(0))  # (K*B,)
        softplus_sum = _softplus_row_sums(logits, logit_sums).view(num_samples, batch)
        # (x W) . h for every sample against every example, then each sample's own example
        x_dot_logits = torch.mm(hidden, x_weight.t()).view(num_samples, batch, batch)
        x_dot_logits = x_dot_logits.diagonal(dim1=1, dim2=2).add(x_bias)  # (K, B)
        # log N(z; 0, I) - log N(z; mean, std^2): the 2 pi terms cancel
        log_ratio = 0.5 * (eps.square() - z.square()).sum(-1) + 0.5 * log_var.sum(-1)
        return x_dot_logits - softplus_sum + log_ratio

    @torch.no_grad()
    def posterior(self, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """targets (B, D) -> (mean, log_var), each (B, L)."""
        _, encoded = _forward(self.encoder_layers, targets)
        return encoded[:, : self.latent_dim], encoded[:, self.latent_dim :]

    @torch.no_grad()
    def data_terms(self, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x W and x . b of the decoder's last layer, per example: (B, H) and (B,)."""
        last = self.decoder_layers[-1]
        return targets @ last.weight, targets @ last.bias


def _softplus_row_sums(logits: torch.Tensor, logit_sums: torch.Tensor) -> torch.Tensor:
    """sum_d softplus(logits[n, d]) for each row n: (N,). Overwrites `logits` (N, D);
    `logit_sums` (N,) is logits.sum(1), which the caller gets from a GEMV instead.

    softplus(l) = relu(l) - log sigmoid(|l|) with relu(l) = (l + |l|) / 2, and the log of a
    product of sigmoid(|l|) >= 1/2 over _LOG_GROUP pixels at a time (never below 2^-64, far
    from float32 underflow): one sigmoid per pixel and a log per group, instead of the exp
    and log1p per pixel of softplus, which cost as much as a third of the decoder's GEMM.
    Rounding sigmoid(|l|) to float32 moves each term by at most ~6e-8 nats.
    """
    magnitudes = logits.abs_()
    relu_sums = magnitudes.sum(1).add_(logit_sums).mul_(0.5)
    return relu_sums.sub_(_row_sums_of_log(magnitudes.sigmoid_()))


def _row_sums_of_log(values: torch.Tensor) -> torch.Tensor:
    """sum_d log values[n, d] for each row n of a (N, D) tensor with entries in [1/2, 1]:
    (N,). Multiplies _LOG_GROUP entries (a product that stays >= 2^-64) before each log."""
    rows, width = values.shape
    grouped = width - width % _LOG_GROUP
    sums = values.new_zeros(rows)
    if grouped:
        products = values[:, :grouped].view(rows, grouped // _LOG_GROUP, _LOG_GROUP).prod(2)
        sums.add_(products.log_().sum(1))
    if grouped < width:
        sums.add_(values[:, grouped:].prod(1).log_())
    return sums


def _linear_layers(sequence: nn.Sequential) -> list[nn.Linear]:
    """The Linear layers of an MLP's Sequential (ReLUs between them are implied)."""
    return [layer for layer in sequence if isinstance(layer, nn.Linear)]


def _weights(layers: list[nn.Linear], dtype: torch.dtype) -> list[torch.Tensor]:
    """Each layer's weight in `dtype` (the parameter itself for its own dtype): cast once per
    step, for the forward and the backward GEMMs both."""
    return [layer.weight.detach().to(dtype) for layer in layers]


def _forward(
    layers: list[nn.Linear],
    a: torch.Tensor,
    weights: list[torch.Tensor] | None = None,
    *,
    relu_last: bool = False,
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Linear-ReLU-...-Linear (-ReLU if relu_last) on a (B, in) batch; returns each layer's
    input (in the weights' dtype) and the output (float32).

    `weights` (default: the layers' own) may be lower-precision copies: each layer's input
    is then cast to their dtype and its output computed in it, the bias added in that
    dtype too. A ReLU output doubles as its own mask for the backward pass (out > 0 where
    in > 0).
    """
    if weights is None:
        weights = [layer.weight for layer in layers]
    inputs = []
    last = len(layers) - 1
    with torch.no_grad():
        for index, (layer, weight) in enumerate(zip(layers, weights, strict=True)):
            a = a.to(weight.dtype)
            inputs.append(a)
            a = torch.addmm(layer.bias.to(weight.dtype), a, weight.t())
            if index < last or relu_last:
                a.clamp_min_(0.0)
    return inputs, a.float()


def _backward(
    layers: list[nn.Linear],
    weights: list[torch.Tensor],
    inputs: list[torch.Tensor],
    grad: torch.Tensor,
    *,
    need_input: bool,
) -> torch.Tensor | None:
    """Backpropagate d loss / d output (B, out) through `_forward`'s layers (its `weights`
    and the `inputs` it returned), setting each layer's weight and bias gradient in the
    parameters' own dtype; returns d loss / d input (B, in), in the weights' dtype, if
    need_input. Bias gradients are summed in float32 whatever the weights' dtype."""
    with torch.no_grad():
        for index in range(len(layers) - 1, -1, -1):
            layer, weight, a = layers[index], weights[index], inputs[index]
            torch.sum(grad, 0, dtype=layer.bias.dtype, out=_grad_buffer(layer.bias))
            grad = grad.to(weight.dtype)
            weight_grad = _grad_buffer(layer.weight)
            if weight.dtype == weight_grad.dtype:
                torch.mm(grad.t(), a, out=weight_grad)
            else:
                weight_grad.copy_(torch.mm(grad.t(), a))
            if index == 0 and not need_input:
                return None
            grad = torch.mm(grad, weight)
            if index > 0:
                grad = torch.ops.aten.threshold_backward(grad, a, 0.0)
    return grad


def _grad_buffer(parameter: nn.Parameter) -> torch.Tensor:
    """The parameter's .grad to write into, allocated once: a step then reuses the same
    gradient memory instead of allocating fresh tensors."""
    if parameter.grad is None or parameter.grad.shape != parameter.shape:
        parameter.grad = torch.empty_like(parameter)
    return parameter.grad
