"""ONNX export: the graphs onnxruntime runs give what the PyTorch model gives."""

import json

import numpy as np
import pytest
import torch

from vaekit.cli.main import main
from vaekit.errors import ConfigError
from vaekit.export import EXPORT_FILES, PARAMETERS, export_model
from vaekit.models import AE, VAE, AEConfig, VAEConfig
from vaekit.models.cvae import ConditionalVAE, CVAEConfig
from vaekit.models.hierarchical import HierarchicalVAE, HVAEConfig

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

SHAPE = (1, 8, 8)
TOLERANCE = 1e-4  # float32 graphs; kernels differ in summation order


def _digits(count: int) -> torch.Tensor:
    from sklearn.datasets import load_digits

    images = load_digits().images[:count] / 16.0
    return torch.from_numpy(images).float().unsqueeze(1)  # (count, 1, 8, 8) in [0, 1]


def _run(path, name: str, value: torch.Tensor) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {name: value.numpy()}), strict=True))


MODELS = {
    "mlp-bernoulli": lambda: VAE(VAEConfig(input_shape=SHAPE, latent_dim=3, hidden_dims=(16,))),
    "conv-logistic-mixture": lambda: VAE(
        VAEConfig(
            input_shape=SHAPE,
            latent_dim=3,
            arch="conv",
            conv_channels=(4, 8),
            likelihood="discretized_logistic_mixture",
        )
    ),
    "mlp-gaussian": lambda: VAE(
        VAEConfig(input_shape=SHAPE, latent_dim=3, hidden_dims=(16,), likelihood="gaussian")
    ),
    "ae": lambda: AE(AEConfig(input_shape=SHAPE, latent_dim=3, hidden_dims=(16,))),
    "hvae": lambda: HierarchicalVAE(
        HVAEConfig(input_shape=SHAPE, latent_dim=2, num_latent_layers=2, state_dim=16)
    ),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_onnxruntime_matches_pytorch_with_any_batch_size(tmp_path, name):
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    description = export_model(model, tmp_path / "out", "onnx")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(EXPORT_FILES)
    assert json.loads((tmp_path / "out" / "export.json").read_text()) == description
    x = _digits(5)  # the graphs were traced at batch 2
    with torch.no_grad():
        posterior = model.encode(x)
        encoded = _run(tmp_path / "out" / "encoder.onnx", "x", x)
        assert list(encoded) == list(description["encoder"]["outputs"])
        np.testing.assert_allclose(encoded["mean"], posterior.mean.numpy(), atol=TOLERANCE)
        if "log_var" in encoded:
            np.testing.assert_allclose(
                encoded["log_var"], posterior.log_var.numpy(), atol=TOLERANCE
            )
        z = torch.randn(7, posterior.mean.shape[1], generator=torch.Generator().manual_seed(1))
        decoded = _run(tmp_path / "out" / "decoder.onnx", "z", z)
        likelihood = model.decode(z)
    assert list(decoded) == list(description["decoder"]["outputs"])
    assert all(value.shape[0] == 7 for value in decoded.values())
    for output, value in PARAMETERS[type(likelihood)](likelihood).items():
        np.testing.assert_allclose(decoded[output], value.numpy(), atol=TOLERANCE)
    # what the description says the outputs mean holds: the likelihood's mean from them
    if description["decoder"]["distribution"] == "Bernoulli":
        mean = torch.sigmoid(torch.from_numpy(decoded["logits"]))
        torch.testing.assert_close(mean, likelihood.mean, atol=TOLERANCE, rtol=0)
    if description["decoder"]["distribution"] == "DiagonalGaussian":
        mean = torch.from_numpy(decoded["mean"])
        torch.testing.assert_close(mean, likelihood.mean, atol=TOLERANCE, rtol=0)


def test_models_that_cannot_export_are_refused_and_nothing_is_written(tmp_path):
    cvae = ConditionalVAE(CVAEConfig(input_shape=SHAPE, latent_dim=2, num_classes=3))
    with pytest.raises(ConfigError, match="reads labels"):
        export_model(cvae, tmp_path / "a", "onnx")
    autoregressive = VAE(VAEConfig(input_shape=SHAPE, latent_dim=2, likelihood="bernoulli_ar"))
    with pytest.raises(ConfigError, match="AutoregressiveBernoulli"):
        export_model(autoregressive, tmp_path / "b", "onnx")
    with pytest.raises(ConfigError, match="unknown export format 'tflite'"):
        export_model(autoregressive, tmp_path / "c", "tflite")
    assert list(tmp_path.iterdir()) == []


def test_cli_export_replaces_an_earlier_export_only(tmp_path, capsys):
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=SHAPE, latent_dim=2, hidden_dims=(8,)))
    model.save_pretrained(str(tmp_path / "run"))
    out = tmp_path / "exported"
    for _ in range(2):  # a second export replaces the first
        assert main(["export", str(tmp_path / "run"), "--out", str(out)]) == 0
    assert "decoder.onnx (z -> logits)" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPORT_FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exported", "run"]  # no leftovers
    (out / "notes.txt").write_text("mine")
    assert main(["export", str(tmp_path / "run"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("vaekit: error: output folder")
    assert main(["export", str(tmp_path / "run"), "--format", "tflite", "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("vaekit: error: unknown export format")
