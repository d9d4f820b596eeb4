"""The reference: the canonical MLP VAE written the textbook way (docs/benchmarks/README.md).

A plain PyTorch loop as in the well-known PyTorch example: a DataLoader over a TensorDataset,
shuffle, sigmoid decoder with per-batch BCE(sum) + analytic KL, Adam. Kept independent of
vaekit's code on purpose; it is the yardstick, so it must not share vaekit's maths.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class TextbookVAE(nn.Module):
    def __init__(self, data_dim: int = 784, hidden: int = 400, latent: int = 20) -> None:
        super().__init__()
        self.fc1 = nn.Linear(data_dim, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, data_dim)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar


def textbook_loss(recon, x, mu, logvar):
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def textbook_step(
    model: TextbookVAE,
    optimizer: torch.optim.Optimizer,
    batch: torch.Tensor,
    threshold_binarize: bool = False,
) -> float:
    """One step of the loop on a (B, 784) batch of grey pixels: binarize, forward, BCE + KL,
    backward, Adam. Returns the batch's summed loss (the .item() the textbook logs with)."""
    if threshold_binarize:
        batch = (torch.rand_like(batch) < batch).float()
    else:
        batch = torch.bernoulli(batch)
    optimizer.zero_grad()
    recon, mu, logvar = model(batch)
    loss = textbook_loss(recon, batch, mu, logvar)
    loss.backward()
    total = loss.item()
    optimizer.step()
    return total


def train_textbook(
    x_train: torch.Tensor,
    epochs: int,
    seed: int,
    batch_size: int = 128,
    *,
    index_batches: bool = False,
    threshold_binarize: bool = False,
    fused_adam: bool = False,
) -> tuple[TextbookVAE, list[dict[str, float]]]:
    """x_train: (N, 784) grey pixels in [0, 1]; dynamically binarized each batch.

    With no options this is the textbook loop. The options are the three easy fixes, one at
    a time, so the speed benchmark can price each: batches drawn by index from the one
    tensor instead of a DataLoader, `rand < x` instead of `torch.bernoulli`, and Adam's
    fused kernel. Returns the model and one {"loss", "seconds"} row per epoch.
    """
    torch.manual_seed(seed)
    model = TextbookVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused_adam or None)
    loader = DataLoader(TensorDataset(x_train), batch_size=batch_size, shuffle=True)
    history = []
    for _ in range(epochs):
        started = time.perf_counter()
        total = 0.0
        if index_batches:
            order = torch.randperm(len(x_train))
            batches = (
                x_train[order[i : i + batch_size]] for i in range(0, len(x_train), batch_size)
            )
        else:
            batches = (batch for (batch,) in loader)
        for batch in batches:
            total += textbook_step(model, optimizer, batch, threshold_binarize)
        history.append({"loss": total / len(x_train), "seconds": time.perf_counter() - started})
    return model, history


@torch.no_grad()
def textbook_iwae(model: TextbookVAE, x: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """Straightforward importance-weighted log p(x): one image at a time, K samples. (N,) nats."""
    torch.manual_seed(seed)
    scores = []
    for image in x:
        mu, logvar = model.encode(image[None])
        std = torch.exp(0.5 * logvar)
        eps = torch.randn(k, mu.shape[1])
        z = mu + eps * std
        probs = model.decode(z).clamp(1e-7, 1 - 1e-7)
        log_px_z = (image * probs.log() + (1 - image) * (1 - probs).log()).sum(1)
        log_pz = (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).sum(1)
        log_qz = (-0.5 * eps.pow(2) - 0.5 * math.log(2 * math.pi) - torch.log(std)).sum(1)
        scores.append(torch.logsumexp(log_px_z + log_pz - log_qz, 0) - math.log(k))
    return torch.stack(scores)


def read_idx_images(path: str) -> torch.Tensor:
    """(N, 784) float pixels in [0, 1] from a gzipped IDX image file, the plain way."""
    import gzip

    import numpy as np

    with gzip.open(path, "rb") as stream:
        raw = stream.read()
    count, rows, cols = (int.from_bytes(raw[4 * i : 4 * i + 4], "big") for i in (1, 2, 3))
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, rows * cols)
    return torch.from_numpy(images.astype(np.float32) / 255)


def main() -> None:
    """The textbook script as a user runs it (the whole-run benchmark times it end to end):
    read the training images, keep the first 55,000, train, print each epoch's loss."""
    import argparse

    parser = argparse.ArgumentParser(description="the textbook VAE script")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x_train = read_idx_images(f"{args.data}/train-images-idx3-ubyte.gz")[:55_000]
    _, history = train_textbook(x_train, args.epochs, args.seed)
    for epoch, row in enumerate(history, 1):
        print(f"epoch {epoch}: loss {row['loss']:.2f} ({row['seconds']:.2f} s)")


if __name__ == "__main__":
    main()
