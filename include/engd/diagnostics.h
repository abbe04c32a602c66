/* Saddle diagnostics of a training run (Rowan 2025): at the point of an iteration, the gradient
   norm, the inertia of the exact Hessian H (negative, zero, positive eigenvalues; lambda_min,
   lambda_max), whether the step's direction d descends (cosine of g and d: the step is
   theta - eta d), the loss against that of the trivial point (output weights zero, the output
   bias the best constant), and the alignment of the last hidden layer's features phi_i with
   the residual, max_i |<A phi_i, r~>| / (|A phi_i| |r~|) (A the terms' linearised operators).
   Since u is linear in the output weights, A phi_i is the column of J~ for weight i, so the
   alignment is |dL/dw_i| / sqrt(H_ii 2L).

   The spectrum is the full one (LAPACK, through the indefinite curvature solver) while P is at
   most -hessian_max_params; beyond, -hessian_spectrum lanczos gives the extreme eigenvalues by
   SLEPc (Krylov-Schur, i.e. thick-restart Lanczos for a symmetric operator) on the Hessian as a
   MATSHELL of Hessian-vector products, and counts the negative ones among the
   -hessian_lanczos_nev smallest.

   Options: -hessian_diagnostics (record every iteration's into the history), -hessian_diagnostics_every k,
   -hessian_monitor (a line per recorded iteration), -hessian_spectrum auto|full|lanczos,
   -hessian_max_params, -hessian_zero_tol (|lambda| <= tol max|lambda| counts as zero),
   -hessian_lanczos_nev, -classify (classify the final point), -classify_gtol, -classify_trivial_tol,
   -classify_loss, -classify_spectrum file (the final eigenvalues, one per line). */
#ifndef ENGD_DIAGNOSTICS_H
#define ENGD_DIAGNOSTICS_H

#include <engd/objective.h>
#include <engd/history.h>

typedef struct _p_HessianDiagnostics *HessianDiagnostics;

typedef enum { HESSIAN_SPECTRUM_AUTO, HESSIAN_SPECTRUM_FULL, HESSIAN_SPECTRUM_LANCZOS } HessianSpectrumType;
extern const char *const HessianSpectrumTypes[];

/* What was measured at a point (NaN where not measured). */
typedef struct {
  PetscReal loss, grad_norm;
  PetscReal n_negative, n_zero, n_positive; /* Lanczos: n_negative a lower bound, the others NaN */
  PetscReal lambda_min, lambda_max;
  PetscReal descent;      /* g^T d / (|g| |d|) */
  PetscReal loss_trivial; /* the trivial point's loss */
  PetscReal alignment;
} HessianDiagnosticsValues;

/* The class of a point (HessianDiagnosticsClassify). */
typedef enum { POINT_MINIMUM, POINT_SADDLE, POINT_TRIVIAL_SADDLE, POINT_NOT_STATIONARY } PointClass;
extern const char *const PointClasses[];

PetscErrorCode HessianDiagnosticsCreate(Objective, HessianDiagnostics *);
PetscErrorCode HessianDiagnosticsSetFromOptions(HessianDiagnostics, PetscOptionItems *);
PetscErrorCode HessianDiagnosticsDestroy(HessianDiagnostics *);
/* Whether the run records diagnostics (-hessian_diagnostics) or classifies its end (-classify). */
PetscErrorCode HessianDiagnosticsEnabled(HessianDiagnostics, PetscBool *record, PetscBool *classify);
/* Refuse a P the full spectrum cannot hold when it is asked for (the message names the limit
   and the Lanczos alternative). */
PetscErrorCode HessianDiagnosticsCheckSize(HessianDiagnostics, PetscInt n_params, const char *who);
/* Register the columns grad_norm, hess_negative, hess_zero, hess_positive, hess_lambda_min,
   hess_lambda_max, descent, loss_trivial, alignment (when recording). */
PetscErrorCode HessianDiagnosticsSetHistory(HessianDiagnostics, History);
/* Measure at theta for iteration `iteration` (recorded if it is due): grad (or NULL: computed),
   H assembled (or NULL) with its eigenvalues (or NULL: computed), the step's direction (or
   NULL); sets the history's columns and prints the -hessian_monitor line. */
PetscErrorCode HessianDiagnosticsRecord(HessianDiagnostics, PetscInt iteration, const PetscReal *theta, PetscReal loss, const PetscReal *grad, const PetscReal *H, const PetscReal *lambda, const PetscReal *dir);
/* Measure at theta and classify: a minimum (a least-squares loss below -classify_loss, or stationary without
   negative eigenvalues), a saddle of index n_negative, a trivial saddle (a stationary point whose
   loss is within -classify_trivial_tol of the trivial point's, degenerate ones of index 0
   included: a feature aligned with the residual lowers the loss), or not stationary (|grad L|
   above -classify_gtol); prints "Point reached: ..." and a "CLASSIFY ..." line for scripts. The
   eigenvalues go to lambda_out (P entries, may be NULL; NaN under Lanczos). */
PetscErrorCode HessianDiagnosticsClassify(HessianDiagnostics, const PetscReal *theta, PointClass *, HessianDiagnosticsValues *, PetscReal *lambda_out);

#endif
