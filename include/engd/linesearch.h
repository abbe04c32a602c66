/* LineSearch: the step size along a direction. Given theta, a direction d (the step is
   theta - eta d) and the loss at theta, it sets theta to the accepted point and returns eta
   (0: no candidate lowered the loss, theta unchanged). Types (-ls_type):
     grid  every candidate eta_k = 2^-k, k < -ls_steps, evaluated in one pass over the points
           and one reduction (ObjectiveLossCandidates); the smallest loss wins if it beats the
           current one (ENGD paper, Sec. 4). All ranks hold identical reduced losses, so they
           decide alike without a broadcast.
   A new type (backtracking, Armijo, ...) is one file with LineSearchCreate_<Name> and one
   LineSearchRegister line in linesearch.c. */
#ifndef ENGD_LINESEARCH_H
#define ENGD_LINESEARCH_H

#include <engd/objective.h>

typedef struct _p_LineSearch *LineSearch;

/* Log event (-log_view) of LineSearchApply, registered with the first line search. */
extern PetscClassId  LINESEARCH_CLASSID;
extern PetscLogEvent LINESEARCH_Apply;

#define LINESEARCHGRID "grid"

PetscErrorCode LineSearchRegister(const char name[], PetscErrorCode (*create)(LineSearch));
PetscErrorCode LineSearchCreate(MPI_Comm, LineSearch *);
PetscErrorCode LineSearchSetType(LineSearch, const char type[]);
/* Options: -ls_type grid -ls_steps n (31) */
PetscErrorCode LineSearchSetFromOptions(LineSearch);
PetscErrorCode LineSearchSetUp(LineSearch);
/* The text of the line search for an optimizer's view line, e.g. "line search over 31 steps". */
PetscErrorCode LineSearchView(LineSearch, PetscViewer);
PetscErrorCode LineSearchDestroy(LineSearch *);
PetscErrorCode LineSearchApply(LineSearch, Objective, PetscReal *theta, const PetscReal *dir, PetscReal loss, PetscReal *eta, PetscReal *loss_new);

#endif
