/* For implementations of LineSearch (linesearch.h). */
#ifndef ENGD_LINESEARCHIMPL_H
#define ENGD_LINESEARCHIMPL_H

#include <engd/linesearch.h>

typedef struct {
  PetscErrorCode (*setfromoptions)(LineSearch, PetscOptionItems *);
  PetscErrorCode (*setup)(LineSearch);
  PetscErrorCode (*apply)(LineSearch, Objective, PetscReal *theta, const PetscReal *dir, PetscReal loss, PetscReal *eta, PetscReal *loss_new);
  PetscErrorCode (*view)(LineSearch, PetscViewer);
  PetscErrorCode (*destroy)(LineSearch);
  /* optional: what the type carries from one search to the next (at most LINESEARCH_MAX_STATE values) */
  PetscErrorCode (*getstate)(LineSearch, PetscInt *n, PetscReal values[]);
  PetscErrorCode (*setstate)(LineSearch, PetscInt n, const PetscReal values[]);
} LineSearchOps;

struct _p_LineSearch {
  MPI_Comm      comm;
  char          type[64];
  LineSearchOps ops;
  void         *data;
  PetscInt      n_steps; /* -ls_steps: candidates a type may try */
  PetscInt      n_evaluated; /* candidates the last search evaluated (its apply sets it) */
  PetscBool     setup_called;
};

/* The grid eta_k = 2^-k, k < n_steps, and room for a loss per candidate (PetscFree2 them). */
PetscErrorCode LineSearchGridSteps_Private(LineSearch, PetscReal **eta, PetscReal **loss);
/* The candidate with the smallest finite loss, the first of equal ones (-1: none is finite). */
PetscErrorCode LineSearchBest_Private(PetscInt n, const PetscReal loss[], PetscInt *best);
/* Take candidate best (theta -= eta[best] dir) if its loss beats the current one, else keep
   theta (*eta = 0, *loss_new = loss). */
PetscErrorCode LineSearchAccept_Private(Objective, PetscReal *theta, const PetscReal *dir, PetscReal loss, PetscInt best, const PetscReal eta[], const PetscReal losses[], PetscReal *eta_taken, PetscReal *loss_new);

PETSC_EXTERN PetscErrorCode LineSearchCreate_Grid(LineSearch);
PETSC_EXTERN PetscErrorCode LineSearchCreate_Bracket(LineSearch);

#endif
