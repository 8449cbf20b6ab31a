#!/usr/bin/python3
# Lethe — the PyTorch side of tests/bench/train: same models, data, optimizer.
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   tests/bench/torch_train.py MODEL EPOCHS BATCH [THREADS]
#
# Prints: torch MODEL epochs=E batch=B train_samples_per_s=S test_acc=A seconds=T
import gzip
import sys
import time

import numpy as np
import torch
from torch import nn

FMNIST = "/usr/share/datasets/fashion-mnist/"


def load(images, labels):
    with gzip.open(FMNIST + images) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(FMNIST + labels) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))


def build(model):
    if model == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256),
                             nn.ReLU(), nn.Linear(256, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(1568, 128), nn.ReLU(), nn.Linear(128, 10))


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("mlp", "cnn"):
        sys.exit("usage: torch_train.py mlp|cnn EPOCHS BATCH [THREADS]")
    model_name, epochs, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
    torch.manual_seed(42)
    xtr, ytr = load("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    xte, yte = load("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    model = build(model_name)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    n = xtr.shape[0]
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    print(f"torch {model_name} epochs={epochs} batch={batch} "
          f"train_samples_per_s={n * epochs / seconds:.0f} test_acc={acc:.4f} seconds={seconds:.2f}")


if __name__ == "__main__":
    main()
