"""Canonical MLP VAE: vaekit's trainer against the textbook PyTorch loop, same data, same run.

Both train the BENCHMARKS.md reference model (784-400-(20,20), 20-400-784 Bernoulli, Adam
1e-3, batch 128) with dynamic binarization on the first 55,000 Fashion-MNIST training images,
then both are scored by the same evaluator on the protocol's fixed-binarized test set:
negative ELBO and NLL (importance-weighted, K samples). A straightforward per-image IWAE
written independently re-scores the reference on a slice, to check the evaluator.

    python benchmarks/canonical_vae.py                 # the headline: 10 epochs, K = 1000
    python benchmarks/canonical_vae.py --epochs 1 --limit 500 --iw-samples 100   # quick look
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchmarks.machine_info import markdown_block, run_description
from benchmarks.textbook_vae import TextbookVAE, textbook_iwae, train_textbook
from vaekit import VAE, DataConfig, TrainConfig, VAEConfig, evaluate, fit, load_data

OUT_DIR = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"


def canonical_vaekit_model() -> VAE:
    config = VAEConfig(input_shape=(1, 28, 28), latent_dim=20, hidden_dims=(400,))
    return VAE(config)


def as_vaekit(reference: TextbookVAE) -> VAE:
    """The same weights in a vaekit VAE, so one evaluator scores both models."""
    model = canonical_vaekit_model()
    with torch.no_grad():
        encoder, decoder = model.encoder.mlp.layers, model.decoder.mlp.layers
        encoder[0].weight.copy_(reference.fc1.weight)
        encoder[0].bias.copy_(reference.fc1.bias)
        encoder[2].weight.copy_(torch.cat([reference.fc21.weight, reference.fc22.weight]))
        encoder[2].bias.copy_(torch.cat([reference.fc21.bias, reference.fc22.bias]))
        decoder[0].weight.copy_(reference.fc3.weight)
        decoder[0].bias.copy_(reference.fc3.bias)
        decoder[2].weight.copy_(reference.fc4.weight)
        decoder[2].bias.copy_(reference.fc4.bias)
    return model.eval()


def score(model: VAE, x: torch.Tensor, k: int, seed: int) -> dict:
    report = evaluate(model, x, iw_samples=k, batch_size=50, chunk_size=200,
                      generator=torch.Generator().manual_seed(seed))  # fmt: skip
    return {"neg_elbo_nats": -report.elbo_nats, "nll_nats": report.nll_nats,
            "bits_per_dim": report.bits_per_dim, "eval_seconds": report.seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--iw-samples", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=None, help="score the first N test images")
    parser.add_argument("--check-limit", type=int, default=500, help="images for the evaluator check")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT_DIR / "canonical.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    info = run_description()
    print("\n".join(f"{k}: {v}" for k, v in info.items()), flush=True)

    data = load_data(DataConfig(source="fashion-mnist", binarize="dynamic"))
    x_test = data.test.x[: args.limit] if args.limit else data.test.x
    results = {}

    torch.manual_seed(args.seed)
    model = canonical_vaekit_model()
    started = time.perf_counter()
    fit(model, data, TrainConfig(epochs=args.epochs, batch_size=128, lr=1e-3, seed=args.seed))
    vaekit_seconds = time.perf_counter() - started
    print(f"vaekit trained in {vaekit_seconds:.1f} s", flush=True)
    results["vaekit fit()"] = {"train_seconds": vaekit_seconds, **score(model, x_test, args.iw_samples, 1)}
    print(results["vaekit fit()"], flush=True)

    started = time.perf_counter()
    reference, _ = train_textbook(data.train.x.flatten(1), args.epochs, args.seed)
    reference_seconds = time.perf_counter() - started
    print(f"textbook loop trained in {reference_seconds:.1f} s", flush=True)
    reference_scores = score(as_vaekit(reference), x_test, args.iw_samples, 1)
    results["textbook loop"] = {"train_seconds": reference_seconds, **reference_scores}
    print(results["textbook loop"], flush=True)

    check_x = x_test[: args.check_limit]
    independent = -textbook_iwae(reference.eval(), check_x.flatten(1), args.iw_samples, 2).mean().item()
    ours = score(as_vaekit(reference), check_x, args.iw_samples, 3)["nll_nats"]
    check = {"images": int(check_x.shape[0]), "independent_nll": independent, "vaekit_nll": ours}
    print(check, flush=True)
    write_results(args, info, results, check, int(x_test.shape[0]))


def write_results(args, info, results, check, num_test) -> None:
    ref, ours = results["textbook loop"], results["vaekit fit()"]
    lines = [
        "# Canonical MLP VAE: vaekit vs the textbook PyTorch loop",
        "",
        f"Binarized Fashion-MNIST (BENCHMARKS.md): {args.epochs} epochs, dynamic binarization, "
        f"batch 128, Adam 1e-3, {args.threads} threads; scored on the first {num_test} images of "
        f"the fixed-binarized test set; NLL is the importance-weighted bound with K = "
        f"{args.iw_samples}. Lower is better for every figure. Written by "
        "`benchmarks/canonical_vae.py`; do not edit by hand.",
        "",
        "| system | train time (s) | -ELBO (nats) | NLL (nats) | bits/dim |",
        "|---|---|---|---|---|",
    ]
    for name, row in results.items():
        lines.append(f"| {name} | {row['train_seconds']:.1f} | {row['neg_elbo_nats']:.2f} | "
                     f"{row['nll_nats']:.2f} | {row['bits_per_dim']:.4f} |")  # fmt: skip
    lines += [
        "",
        f"NLL difference (vaekit - textbook): {ours['nll_nats'] - ref['nll_nats']:+.2f} nats; "
        f"training time ratio (textbook / vaekit): {ref['train_seconds'] / ours['train_seconds']:.2f}x.",
        "",
        f"Evaluator check on the textbook model, first {check['images']} test images: an "
        f"independent per-image IWAE gives {check['independent_nll']:.2f} nats, vaekit's "
        f"evaluator {check['vaekit_nll']:.2f} nats (different random draws).",
        "",
        "## How this was run",
        "",
        markdown_block(info),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    payload = {"run": info, "results": results, "evaluator_check": check}
    args.out.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
