/* The small networks the Model's tests run through: 1 to 4 hidden layers (the deepest with a
   layer of width 1), input dimensions 1, 2, 5 and every activation, each with its own seed. */
#ifndef ENGD_TESTS_NETWORKS_H
#define ENGD_TESTS_NETWORKS_H

#include "testing.h"
#include <engd/rng.h>

typedef PetscErrorCode (*TestNetworkCheck)(PetscInt n_hidden, const PetscInt widths[], PetscInt d, const char *act, uint64_t seed, void *ctx);

static inline PetscReal TestUniform(uint64_t seed, uint64_t stream, uint64_t k, PetscReal lo, PetscReal hi) { return lo + (hi - lo) * RngUniform(seed, stream, k); }

/* A set-up d-(widths)-1 network with the activation act (through the options, as bin/engd). */
static inline PetscErrorCode TestCreateModel(PetscInt d, PetscInt n_hidden, const PetscInt widths[], const char *act, Model *model)
{
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsSetValue(NULL, "-net_activation", act));
  PetscCall(ModelCreate(PETSC_COMM_SELF, model));
  PetscCall(ModelSetDimension(*model, d));
  PetscCall(ModelSetFromOptions(*model));
  PetscCall(ModelSetHidden(*model, n_hidden, widths));
  PetscCall(ModelSetUp(*model));
  PetscCall(PetscOptionsClearValue(NULL, "-net_activation"));
  PetscFunctionReturn(0);
}

/* check(...) for every network of 1..max_depth (<= 4) hidden layers; seeds 1, 2, ... in order;
   *n_networks (if not NULL) counts them. */
static inline PetscErrorCode TestForEachNetwork(PetscInt max_depth, TestNetworkCheck check, void *ctx, PetscInt *n_networks)
{
  const PetscInt depth_widths[4][4] = {{7}, {6, 5}, {5, 4, 3}, {4, 3, 1, 3}};
  const PetscInt dims[3]            = {1, 2, 5};
  const char    *acts[3]            = {"tanh", "sin", "sigmoid"};
  uint64_t       seed               = 1;

  PetscFunctionBeginUser;
  for (PetscInt depth = 1; depth <= max_depth; depth++)
    for (PetscInt k = 0; k < 3; k++)
      for (PetscInt a = 0; a < 3; a++) PetscCall(check(depth, depth_widths[depth - 1], dims[k], acts[a], seed++, ctx));
  if (n_networks) *n_networks = (PetscInt)(seed - 1);
  PetscFunctionReturn(0);
}

#endif
