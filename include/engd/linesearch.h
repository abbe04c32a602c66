/* LineSearch: the step size along a direction. Given theta, a direction d (the step is
   theta - eta d) and the loss at theta, it sets theta to the accepted point and returns eta
   (0: no candidate lowered the loss, theta unchanged). Types (-ls_type):
     grid  every candidate eta_k = 2^-k, k < -ls_steps, evaluated in one pass over the points
           and one reduction (ObjectiveLossCandidates); the smallest loss wins if it beats the
           current one (ENGD paper, Sec. 4). All ranks hold identical reduced losses, so they
           decide alike without a broadcast.
     bracket the same candidates, but only -ls_bracket_width of them (5) per pass, centred on the
           k accepted last; another pass of as many beyond an end when the best lies at that
           end (longer steps below k = 0 or shorter ones above -ls_steps do not exist) or when
           none lowers the loss (then towards shorter steps, down to the grid's last). A
           candidate's loss does not depend on which others share its pass, so the step is
           the grid's whenever the final bracket holds the grid's minimiser. Its state, the k
           accepted last, is part of the optimizer state (checkpoints).
   A new type (backtracking, Armijo, ...) is one file with LineSearchCreate_<Name> and one
   LineSearchRegister line in linesearch.c. */
#ifndef ENGD_LINESEARCH_H
#define ENGD_LINESEARCH_H

#include <engd/objective.h>

typedef struct _p_LineSearch *LineSearch;

/* Log event (-log_view) of LineSearchApply, registered with the first line search. */
extern PetscClassId  LINESEARCH_CLASSID;
extern PetscLogEvent LINESEARCH_Apply;

#define LINESEARCHGRID    "grid"
#define LINESEARCHBRACKET "bracket"
/* The default: on the default job it takes the grid's steps on all of 30 seeds (the same
   iterations to 1e-6) with 7-8 candidates per iteration instead of 31 (README, "Line search"). */
#define LINESEARCHDEFAULT LINESEARCHBRACKET

PetscErrorCode LineSearchRegister(const char name[], PetscErrorCode (*create)(LineSearch));
PetscErrorCode LineSearchCreate(MPI_Comm, LineSearch *);
PetscErrorCode LineSearchSetType(LineSearch, const char type[]);
/* Options: -ls_type grid|bracket (bracket) -ls_steps n (31); bracket: -ls_bracket_width w (5)
   -ls_bracket_longer (on) -ls_bracket_start k (0) */
PetscErrorCode LineSearchSetFromOptions(LineSearch);
PetscErrorCode LineSearchSetUp(LineSearch);
/* The text of the line search for an optimizer's view line, e.g. "line search over 31 steps". */
PetscErrorCode LineSearchView(LineSearch, PetscViewer);
PetscErrorCode LineSearchDestroy(LineSearch *);
PetscErrorCode LineSearchApply(LineSearch, Objective, PetscReal *theta, const PetscReal *dir, PetscReal loss, PetscReal *eta, PetscReal *loss_new);

/* The candidates (forward passes over the points) the last LineSearchApply evaluated. */
PetscErrorCode LineSearchGetNumEvaluated(LineSearch, PetscInt *);

/* What a line search carries from one search to the next (bracket: the k accepted last), n <=
   LINESEARCH_MAX_STATE values (n = 0: none, grid). The Optimizer keeps it in its state as the
   entry "linesearch", so checkpoints hold it and restarts continue bit for bit. SetState checks
   the values and refuses ones this line search cannot have written. */
#define LINESEARCH_MAX_STATE 8
PetscErrorCode LineSearchGetState(LineSearch, PetscInt *n, PetscReal values[]);
PetscErrorCode LineSearchSetState(LineSearch, PetscInt n, const PetscReal values[]);

#endif
