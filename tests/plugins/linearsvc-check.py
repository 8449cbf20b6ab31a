#!/usr/bin/env python3
# Fits scikit-learn's LinearSVC on features written by test-fetril-math and
# writes back its weights, so the suite can compare liblinear through Lethe
# with the reference wrapper.
#
# Usage: linearsvc-check.py IN OUT [TOL]
# Input (little-endian): int64 n, int64 d, float32 x[n*d], int32 y[n].
# Output: int64 k, int64 d, int32 classes[k], float64 coef[k*d], float64 intercept[k].
import sys

import numpy as np
from sklearn.svm import LinearSVC

with open(sys.argv[1], "rb") as f:
    n, d = np.frombuffer(f.read(16), dtype="<i8")
    x = np.frombuffer(f.read(4 * n * d), dtype="<f4").reshape(n, d).astype(np.float64)
    y = np.frombuffer(f.read(4 * n), dtype="<i4")

svc = LinearSVC(penalty="l2", loss="squared_hinge", dual=False, C=1.0,
                tol=float(sys.argv[3]) if len(sys.argv) > 3 else 1e-4,
                fit_intercept=True, intercept_scaling=1.0, max_iter=1000)
svc.fit(x, y)
coef, intercept = svc.coef_, svc.intercept_
with open(sys.argv[2], "wb") as f:
    f.write(np.array([coef.shape[0], d], dtype="<i8").tobytes())
    f.write(svc.classes_.astype("<i4").tobytes())
    f.write(coef.astype("<f8").tobytes())
    f.write(intercept.astype("<f8").tobytes())
