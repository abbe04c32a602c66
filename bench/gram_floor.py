#!/usr/bin/env python3
"""Is the double-precision Gram what limits ENGD? Compares the direction from the eigensolve of
G = J~^T J~ (what engd's replicated solver does) with the one from an SVD of the rows J~ (no
squaring: eigenvalues resolved far below 1e-16 lambda_max), at several cut-offs.

    build/bench/bench_eigen -options_file configs/poisson2d.opts -bench_its 120 -bench_dump rows.bin [options]
    /usr/bin/python3 bench/gram_floor.py rows.bin

Prints, per cut-off rcond: the eigenvalues kept, |d_eig - d_svd| / |d_svd|, |d|, and the linear
model's residual ratio |r - J d|^2 / |r|^2 (what a full Gauss-Newton step would leave)."""
import sys
import numpy as np

raw = open(sys.argv[1], "rb").read()
P, N = (int(x) for x in np.frombuffer(raw[:8], dtype=np.int32))
J = np.frombuffer(raw[8:8 + 8 * P * N]).reshape(N, P)
r = np.frombuffer(raw[8 + 8 * P * N:8 + 8 * P * N + 8 * N])
G, g = J.T @ J, J.T @ r
lam, V = np.linalg.eigh(G)
U, s, Wt = np.linalg.svd(J, full_matrices=False)
print("P = %d, N = %d, lambda_max %.4e" % (P, N, lam[-1]))
print("eigenvalues (k-th largest): eigh of G against sigma^2 of the rows")
for k in (1, 20, 60, 100, 150, 200, P):
    a, b = lam[P - k], np.sort(s ** 2)[P - k]
    print("  %4d  %13.6e  %13.6e  rel. diff %.1e" % (k, a, b, abs(a - b) / b))
print("%8s %6s %14s %11s %11s %11s" % ("rcond", "kept", "|de-ds|/|ds|", "|d|", "lin eig", "lin svd"))
for rc in (1e-10, 1e-12, 1e-13, 1e-14, 1e-15, 1e-16):
    keep = lam > rc * lam[-1]
    de = V[:, keep] @ ((V[:, keep].T @ g) / lam[keep])
    ks = s ** 2 > rc * s[0] ** 2
    ds = Wt[ks].T @ ((U[:, ks].T @ r) / s[ks])
    lin = lambda d: np.linalg.norm(r - J @ d) ** 2 / np.linalg.norm(r) ** 2
    print("%8.0e %6d %14.2e %11.3e %11.4e %11.4e" % (rc, keep.sum(), np.linalg.norm(de - ds) / np.linalg.norm(ds), np.linalg.norm(ds), lin(de), lin(ds)))
