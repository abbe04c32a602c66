/* Hilbert NGD's metric: the Gram matrix of the H1(Omega) inner product of the tangent
   functions d u_theta / d theta_i, by quadrature on the interior points. At every point x of
   the interior term it gives the rows d u(x)/d theta and d (d_i u)(x)/d theta, scaled by
   sqrt(|Omega|/N), so that the sum of rows^T rows over ranks is the quadrature of
   (u_theta_i, u_theta_j)_{H1}. Rows are chunked like the Objective's (a chunk's rows are
   contiguous), so their Gram matrix does not depend on the rank count either. */
#ifndef ENGD_H1METRIC_H
#define ENGD_H1METRIC_H

#include <engd/objective.h>

typedef struct _p_H1Metric *H1Metric;

/* Creates the metric and the storage of its rows on this rank. */
PetscErrorCode H1MetricCreate(Objective, H1Metric *);
PetscErrorCode H1MetricDestroy(H1Metric *);
/* The most rows on any rank. */
PetscErrorCode H1MetricGetMaxRows(H1Metric, PetscInt *n_rows_max);
/* The rows at theta as a CURVATURE_ROWS operator (curvature.h), owned by the metric: jac_t is
   P x n_rows_local in the rank's chunks; no residuals. */
PetscErrorCode H1MetricOperator(H1Metric, const PetscReal *theta, const CurvatureOperator **);

#endif
