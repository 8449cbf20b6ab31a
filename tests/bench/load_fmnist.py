#!/usr/bin/env python3
# Lethe — the Python peer of load-fmnist: Fashion-MNIST training images
# decompressed with gzip and converted to float32 in [0, 1] with NumPy.
# SPDX-License-Identifier: LGPL-2.1-or-later
import gzip
import sys
import time

import numpy as np

path = sys.argv[1] if len(sys.argv) > 1 else \
    "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
best = float("inf")
for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 3):
    t0 = time.perf_counter()
    with gzip.open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[4:8], "big")
    x = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, 784).astype(np.float32) / 255.0
    best = min(best, time.perf_counter() - t0)
print(f"python gzip+numpy: {x.shape[0]} images in {best:.3f} s (best of runs), "
      f"checksum {float(x.sum(dtype=np.float64)):.1f}")
