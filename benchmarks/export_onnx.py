"""ONNX export: how closely onnxruntime reproduces PyTorch, and how fast it runs.

Two models on 28x28 images, weights as initialised with torch.manual_seed(0) (the graphs are
compared, not the training): the canonical MLP VAE (784-400-20, Bernoulli decoder) and a
conv VAE (channels 32, 64; Bernoulli decoder). Each is exported with `export_model` (what
`vaekit export` runs), then 1,000 Fashion-MNIST test images in [0, 1] (random pixels where
Fashion-MNIST is not installed) go through the encoder, and their posterior means through
the decoder, in PyTorch and in onnxruntime. Reported: the largest absolute difference of
each output, and the time of encoder + decoder on a batch of 1,000 and of 1 (median of
--repeats calls after a warm-up call, interleaved over --rounds rounds; the ratio is the
median of the per-round ratios), with the same number of threads for both.

    python -m benchmarks.export_onnx                    # the figures in docs/benchmarks/
    python -m benchmarks.export_onnx --repeats 5 --rounds 1 --out /tmp/e.md   # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from benchmarks.machine_info import announce_run, write_results
from vaekit.data import DataConfig, load_data
from vaekit.export import PARAMETERS, export_model
from vaekit.models import VAE, VAEConfig

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "export.md"
SHAPE = (1, 28, 28)
NUM_IMAGES = 1000
MODELS = {
    "MLP 784-400-20": VAEConfig(input_shape=SHAPE, latent_dim=20, hidden_dims=(400,)),
    "conv 32-64, 20 latents": VAEConfig(
        input_shape=SHAPE, latent_dim=20, arch="conv", conv_channels=(32, 64)
    ),
}


def images() -> tuple[torch.Tensor, str]:
    try:
        test = load_data(DataConfig(source="fashion-mnist", eval_limit=NUM_IMAGES)).test.x
        return test, f"{NUM_IMAGES} Fashion-MNIST test images"
    except Exception:  # not installed: any error of the loader means the same here
        generator = torch.Generator().manual_seed(0)
        return torch.rand(NUM_IMAGES, *SHAPE, generator=generator), "random pixels"


def torch_outputs(model: VAE, x: torch.Tensor) -> tuple[dict, dict]:
    """(encoder outputs, decoder outputs at the posterior means) by output name."""
    with torch.inference_mode():
        posterior = model.encode(x)
        encoded = PARAMETERS[type(posterior)](posterior)
        likelihood = model.decode(encoded["mean"])
        return encoded, PARAMETERS[type(likelihood)](likelihood)


def sessions(folder: Path, threads: int) -> tuple[ort.InferenceSession, ort.InferenceSession]:
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    return tuple(
        ort.InferenceSession(str(folder / name), options, providers=["CPUExecutionProvider"])
        for name in ("encoder.onnx", "decoder.onnx")
    )


def seconds(call, repeats: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(name: str, config: VAEConfig, x: torch.Tensor, folder: Path, args) -> dict:
    torch.manual_seed(0)
    model = VAE(config).eval()
    export_model(model, folder, "onnx")
    encoder, decoder = sessions(folder, args.threads)
    encoded, decoded = torch_outputs(model, x)
    ort_encoded = dict(zip(encoded, encoder.run(None, {"x": x.numpy()}), strict=True))
    z = ort_encoded["mean"]
    ort_decoded = dict(zip(decoded, decoder.run(None, {"z": encoded["mean"].numpy()}), strict=True))
    row = {"model": name, "max_abs_diff": {}}
    for part, want, got in (("encoder", encoded, ort_encoded), ("decoder", decoded, ort_decoded)):
        for output, value in want.items():
            row["max_abs_diff"][f"{part} {output}"] = float(
                np.abs(got[output] - value.numpy()).max()
            )
    for batch in (NUM_IMAGES, 1):
        xb = x[:batch]
        zb = z[:batch]

        def run_torch(xb=xb) -> None:
            torch_outputs(model, xb)

        def run_ort(xb=xb, zb=zb) -> None:
            encoder.run(None, {"x": xb.numpy()})
            decoder.run(None, {"z": zb})

        rounds = [(seconds(run_torch, args.repeats), seconds(run_ort, args.repeats))
                  for _ in range(args.rounds)]  # fmt: skip
        row[f"batch_{batch}"] = {
            "torch_ms": 1e3 * statistics.median(t for t, _ in rounds),
            "onnxruntime_ms": 1e3 * statistics.median(o for _, o in rounds),
            "speedup": statistics.median(t / o for t, o in rounds),
        }
    print(row, flush=True)
    return row


def result_lines(rows: list[dict], what: str, args) -> list[str]:
    lines = [
        "# ONNX export",
        "",
        f"`vaekit export --format onnx` graphs run by onnxruntime {ort.__version__} against "
        f"the same models in PyTorch {torch.__version__}, on {what} (encoder) and their "
        "posterior means (decoder); weights as initialised with seed 0. Times are encoder + "
        f"decoder per call, median of {args.repeats} calls after a warm-up, {args.rounds} "
        f"interleaved rounds, {args.threads} threads for both; speedup = PyTorch time / "
        "onnxruntime time (median of the per-round ratios).",
        "",
        "| model | output | max abs difference |",
        "|---|---|---:|",
    ]
    for row in rows:
        for output, diff in row["max_abs_diff"].items():
            lines.append(f"| {row['model']} | {output} | {diff:.2e} |")
    lines += ["", "| model | batch | PyTorch (ms) | onnxruntime (ms) | speedup |"]
    lines.append("|---|---:|---:|---:|---:|")
    for row in rows:
        for batch in (NUM_IMAGES, 1):
            m = row[f"batch_{batch}"]
            lines.append(
                f"| {row['model']} | {batch} | {m['torch_ms']:.3f} | {m['onnxruntime_ms']:.3f} "
                f"| {m['speedup']:.2f}x |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    info = announce_run()
    x, what = images()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            measure(name, config, x, Path(tmp) / name.split()[0], args)
            for name, config in MODELS.items()
        ]
    write_results(args.out, result_lines(rows, what, args), info, {"rows": rows})


if __name__ == "__main__":
    main()
