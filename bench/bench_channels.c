static const char help[] = "bench_channels: cost of the Taylor-mode passes per point as the number of channels S = d + 2 grows\n"
                           "(order 2: u, d_1 u ... d_d u, Laplace u), for input dimensions d of -bench_dims.\n\n"
                           "  build/bench/bench_channels -bench_dims 2,10,100 -net_hidden 64 -bench_points 1024\n\n";

/* A benchmark, not a test: it prints figures and asserts nothing about them.

   For every d of -bench_dims a d-(-net_hidden)-1 network (the Model's own options: -net_hidden,
   -net_activation, -net_block_size) is evaluated on -bench_points uniform points, block by block as
   the Objective does, in the two ways an ENGD iteration uses it:
     forward  ModelForward of order 2 without tape (the line search: 31 of these per iteration)
     rows     ModelForward with tape + ModelBackwardRows into a P x N block (the Jacobian rows)
   Each is repeated until -bench_min_time seconds have passed (best call reported). Printed per
   call: seconds, microseconds per point, nanoseconds per point and channel, GF/s from the flops
   the kernels log (PetscLogFlops), and the ratio of the logged flops to the model count
   2 S sum_l n_l n_{l-1} per point (forward) or twice that (rows). Run it on one rank: the passes
   are rank-local. */
#include <engd.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_DIMS 16

typedef struct {
  double seconds, flops;
} Timing;

static const Timing timing_zero = {0.0, 0.0};

typedef struct {
  Model      model;
  PetscInt   dim, n_points, block, P, S;
  PetscReal *theta, *x, *out, *cot, *jac_t;
} Setup;

static PetscErrorCode PassForward(Setup *s)
{
  PetscFunctionBegin;
  for (PetscInt b = 0; b < s->n_points; b += s->block) {
    const PetscInt nb = PetscMin(s->block, s->n_points - b);
    PetscCall(ModelForward(s->model, s->theta, nb, s->x + b * s->dim, 2, NULL, PETSC_FALSE, s->out));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode PassRows(Setup *s)
{
  PetscFunctionBegin;
  for (PetscInt b = 0; b < s->n_points; b += s->block) {
    const PetscInt nb = PetscMin(s->block, s->n_points - b);
    PetscCall(ModelForward(s->model, s->theta, nb, s->x + b * s->dim, 2, NULL, PETSC_TRUE, s->out));
    PetscCall(ModelBackwardRows(s->model, s->theta, s->cot, s->jac_t + b * s->P, s->P));
  }
  PetscFunctionReturn(0);
}

/* Best of repeated calls, at least 3 and until min_time has passed. */
static PetscErrorCode TimePass(PetscErrorCode (*pass)(Setup *), Setup *s, double min_time, Timing *best)
{
  double total = 0;

  PetscFunctionBegin;
  best->seconds = PETSC_MAX_REAL;
  PetscCall(pass(s)); /* warm-up */
  for (PetscInt k = 0; k < 3 || total < min_time; k++) {
    PetscLogDouble f0, f1;
    double         t0, t;
    PetscCall(PetscGetFlops(&f0));
    t0 = MPI_Wtime();
    PetscCall(pass(s));
    t = MPI_Wtime() - t0;
    PetscCall(PetscGetFlops(&f1));
    total += t;
    if (t < best->seconds) {
      best->seconds = t;
      best->flops   = f1 - f0;
    }
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscInt  dims[MAX_DIMS] = {2, 10, 100}, n_dims = 3, n_points = 1024;
  PetscReal min_time       = 0.5;
  PetscBool set;

  EngdEnsureBlasSettings(argv);
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Channel benchmark options", "bench_channels");
  n_dims = MAX_DIMS;
  PetscCall(PetscOptionsIntArray("-bench_dims", "Input dimensions d, comma-separated", "bench_channels", dims, &n_dims, &set));
  if (!set) n_dims = 3;
  PetscCall(PetscOptionsInt("-bench_points", "Points per pass", "bench_channels", n_points, &n_points, NULL));
  PetscCall(PetscOptionsReal("-bench_min_time", "Repeat each pass for at least this many seconds", "bench_channels", min_time, &min_time, NULL));
  PetscOptionsEnd();

  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%5s %4s %6s | %-44s | %-44s\n", "", "", "", "forward, order 2, no tape (line search)", "rows: forward with tape + ModelBackwardRows"));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%5s %4s %6s | %9s %8s %9s %6s %7s | %9s %8s %9s %6s %7s\n", "d", "S", "P", "s/call", "us/pt", "ns/(pt*S)", "GF/s", "fl/mdl", "s/call", "us/pt", "ns/(pt*S)", "GF/s", "fl/mdl"));
  for (PetscInt k = 0; k < n_dims; k++) {
    Setup            s = {0};
    Timing           fwd = timing_zero, rows = timing_zero;
    PetscInt         n_layers;
    const PetscInt  *widths;
    double           model_flops = 0; /* 2 S sum_l n_l n_{l-1} per point */

    s.dim      = dims[k];
    s.n_points = n_points;
    PetscCall(ModelCreate(PETSC_COMM_SELF, &s.model));
    PetscCall(ModelSetDimension(s.model, s.dim));
    PetscCall(ModelSetFromOptions(s.model));
    PetscCall(ModelSetUp(s.model));
    PetscCall(ModelGetNumParameters(s.model, &s.P));
    PetscCall(ModelGetBlockSize(s.model, &s.block));
    PetscCall(ModelGetWidths(s.model, &n_layers, &widths));
    s.S = ModelNumChannels(s.dim, 2);
    for (PetscInt l = 1; l <= n_layers; l++) model_flops += 2.0 * s.S * widths[l] * widths[l - 1];
    PetscCall(ModelGetParameters(s.model, &s.theta));
    PetscCall(PetscMalloc4(s.dim * n_points, &s.x, s.S * s.block, &s.out, s.S * s.block, &s.cot, (size_t)s.P * n_points, &s.jac_t));
    for (PetscInt i = 0; i < s.dim * n_points; i++) s.x[i] = RngUniform(1, 2, (uint64_t)i);
    for (PetscInt i = 0; i < s.S * s.block; i++) s.cot[i] = 1.0;

    PetscCall(TimePass(PassForward, &s, min_time, &fwd));
    PetscCall(TimePass(PassRows, &s, min_time, &rows));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%5" PetscInt_FMT " %4" PetscInt_FMT " %6" PetscInt_FMT " | %9.2e %8.3f %9.3f %6.2f %7.2f | %9.2e %8.3f %9.3f %6.2f %7.2f\n", s.dim, s.S, s.P,
                          fwd.seconds, 1e6 * fwd.seconds / n_points, 1e9 * fwd.seconds / (n_points * s.S), 1e-9 * fwd.flops / fwd.seconds, fwd.flops / (model_flops * n_points),
                          rows.seconds, 1e6 * rows.seconds / n_points, 1e9 * rows.seconds / (n_points * s.S), 1e-9 * rows.flops / rows.seconds, rows.flops / (2 * model_flops * n_points)));
    PetscCall(PetscFree4(s.x, s.out, s.cot, s.jac_t));
    PetscCall(ModelDestroy(&s.model));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "(%" PetscInt_FMT " points, blocks of the Model's -net_block_size; fl/mdl: logged flops over the model count 2 S sum_l n_l n_{l-1} per point, twice that for rows)\n", n_points));
  PetscCall(PetscFinalize());
  return 0;
}
