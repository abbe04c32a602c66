#!/usr/bin/python3
"""Communication and time model of one engd iteration on R ranks (README "Communication").

  commmodel.py bytes BACKEND P N R [LS [K]]   bytes rank 0 sends per iteration in engd's own
                                              calls (LS line-search candidates; K: cg's products,
                                              or the replicated solver's refinement steps)
  commmodel.py total BACKEND P N R [LS [K]]   the same with ScaLAPACK's own messages (a fit)
  commmodel.py predict LOG BACKEND P N [R0 [K]]   time per iteration on 1..64 nodes from the
                                              event times of a run on R0 ranks (LOG: -log_view)

Bytes follow include/engd/commcount.h (what each collective sends per rank under the textbook
algorithms); the collectives are those engd makes per iteration (one step: the rows pass, the
gradient, the curvature solve, the line search). Only stdlib: runs under any python3.
"""
import math
import sys

DD, REAL = 16, 8  # a double-double accumulator, a double


def log2ceil(R):
    return math.ceil(math.log2(R)) if R > 1 else 0


def sent(kind, n, R):
    """Bytes one rank sends in a collective of payload n (commcount.h)."""
    if R == 1:
        return 0.0
    if kind == "allreduce":
        return n * log2ceil(R) if n < 8192 else 2.0 * n * (R - 1) / R
    return n * (R - 1) / R


def latency_steps(kind, R):
    return (2 if kind == "allreduce" else 1) * log2ceil(R)


def grid(R):
    nprow = max(p for p in range(1, int(math.isqrt(R)) + 1) if R % p == 0)
    return nprow, R // nprow


def library_traffic(backend, P, N, R):
    """Bytes and latency steps of the eigensolver's or Cholesky's own messages per rank
    (ScaLAPACK through BLACS) on its n x n matrix (n = P dense, N kernel): a fit to the counts on
    this machine for n = 257, 513 and 800 on 2-8 ranks, within 30 %: the matrix passes about
    three times through every rank, 24 n^2 (R-1)/R bytes, in about 2.6 n log2 R messages on the
    critical path."""
    n = {"scalapack": P, "kernel": N}.get(backend)
    if n is None or R == 1:
        return 0.0, 0.0
    return 24.0 * n * n * (R - 1) / R, 2.6 * n * math.log2(R)


def collectives(backend, P, N, R, ls=31, products=0, nb=64):
    """The messages of one iteration as (kind, payload bytes): engd's own calls. ls: the line
    search's candidates; products: cg's products J~^T (J~ v) (Krylov iterations, plus one when
    a warm start is tried), or the replicated solver's refinement steps (each one J~^T s)."""
    calls = [("allreduce", DD)]  # the rows pass's loss
    if backend != "kernel":
        calls.append(("allreduce", DD * P))  # the gradient J~^T r~
    if backend == "replicated":
        calls.append(("allreduce", DD * P * (P + 1) // 2))  # packed G
        calls += [("allreduce", DD * P)] * products  # each refinement step's J~^T s
    elif backend == "scalapack":
        nprow, npcol = grid(R)
        width = npcol * nb
        for j0 in range(0, P, width):  # one reduce_scatter per panel of the upper block triangle
            j1 = min(P, j0 + width)
            entries = sum(min((j // nb + 1) * nb, j1) for j in range(j0, j1))
            calls.append(("reduce_scatter", REAL * entries))
    elif backend == "kernel":
        rows = math.ceil(N / R)
        for step in range(R // 2):  # the ring: a rank's rows to the next, R/2 times
            calls.append(("send", REAL * rows * P))
        calls.append(("alltoall", REAL * N * (N + 1) / 2 / R * (R - 1) / R))  # tiles to their owners
        calls.append(("allgather", REAL * N))  # the residuals
        calls.append(("allreduce", DD * P))  # d = J~^T y
    elif backend == "cg":
        calls += [("allreduce", DD * P)] * products  # each product's J~^T w
    else:
        raise SystemExit("commmodel.py: unknown back-end '%s' (replicated, scalapack, kernel, cg)" % backend)
    calls.append(("allreduce", DD * ls))  # the line search's candidate losses
    return calls


def sent_any(kind, n, R):
    """Bytes sent per rank: point-to-point and all-to-all payloads are this rank's own."""
    return n if kind in ("send", "alltoall") and R > 1 else sent(kind, n, R)


def bytes_per_iteration(backend, P, N, R, ls=31, products=0, library=False):
    """engd's own bytes per rank, plus the library's (the fit above) with library=True."""
    own = sum(sent_any(kind, n, R) for kind, n in collectives(backend, P, N, R, ls, products))
    return own + (library_traffic(backend, P, N, R)[0] if library else 0.0)


def event_seconds(log, name):
    """Seconds of a -log_view event (its max time over ranks) and its count."""
    for line in open(log):
        fields = line.split()
        if fields and fields[0] == name and len(fields) > 4:
            return float(fields[3]), int(fields[1])
    return 0.0, 0


def predict(log, backend, P, N, R0=1, products=0, alpha=2e-6, beta=1.0 / 10e9, nodes=(1, 2, 4, 8, 16, 32, 64)):
    """T(R) = point work (rows, gradient, line search) R0/R + forming G or K R0/R + the solve
    (replicated: as measured; scalapack, kernel: R0/R; cg: its products, R0/R) + the messages,
    alpha per latency step + beta per byte sent; from the event times of a run on R0 ranks
    (LOG: its -log_view), one rank per node."""
    its = None
    per = {}
    for event in ("EngdRows", "EngdGradient", "EngdGram", "EngdSolve", "EngdLineSearch"):
        t, count = event_seconds(log, event)
        per[event] = t
        if event == "EngdSolve" and count:
            its = count
    if not its:
        raise SystemExit("commmodel.py: no EngdSolve event in %s (run with -log_view)" % log)
    per = {k: v / its for k, v in per.items()}
    points = per["EngdRows"] + per["EngdGradient"] + per["EngdLineSearch"]
    print("# %s, P = %d, N = %d: event times per iteration on %d rank(s): %s" % (backend, P, N, R0, ", ".join("%s %.4g s" % (k[4:], v) for k, v in per.items())))
    print("# one rank per node, %.2g s per latency step, %.3g GB/s per link" % (alpha, 1e-9 / beta))
    print("%6s %12s %12s %12s %12s" % ("nodes", "compute s", "comm MB", "comm s", "s/it"))
    for R in nodes:
        solve = per["EngdSolve"] * (1 if backend == "replicated" else R0 / R)
        compute = (points + per["EngdGram"]) * R0 / R + solve
        calls = collectives(backend, P, N, R, products=products)
        lib_bytes, lib_steps = library_traffic(backend, P, N, R)
        nbytes = sum(sent_any(k, n, R) for k, n in calls) + lib_bytes
        steps = sum(1 if k == "send" else latency_steps(k, R) for k, n in calls) + lib_steps
        comm = alpha * steps + beta * nbytes if R > 1 else 0.0
        print("%6d %12.4g %12.4g %12.4g %12.4g" % (R, compute, nbytes / 1e6, comm, compute + comm))


def main(argv):
    if len(argv) >= 5 and argv[0] in ("bytes", "total"):
        ls = int(argv[5]) if len(argv) > 5 else 31
        products = int(argv[6]) if len(argv) > 6 else 0
        print("%.17g" % bytes_per_iteration(argv[1], int(argv[2]), int(argv[3]), int(argv[4]), ls, products, argv[0] == "total"))
    elif len(argv) >= 5 and argv[0] == "predict":
        extra = [int(a) for a in argv[5:7]]
        predict(argv[1], argv[2], int(argv[3]), int(argv[4]), *extra)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
