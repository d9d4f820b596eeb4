"""Priors: the VampPrior and the learned mixture prior against N(0, I) on the canonical MLP VAE.

A VampPrior or learned mixture prior is kept only for a measured gain per CPU minute. All
rows train the canonical model of the benchmark protocol (docs/benchmarks/README.md:
784-400-(20,20), Bernoulli decoder, Adam 1e-3, batch 128, dynamic binarization) with
vaekit's fit() for the same epochs and seeds, in one run; only `prior` differs (`mog`: 16
learned diagonal Gaussians; `vamp`: the VampPrior with --pseudo-inputs learned pseudo-inputs,
500 by default as in Tomczak & Welling 2018; both have their KL estimated by Monte Carlo, so
they train on the autograd path; N(0, I) uses the fused MLP gradient). Each model is scored
on the protocol's fixed-binarized test set: -ELBO on all of it, NLL with K importance
samples on the first --eval-limit images. The figures in docs/ were run with --threads 1
(other jobs shared the machine: two threads slow down when they are oversubscribed).

    python -m benchmarks.priors --threads 1                       # the figures in docs/
    python -m benchmarks.priors --epochs 1 --seeds 0 --iw-samples 50 --eval-limit 200 \\
        --out /tmp/priors.md                                      # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from benchmarks.machine_info import announce_run, write_results
from vaekit import VAE, DataConfig, TrainConfig, VAEConfig, evaluate, fit, load_data

OUT_DIR = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
PRIOR_NAMES = ("standard_normal", "mog", "vamp")


def train_and_score(prior: str, data, seed: int, args) -> dict:
    """Train the canonical model with `prior` from `seed`; returns its figures."""
    torch.manual_seed(seed)
    extra = {"num_pseudo_inputs": args.pseudo_inputs} if prior == "vamp" else {}
    model = VAE(VAEConfig(input_shape=data.spec.shape, latent_dim=20, hidden_dims=(400,),
                          prior=prior, **extra))  # fmt: skip
    config = TrainConfig(epochs=args.epochs, batch_size=128, lr=1e-3, seed=seed)
    started = time.perf_counter()
    fit(model, data, config)
    seconds = time.perf_counter() - started
    x_test = data.test.x
    full = evaluate(model, x_test, generator=torch.Generator().manual_seed(seed + 1))
    nll = evaluate(model, x_test[: args.eval_limit], iw_samples=args.iw_samples, batch_size=20,
                   generator=torch.Generator().manual_seed(seed + 1))  # fmt: skip
    row = {"prior": prior, "seed": seed, "train_seconds": seconds,
           "parameters": sum(p.numel() for p in model.parameters()),
           "neg_elbo_nats": -full.elbo_nats, "nll_nats": nll.nll_nats,
           "nll_images": int(min(args.eval_limit, len(x_test)))}  # fmt: skip
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--iw-samples", type=int, default=1000)
    parser.add_argument("--eval-limit", type=int, default=2000, help="test images for NLL")
    parser.add_argument("--pseudo-inputs", type=int, default=500, help="the VampPrior's K")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT_DIR / "priors.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    info = announce_run()
    data = load_data(DataConfig(source="fashion-mnist", binarize="dynamic"))
    rows = [train_and_score(prior, data, seed, args)  # seeds interleaved: same machine load
            for seed in args.seeds for prior in PRIOR_NAMES]  # fmt: skip
    write_report(args, info, rows)


def write_report(args, info, rows) -> None:
    nll_images = rows[0]["nll_images"]
    lines = [
        "# Priors: VampPrior and learned mixture against N(0, I)",
        "",
        f"The canonical MLP VAE (784-400-(20,20), Bernoulli decoder), trained by vaekit's fit() "
        f"for {args.epochs} epochs (Adam 1e-3, batch 128, dynamic binarization, 55,000 "
        f"training images), {args.threads} thread{'s' * (args.threads != 1)}, on a shared "
        "2-core machine. `mog` is the "
        "learned mixture of 16 diagonal Gaussians (`--prior mog`); `vamp` is the VampPrior "
        f"with {args.pseudo_inputs} learned pseudo-inputs (`--prior vamp --pseudo-inputs "
        f"{args.pseudo_inputs}`); both have their KL by one-sample Monte Carlo (autograd "
        "path); `standard_normal` is N(0, I) (analytic KL, fused gradient). "
        f"-ELBO on all 10,000 fixed-binarized test images; NLL with K = {args.iw_samples} on "
        f"the first {nll_images}. Written by `benchmarks/priors.py`; do not edit by hand.",
        "",
        "| prior | seed | parameters | train wall time (s) | test -ELBO (nats) | "
        f"test NLL, K={args.iw_samples} (nats) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['prior']} | {row['seed']} | {row['parameters']:,} | "
                     f"{row['train_seconds']:.0f} | {row['neg_elbo_nats']:.2f} | "
                     f"{row['nll_nats']:.2f} |")  # fmt: skip
    by_prior = {p: [r for r in rows if r["prior"] == p] for p in PRIOR_NAMES}
    means = {p: {k: statistics.fmean(r[k] for r in rs) for k in
                 ("train_seconds", "neg_elbo_nats", "nll_nats")}
             for p, rs in by_prior.items()}  # fmt: skip
    lines += ["", f"Means over {len(args.seeds)} seed(s): " + "; ".join(
        f"{p} -ELBO {m['neg_elbo_nats']:.2f}, NLL {m['nll_nats']:.2f}, "
        f"{m['train_seconds']:.0f} s" for p, m in means.items()) + "."]  # fmt: skip
    baseline = by_prior["standard_normal"]
    for prior in PRIOR_NAMES[1:]:
        gains = [b["nll_nats"] - r["nll_nats"] for b, r in zip(baseline, by_prior[prior],
                                                                 strict=True)]  # fmt: skip
        extra = (means[prior]["train_seconds"] - means["standard_normal"]["train_seconds"]) / 60
        lines += ["", f"NLL gain of `{prior}` per seed (N(0, I) minus {prior}, positive = "
                  f"{prior} better): " + ", ".join(f"{g:+.2f}" for g in gains) + " nats; mean "
                  f"{statistics.fmean(gains):+.2f} nats for {extra:+.1f} CPU minutes of "
                  "extra training."]  # fmt: skip
    payload = {"rows": rows, "arguments": {k: str(v) for k, v in vars(args).items()}}
    write_results(args.out, lines, info, payload)


if __name__ == "__main__":
    main()
