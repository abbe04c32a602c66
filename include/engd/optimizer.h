/* Optimizer: one iteration of a training method on an Objective. Types (-optimizer):
     engd  energy natural gradient: Gram of the energy, damped pseudo-inverse, line search
     hngd  Hilbert natural gradient: the same with the Gram of the H1 inner product
     gd    gradient descent with the same line search
     adam  Adam (-adam_lr, -adam_beta1, -adam_beta2, -adam_epsilon)
     spring  SPRING: kernel-form ENGD with momentum (-spring_momentum, -spring_damping, ...)
     newton             exact Newton H^+ grad L (cut-off on |lambda|), grid line search or eta = 1
     newton_saddlefree  |H|^+ grad L (Dauphin et al. 2014), grid line search
     newton_lm          (H + lambda I)^+ grad L, lambda from the ratio of actual to predicted decrease
     lbfgs              L-BFGS: PETSc's MATLMVMBFGS with TAO's More-Thuente line search
     tao                a PETSc TAO solver (-tao_method ntr: Newton trust region on the exact
                        Hessian as a MATSHELL; nls, lmvm, bqnls, cg, nm)
     kfac               KFAC for PINNs: Kronecker-factored Gram, exact inverse, momentum, line search
     kfac_star          KFAC*: the KFAC step with step size and momentum from the exact Gauss-Newton model
   The base class does what every method shares: it asks the method for the loss and a
   direction d (theta - eta d descends), rejects the step when either is not finite, runs the
   line search (linesearch.h) and accepts, and restores theta if the step left it non-finite.
   A method supplies its direction (ops.direction, optimizerimpl.h); one that sets its own step
   (Adam) supplies ops.update instead of using the line search. A new method is one file with
   OptimizerCreate_<Name> and one OptimizerRegister line in optimizer.c. */
#ifndef ENGD_OPTIMIZER_H
#define ENGD_OPTIMIZER_H

#include <engd/objective.h>
#include <engd/curvature.h>
#include <engd/linesearch.h>
#include <engd/history.h>
#include <engd/diagnostics.h>

typedef struct _p_Optimizer *Optimizer;

/* What one iteration did. loss is L before the step, loss_new after it. */
typedef struct {
  PetscReal loss, loss_new;
  PetscReal eta;        /* step size taken (0: step rejected) */
  PetscReal damping;    /* damping used by curvature methods */
  PetscBool accepted;
  PetscBool nonfinite;  /* the direction or loss was not finite; the step was rejected */
  PetscBool solved;     /* a curvature solve made the direction: solve holds what it found */
  PetscInt  ls_candidates; /* line-search candidates evaluated (0: none ran) */
  CurvatureSolveInfo solve;
} OptimizerStepInfo;

/* The registered types (-optimizer). */
#define OPTIMIZERENGD "engd"
#define OPTIMIZERHNGD "hngd"
#define OPTIMIZERGD   "gd"
#define OPTIMIZERADAM "adam"
#define OPTIMIZERSPRING "spring"
#define OPTIMIZERNEWTON           "newton"
#define OPTIMIZERNEWTONSADDLEFREE "newton_saddlefree"
#define OPTIMIZERNEWTONLM         "newton_lm"
#define OPTIMIZERLBFGS            "lbfgs"
#define OPTIMIZERTAO              "tao"
#define OPTIMIZERKFAC             "kfac"
#define OPTIMIZERKFACSTAR         "kfac_star"

PetscErrorCode OptimizerRegister(const char name[], PetscErrorCode (*create)(Optimizer));
PetscErrorCode OptimizerCreate(Objective, Optimizer *);
PetscErrorCode OptimizerSetType(Optimizer, const char type[]);
PetscErrorCode OptimizerSetFromOptions(Optimizer);
PetscErrorCode OptimizerSetUp(Optimizer);
/* Advance theta (the Model's parameters) by one iteration. A step flagged nonfinite (or one
   that would make theta non-finite) leaves theta and the optimizer state unchanged. */
PetscErrorCode OptimizerStep(Optimizer, OptimizerStepInfo *);
PetscErrorCode OptimizerView(Optimizer, PetscViewer);
PetscErrorCode OptimizerDestroy(Optimizer *);
PetscErrorCode OptimizerGetType(Optimizer, const char **);
PetscErrorCode OptimizerGetObjective(Optimizer, Objective *);

/* History columns: register the optimizer's in history, before its first row: "eta" (the step
   size taken, 0 for a rejected step), "damping" (HistoryAddColumn) and, for the methods with a
   line search, "ls_candidates" (the candidates it evaluated), then those of the method
   (OptimizerOps.sethistory). From then on every OptimizerStep sets them in history's current row,
   so begin the iteration's row (HistoryBeginRow) before the step. OptimizerRecordStart sets them
   in a row without a step (iteration 0 of a fresh run): eta = damping = 0. */
PetscErrorCode OptimizerSetHistory(Optimizer, History);
PetscErrorCode OptimizerRecordStart(Optimizer);

/* Optimizer state: what a method carries from one iteration to the next, as a list of named
   real arrays, so that a checkpoint can hold any method's state without knowing the method.
   Every optimizer stores "iteration" (steps taken); Adam adds "moment1", "moment2" (P each)
   and "step" (its bias-correction count); SPRING "phi" (P) and "step"; ENGD adds "rcond" (the
   cut-off the continuation has lowered it to); a line search with state adds "linesearch"
   (LineSearchGetState: the bracket search's last accepted k). A method with more state (KFAC's
   averaged factors) adds its own entries. */
typedef struct {
  char       name[32];
  PetscInt   length;
  PetscReal *values;
} OptimizerStateEntry;
typedef struct {
  PetscInt             n, capacity;
  OptimizerStateEntry *entry;
} OptimizerState; /* zero-initialise before first use */

/* Add an entry, or overwrite the entry of that name (values are copied). */
PetscErrorCode OptimizerStateSet(OptimizerState *, const char name[], PetscInt length, const PetscReal values[]);
/* The entry of that name (*values = NULL when there is none); borrowed. */
PetscErrorCode OptimizerStateFind(const OptimizerState *, const char name[], PetscInt *length, const PetscReal **values);
PetscErrorCode OptimizerStateCopy(const OptimizerState *from, OptimizerState *to);
PetscErrorCode OptimizerStateDestroy(OptimizerState *);
/* The optimizer's current state (after OptimizerSetUp), into state (its buffers are reused). */
PetscErrorCode OptimizerGetState(Optimizer, OptimizerState *);
/* Restore a state from OptimizerGetState of an optimizer of the same type and size; a missing
   entry or one of another length is an error. */
PetscErrorCode OptimizerSetState(Optimizer, const OptimizerState *);

/* With -classify: classify the current point (minimum, saddle with its index, trivial saddle,
   not stationary; diagnostics.h), print it, and return the eigenvalues of H (P entries, NaN
   when only Lanczos' extremes are known; lambda may be NULL). classified: whether -classify
   was given (otherwise nothing is done). */
PetscErrorCode OptimizerClassify(Optimizer, PetscBool *classified, PointClass *, PetscReal *lambda);

/* The line search of the methods that use one (NULL for those that do not). */
PetscErrorCode OptimizerGetLineSearch(Optimizer, LineSearch *);

#endif
