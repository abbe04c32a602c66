#!/usr/bin/python3
"""Communication and time model of one engd iteration on R ranks (README "Communication").

  commmodel.py bytes BACKEND P N R [LS]       bytes rank 0 sends per iteration in engd's own calls
  commmodel.py total BACKEND P N R [LS]       the same with the eigensolver library's (a fit)
  commmodel.py predict LOG P N [options]      time per iteration on 1..64 nodes from the event
                                              times of a one-rank run's -log_view (LOG)

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


def library_traffic(backend, P, R):
    """Bytes and latency steps of the eigensolver's own messages per rank (ScaLAPACK's pdsyevd
    through BLACS): a fit to the counts on this machine for P = 257 and 513 on 2-8 ranks, within
    30 %: the matrix passes about three times through every rank, 24 P^2 (R-1)/R bytes, in about
    2.6 P log2 R messages on the critical path."""
    if backend != "scalapack" or R == 1:
        return 0.0, 0.0
    return 24.0 * P * P * (R - 1) / R, 2.6 * P * math.log2(R)


def collectives(backend, P, N, R, ls=31, nb=64):
    """The collectives of one iteration as (kind, payload bytes): engd's own calls."""
    calls = [("allreduce", DD)]  # the rows pass's loss
    calls.append(("allreduce", DD * P))  # the gradient J~^T r~
    if backend == "replicated":
        calls.append(("allreduce", DD * P * (P + 1) // 2))  # packed G
    elif backend == "scalapack":
        nprow, npcol = grid(R)
        width = npcol * nb
        for j0 in range(0, P, width):  # one reduce_scatter per panel of the upper block triangle
            j1 = min(P, j0 + width)
            entries = sum(min((j // nb + 1) * nb, j1) for j in range(j0, j1))
            calls.append(("reduce_scatter", REAL * entries))
    else:
        raise SystemExit("commmodel.py: unknown back-end '%s' (replicated, scalapack)" % backend)
    calls.append(("allreduce", DD * ls))  # the line search's candidate losses
    return calls


def bytes_per_iteration(backend, P, N, R, ls=31, library=False):
    """engd's own bytes per rank, plus the library's (the fit above) with library=True."""
    own = sum(sent(kind, n, R) for kind, n in collectives(backend, P, N, R, ls))
    return own + (library_traffic(backend, P, R)[0] if library else 0.0)


def event_seconds(log, name):
    """Seconds of a -log_view event (its max time over ranks) and its count."""
    for line in open(log):
        fields = line.split()
        if fields and fields[0] == name and len(fields) > 4:
            return float(fields[3]), int(fields[1])
    return 0.0, 0


def predict(log, P, N, alpha=2e-6, beta=1.0 / 10e9, nodes=(1, 2, 4, 8, 16, 32, 64)):
    """T(R) = point work (rows, gradient, line search) / R + solve(R) + sum over collectives of
    (alpha * latency steps + bytes sent * beta); one rank per node."""
    its = None
    times = {}
    for event in ("EngdRows", "EngdGradient", "EngdGram", "EngdSolve", "EngdLineSearch"):
        t, count = event_seconds(log, event)
        times[event] = t
        if event in ("EngdSolve",) and count:
            its = count
    if not its:
        raise SystemExit("commmodel.py: no EngdSolve event in %s (run with -log_view)" % log)
    per = {k: v / its for k, v in times.items()}
    points = per["EngdRows"] + per["EngdGradient"] + per["EngdLineSearch"]
    print("# one-rank event times per iteration: " + ", ".join("%s %.4g s" % (k, v) for k, v in per.items()))
    print("# assumptions: one rank per node, alpha %.2g s per latency step, %.3g GB/s per link" % (alpha, 1e-9 / beta))
    print("%6s  %-10s %12s %12s %12s %12s" % ("nodes", "back-end", "compute s", "comm MB", "comm s", "total s/it"))
    for backend in ("replicated", "scalapack"):
        for R in nodes:
            if backend == "replicated":  # every rank solves the whole P x P problem
                compute = points / R + per["EngdGram"] / R + per["EngdSolve"]
            else:  # pdsyevd: its flops spread over R ranks (at best)
                compute = points / R + per["EngdGram"] / R + per["EngdSolve"] / R
            calls = collectives(backend, P, N, R)
            lib_bytes, lib_steps = library_traffic(backend, P, R)
            nbytes = sum(sent(k, n, R) for k, n in calls) + lib_bytes
            steps = sum(latency_steps(k, R) for k, n in calls) + lib_steps
            comm = alpha * steps + beta * nbytes
            print("%6d  %-10s %12.4g %12.4g %12.4g %12.4g" % (R, backend, compute, nbytes / 1e6, comm, compute + comm))


def main(argv):
    if len(argv) >= 5 and argv[0] in ("bytes", "total"):
        ls = int(argv[5]) if len(argv) > 5 else 31
        print("%.17g" % bytes_per_iteration(argv[1], int(argv[2]), int(argv[3]), int(argv[4]), ls, argv[0] == "total"))
    elif len(argv) >= 4 and argv[0] == "predict":
        predict(argv[1], int(argv[2]), int(argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
