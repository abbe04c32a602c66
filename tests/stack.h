/* Shared set-up of the tests that build the full stack as bin/engd does: option pairs set and
   cleared around a case, Problem + Model + Objective, and a one-line report of the largest
   error over ranks. Static inline so that a test that uses only part of it compiles cleanly. */
#ifndef ENGD_TESTS_STACK_H
#define ENGD_TESTS_STACK_H

#include "testing.h"

/* Set (or clear) the NULL-terminated name, value pairs in the options database. */
static inline PetscErrorCode TestSetOptions(const char *const *options, PetscBool set)
{
  PetscFunctionBeginUser;
  for (PetscInt k = 0; options[k]; k += 2) {
    if (set) PetscCall(PetscOptionsSetValue(NULL, options[k], options[k + 1]));
    else PetscCall(PetscOptionsClearValue(NULL, options[k]));
  }
  PetscFunctionReturn(0);
}

/* Problem, Model and Objective on comm, from the options database, as bin/engd creates them. */
static inline PetscErrorCode BuildStack(MPI_Comm comm, Problem *problem, Model *model, Objective *objective)
{
  PetscInt dim;

  PetscFunctionBeginUser;
  PetscCall(ProblemCreate(comm, problem));
  PetscCall(ProblemSetFromOptions(*problem));
  PetscCall(ModelCreate(comm, model));
  PetscCall(ProblemGetDimension(*problem, &dim));
  PetscCall(ModelSetDimension(*model, dim));
  PetscCall(ModelSetFromOptions(*model));
  PetscCall(ObjectiveCreate(*model, *problem, objective));
  PetscCall(ObjectiveSetFromOptions(*objective));
  PetscCall(ObjectiveSetUp(*objective));
  PetscFunctionReturn(0);
}

static inline PetscErrorCode DestroyStack(Problem *problem, Model *model, Objective *objective)
{
  PetscFunctionBeginUser;
  PetscCall(ObjectiveDestroy(objective));
  PetscCall(ModelDestroy(model));
  PetscCall(ProblemDestroy(problem));
  PetscFunctionReturn(0);
}

/* Print the largest of the ranks' values (NaN counts as the largest) next to its tolerance. */
static inline PetscErrorCode ReportMax(MPI_Comm comm, const char *what, PetscReal local, PetscReal tol)
{
  PetscReal global;

  PetscFunctionBeginUser;
  if (local != local) local = PETSC_MAX_REAL;
  PetscCall(MPIU_Allreduce(&local, &global, 1, MPIU_REAL, MPIU_MAX, comm));
  PetscCall(PetscPrintf(comm, "    %-66s %.1e (tol %.0e)\n", what, (double)global, (double)tol));
  PetscFunctionReturn(0);
}

/* Largest difference on this rank between the Jacobian rows jac_t (ObjectiveResidualRows at
   theta) and central differences of the residuals in theta (step h), relative to each row's
   largest entry. */
static inline PetscErrorCode RowsVsDifferences(Objective objective, const PetscReal *theta, const PetscReal *jac_t, PetscReal h, PetscReal *worst)
{
  Model      model;
  PetscInt   P, n_local, n_max;
  PetscReal *thetas, *res_p, *res_m, *jac_s, *fd_err, *row_norm, loss;

  PetscFunctionBeginUser;
  PetscCall(ObjectiveGetModel(objective, &model));
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ObjectiveGetLocalRows(objective, &n_local, &n_max));
  PetscCall(PetscMalloc4(P, &thetas, n_max, &res_p, n_max, &res_m, (size_t)P * n_max, &jac_s));
  PetscCall(PetscCalloc2(n_max, &fd_err, n_max, &row_norm));
  for (PetscInt k = 0; k < P; k++) {
    PetscCall(PetscArraycpy(thetas, theta, P));
    thetas[k] = theta[k] + h;
    PetscCall(ObjectiveResidualRows(objective, thetas, res_p, jac_s, &loss));
    thetas[k] = theta[k] - h;
    PetscCall(ObjectiveResidualRows(objective, thetas, res_m, jac_s, &loss));
    for (PetscInt p = 0; p < n_local; p++) {
      const PetscReal J = jac_t[p * P + k];
      fd_err[p]         = PetscMax(fd_err[p], PetscAbsReal(J - (res_p[p] - res_m[p]) / (2 * h)));
      row_norm[p]       = PetscMax(row_norm[p], PetscAbsReal(J));
    }
  }
  *worst = 0.0;
  for (PetscInt p = 0; p < n_local; p++) *worst = PetscMax(*worst, fd_err[p] / PetscMax(row_norm[p], 1e-300));
  PetscCall(PetscFree4(thetas, res_p, res_m, jac_s));
  PetscCall(PetscFree2(fd_err, row_norm));
  PetscFunctionReturn(0);
}

#endif
