/* CurvatureSolver (curvature.h): the registry of implementations, options, the automatic
   choice, the interface's dispatch and log events, and the spectral filter the eigen-based
   solves share. */
#include <engd/private/curvatureimpl.h>
#include <engd/registry.h>
#include <petscblaslapack.h>
#include <unistd.h>

const char *const CurvatureSolveTypes[] = {"eigen", "cholesky", "CurvatureSolveType", "CURVATURE_SOLVE_", NULL};

PetscClassId  CURVATURESOLVER_CLASSID;
PetscLogEvent CURVATURESOLVER_Gram, CURVATURESOLVER_Solve;

static EngdRegistry Solvers = ENGD_REGISTRY("-engd_gram", "back-end", CURVATURESOLVERAUTO);

PetscErrorCode CurvatureSolverRegister(const char name[], PetscErrorCode (*create)(CurvatureSolver))
{
  PetscFunctionBegin;
  PetscCall(EngdRegistryAdd(&Solvers, name, create));
  PetscFunctionReturn(0);
}

/* The implementations and the log events, once. */
static PetscErrorCode CurvatureSolverRegisterAll(void)
{
  PetscFunctionBegin;
  if (EngdRegistryFilled(&Solvers)) PetscFunctionReturn(0);
  PetscCall(PetscClassIdRegister("CurvatureSolver", &CURVATURESOLVER_CLASSID));
  PetscCall(PetscLogEventRegister("EngdGram", CURVATURESOLVER_CLASSID, &CURVATURESOLVER_Gram));
  PetscCall(PetscLogEventRegister("EngdSolve", CURVATURESOLVER_CLASSID, &CURVATURESOLVER_Solve));
  PetscCall(CurvatureSolverRegister(CURVATURESOLVERREPLICATED, CurvatureSolverCreate_Replicated));
  PetscCall(CurvatureSolverRegister(CURVATURESOLVERSCALAPACK, CurvatureSolverCreate_ScaLAPACK));
  PetscCall(CurvatureSolverRegister(CURVATURESOLVERCG, CurvatureSolverCreate_KSP));
  PetscCall(CurvatureSolverRegister(CURVATURESOLVERKERNEL, CurvatureSolverCreate_Kernel));
  PetscCall(CurvatureSolverRegister(CURVATURESOLVERINDEFINITE, CurvatureSolverCreate_Indefinite));
  PetscCall(CurvatureSolverRegister(CURVATURESOLVERQR, CurvatureSolverCreate_QR));
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverCreate(MPI_Comm comm, CurvatureSolver *gram)
{
  CurvatureSolver g;

  PetscFunctionBegin;
  PetscCall(EngdInitializePackage());
  PetscCall(CurvatureSolverRegisterAll());
  PetscCall(PetscNew(&g));
  g->comm       = comm;
  g->block_size = 64;
  g->solve_type = CURVATURE_SOLVE_EIGEN;
  PetscCall(PetscStrncpy(g->type, CURVATURESOLVERAUTO, sizeof(g->type)));
  PetscCallMPI(MPI_Comm_rank(comm, &g->rank));
  PetscCallMPI(MPI_Comm_size(comm, &g->size));
  *gram = g;
  PetscFunctionReturn(0);
}

/* The implementation of g->type, created once (before SetUp when SetFromOptions reads the
   type's own options); another type replaces it. */
static PetscErrorCode CreateImplementation(CurvatureSolver g)
{
  PetscErrorCode (*create)(CurvatureSolver);

  PetscFunctionBegin;
  if (!strcmp(g->created, g->type)) PetscFunctionReturn(0);
  if (g->created[0] && g->ops.destroy) PetscCall((*g->ops.destroy)(g));
  PetscCall(PetscMemzero(&g->ops, sizeof(g->ops)));
  g->data        = NULL;
  g->rcond_floor = 1e-14; /* G formed in double: eigenvalues below ~1e-15 lambda_max are noise */
  PetscCall(EngdRegistryFind(&Solvers, g->comm, g->type, &create));
  PetscCall((*create)(g));
  PetscCall(PetscStrncpy(g->created, g->type, sizeof(g->created)));
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverSetType(CurvatureSolver g, const char type[])
{
  PetscBool is_auto;

  PetscFunctionBegin;
  PetscCall(PetscStrcmp(type, CURVATURESOLVERAUTO, &is_auto));
  if (!is_auto) {
    PetscErrorCode (*create)(CurvatureSolver);
    PetscCall(EngdRegistryFind(&Solvers, g->comm, type, &create));
  }
  PetscCheck(!g->setup_called, g->comm, PETSC_ERR_ORDER, "Set the curvature solver type before CurvatureSolverSetUp()");
  PetscCall(PetscStrncpy(g->type, type, sizeof(g->type)));
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverSetSizes(CurvatureSolver g, PetscInt n_params, PetscInt n_rows_max)
{
  PetscFunctionBegin;
  g->n_params   = n_params;
  g->n_rows_max = n_rows_max;
  PetscFunctionReturn(0);
}

/* The options of every other type that has its own (the Krylov solver's -engd_ksp_*,
   -engd_pc_type, the replicated -gram_eigensolver, ...), each read by a throwaway solver of
   that type: with -help, so that it lists them whichever type is chosen; with auto, because any
   type may be chosen at set-up, where the chosen one reads its options again, and a run must
   not refuse them as unknown before. */
static PetscErrorCode ListOtherTypesOptions(CurvatureSolver g)
{
  static PetscBool listing = PETSC_FALSE;
  PetscBool        help, is_auto;

  PetscFunctionBegin;
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  PetscCall(PetscStrcmp(g->type, CURVATURESOLVERAUTO, &is_auto));
  if ((!help && !is_auto) || listing) PetscFunctionReturn(0);
  listing = PETSC_TRUE;
  for (PetscInt k = 0; k < Solvers.n; k++) {
    CurvatureSolver other;
    if (!strcmp(Solvers.names[k], g->type)) continue;
    PetscCall(CurvatureSolverCreate(g->comm, &other));
    PetscCall(CurvatureSolverSetType(other, Solvers.names[k]));
    PetscCall(CreateImplementation(other));
    if (other->ops.setfromoptions) PetscCall((*other->ops.setfromoptions)(other));
    PetscCall(CurvatureSolverDestroy(&other));
  }
  listing = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverSetFromOptions(CurvatureSolver g)
{
  char     type[64];
  PetscInt solve = (PetscInt)g->solve_type;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(type, g->type, sizeof(type)));
  PetscOptionsBegin(g->comm, NULL, "Gram matrix options", "CurvatureSolver");
  PetscCall(EngdOptionsString("-engd_gram", "Curvature solver: replicated, scalapack, kernel, cg, qr or auto", "CurvatureSolverSetType", type, type, sizeof(type), NULL));
  PetscCall(EngdOptionsEList("-engd_solve", "Solve: eigen (pseudo-inverse) or cholesky (damped, eigen fallback)", "CurvatureSolverSolve", CurvatureSolveTypes, 2, CurvatureSolveTypes[solve], &solve, NULL));
  PetscCall(EngdOptionsInt("-gram_block_size", "ScaLAPACK block size", "CurvatureSolverSetUp", g->block_size, &g->block_size, NULL));
  PetscCall(EngdOptionsReal("-gram_memory_mb", "Memory per rank the auto choice may give a replicated Gram (default: a quarter of the node's memory per rank)", "CurvatureSolverSetUp", g->memory_budget_mb, &g->memory_budget_mb, NULL));
  PetscOptionsEnd();
  g->solve_type = (CurvatureSolveType)solve;
  PetscCheck(g->block_size >= 1, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "-gram_block_size must be positive, got %" PetscInt_FMT, g->block_size);
  PetscCall(CurvatureSolverSetType(g, type));
  if (strcmp(g->type, CURVATURESOLVERAUTO)) {
    PetscCall(CreateImplementation(g));
    if (g->ops.setfromoptions) PetscCall((*g->ops.setfromoptions)(g));
  }
  PetscCall(ListOtherTypesOptions(g));
  PetscFunctionReturn(0);
}

/* The node's memory per rank in MB (what the stored rows must fit in) and the default budget of
   -engd_gram auto, a quarter of it. */
static PetscErrorCode NodeMemoryPerRank(CurvatureSolver g, PetscReal *mb)
{
  MPI_Comm    node;
  PetscMPIInt ranks_on_node;
  double      bytes = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGE_SIZE);

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_split_type(g->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  PetscCallMPI(MPI_Comm_size(node, &ranks_on_node));
  PetscCallMPI(MPI_Comm_free(&node));
  *mb = bytes / ranks_on_node / 1048576.0;
  PetscFunctionReturn(0);
}

/* G, eigenvectors, the double-double packed G and the Allreduce's copy of it; LAPACK's
   workspace comes on top (replicated.c has the full model) */
static PetscReal ReplicatedBytes(PetscInt P) { return 4.0 * 8.0 * (PetscReal)P * (PetscReal)P; }

PetscErrorCode CurvatureSolverSetLoss(CurvatureSolver g, PetscInt n_rows, PetscBool residual_form)
{
  PetscFunctionBegin;
  g->n_rows_global = n_rows;
  g->residual_form = residual_form;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverGetCutoffFloor(CurvatureSolver g, PetscReal *floor)
{
  PetscFunctionBegin;
  PetscCheck(g->setup_called, g->comm, PETSC_ERR_ORDER, "Call CurvatureSolverSetUp() first");
  *floor = g->rcond_floor;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverGetMatrixFree(CurvatureSolver g, PetscBool *matrix_free)
{
  PetscFunctionBegin;
  PetscCheck(g->setup_called, g->comm, PETSC_ERR_ORDER, "Call CurvatureSolverSetUp() first");
  *matrix_free = g->matrix_free;
  PetscFunctionReturn(0);
}

/* -engd_gram auto: the model of auto.c on this run's sizes; a solver that was not told the
   loss (CurvatureSolverSetLoss) counts every local row limit as the global rows, so it never
   takes the kernel. */
static PetscErrorCode ChooseAuto(CurvatureSolver g)
{
  CurvatureAutoInput  in;
  CurvatureAutoChoice choice;
  PetscReal           node_mb = 0;

  PetscFunctionBegin;
  PetscCall(NodeMemoryPerRank(g, &node_mb));
  if (g->memory_budget_mb <= 0) g->memory_budget_mb = 0.25 * node_mb;
  in.n_params      = g->n_params;
  in.n_rows        = g->n_rows_global > 0 ? g->n_rows_global : g->n_rows_max * g->size;
  in.n_rows_max    = g->n_rows_max;
  in.ranks         = g->size;
  in.budget_mb     = g->memory_budget_mb;
  in.node_mb       = node_mb;
  in.residual_form = g->n_rows_global > 0 ? g->residual_form : PETSC_FALSE;
  PetscCall(CurvatureSolverChooseAuto(&in, &choice));
  PetscCall(PetscStrncpy(g->type, choice.type, sizeof(g->type)));
  PetscCall(PetscStrncpy(g->auto_why, choice.why, sizeof(g->auto_why)));
  g->matrix_free = choice.matrix_free;
  g->auto_chosen      = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverSetUp(CurvatureSolver g)
{
  PetscBool is_auto;

  PetscFunctionBegin;
  if (g->setup_called) PetscFunctionReturn(0);
  PetscCheck(g->n_params > 0 && g->n_rows_max > 0, g->comm, PETSC_ERR_ORDER, "Call CurvatureSolverSetSizes() first");
  PetscCall(PetscStrcmp(g->type, CURVATURESOLVERAUTO, &is_auto));
  if (is_auto) { /* the chosen type's own options: SetFromOptions saw only "auto" */
    PetscCall(ChooseAuto(g));
    PetscCall(CreateImplementation(g));
    if (g->ops.setfromoptions) PetscCall((*g->ops.setfromoptions)(g));
  } else {
    PetscReal node_mb;
    PetscBool is_cg;
    PetscCall(CreateImplementation(g));
    PetscCall(NodeMemoryPerRank(g, &node_mb));
    PetscCall(PetscStrcmp(g->type, CURVATURESOLVERCG, &is_cg));
    if (is_cg && !CurvatureRowsFit(g->n_params, g->n_rows_max, node_mb)) {
      g->matrix_free = PETSC_TRUE;
      PetscCall(PetscInfo(NULL, "the stored rows would take %.0f MB per rank: matrix-free products instead\n", 8.0 * (double)g->n_params * (double)g->n_rows_max / 1048576.0));
    }
  }
  PetscCall((*g->ops.setup)(g));
  g->setup_called = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverView(CurvatureSolver g, PetscViewer viewer)
{
  PetscLogDouble bytes;

  PetscFunctionBegin;
  PetscCall(CurvatureSolverGetMemoryEstimate(g, &bytes));
  PetscCall(PetscViewerASCIIPrintf(viewer, "Gram: %s%s, %s%smodel %.1f MB per rank", g->type, g->auto_chosen ? " (chosen by -engd_gram auto)" : "", g->ops.getksp ? "" : CurvatureSolveTypes[g->solve_type], g->ops.getksp ? "" : " solve, ", bytes / 1048576.0));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_FALSE));
  if (g->auto_chosen) PetscCall(PetscViewerASCIIPrintf(viewer, " (%s)", g->auto_why));
  if (g->ops.view) PetscCall((*g->ops.view)(g, viewer));
  PetscCall(PetscViewerASCIIPrintf(viewer, "\n"));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverDestroy(CurvatureSolver *gram)
{
  CurvatureSolver g = *gram;

  PetscFunctionBegin;
  if (!g) PetscFunctionReturn(0);
  if (g->created[0] && g->ops.destroy) PetscCall((*g->ops.destroy)(g));
  PetscCall(PetscFree(g));
  *gram = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverGetType(CurvatureSolver g, const char **type)
{
  PetscFunctionBegin;
  *type = g->type;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverSetOperator(CurvatureSolver g, const CurvatureOperator *op)
{
  PetscFunctionBegin;
  PetscCheck(g->setup_called, g->comm, PETSC_ERR_ORDER, "Call CurvatureSolverSetUp() first");
  PetscCheck(op->n_params == g->n_params, g->comm, PETSC_ERR_ARG_SIZ, "An operator of %" PetscInt_FMT " parameters for a solver of %" PetscInt_FMT, op->n_params, g->n_params);
  if (op->type == CURVATURE_ROWS) {
    const PetscInt n_rows_local = op->chunk_row[op->n_chunks];
    PetscCheck(n_rows_local <= g->n_rows_max, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "%" PetscInt_FMT " local rows exceed the %" PetscInt_FMT " set with CurvatureSolverSetSizes()", n_rows_local, g->n_rows_max);
    PetscCall(PetscLogEventBegin(CURVATURESOLVER_Gram, 0, 0, 0, 0));
    PetscCall((*g->ops.setoperator)(g, op));
    PetscCall(PetscLogEventEnd(CURVATURESOLVER_Gram, 0, 0, 0, 0));
  } else PetscCall((*g->ops.setoperator)(g, op));
  g->op = op;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverSolve(CurvatureSolver g, const CurvatureRegularization *reg, const PetscReal *rhs, PetscReal *dir, CurvatureSolveInfo *info)
{
  CurvatureSolveInfo local_info;

  PetscFunctionBegin;
  PetscCheck(g->op, g->comm, PETSC_ERR_ORDER, "Call CurvatureSolverSetOperator() before CurvatureSolverSolve()");
  PetscCall(PetscMemzero(&local_info, sizeof(local_info)));
  PetscCall(PetscLogEventBegin(CURVATURESOLVER_Solve, 0, 0, 0, 0));
  PetscCall((*g->ops.solve)(g, reg, rhs, dir, &local_info));
  PetscCall(PetscLogEventEnd(CURVATURESOLVER_Solve, 0, 0, 0, 0));
  if (info) *info = local_info;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverSolveResidual(CurvatureSolver g, const CurvatureRegularization *reg, PetscReal *dir, CurvatureSolveInfo *info)
{
  CurvatureSolveInfo local_info;

  PetscFunctionBegin;
  PetscCheck(g->ops.solveresidual, g->comm, PETSC_ERR_SUP, "The %s curvature solver has no residual-form solve d = J^T (J J^T + damping I)^+ r", g->type);
  PetscCheck(g->op && g->op->type == CURVATURE_ROWS && g->op->res, g->comm, PETSC_ERR_ORDER, "The residual-form solve needs a rows operator with residuals (CurvatureSolverSetOperator())");
  PetscCall(PetscMemzero(&local_info, sizeof(local_info)));
  PetscCall(PetscLogEventBegin(CURVATURESOLVER_Solve, 0, 0, 0, 0));
  PetscCall((*g->ops.solveresidual)(g, reg, dir, &local_info));
  PetscCall(PetscLogEventEnd(CURVATURESOLVER_Solve, 0, 0, 0, 0));
  if (info) *info = local_info;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverHasResidualForm(CurvatureSolver g, PetscBool *has)
{
  PetscFunctionBegin;
  PetscCheck(g->setup_called, g->comm, PETSC_ERR_ORDER, "Call CurvatureSolverSetUp() first");
  *has = g->ops.solveresidual ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverCheckRegularization(CurvatureSolver g, const CurvatureRegularization *reg)
{
  PetscFunctionBegin;
  PetscCheck(!g->solve_needs_damping || reg->damping > 0, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "-engd_gram %s solves a general right-hand side (deep Ritz energy terms, Hilbert NGD) by the push-through identity (G + lambda I)^-1 g = (g - J^T (K + lambda I)^-1 J g)/lambda, which needs -engd_damping > 0 (got %g)", g->type, (double)reg->damping);
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverGetMatrix(CurvatureSolver g, PetscReal *gram)
{
  PetscInt P = g->n_params;

  PetscFunctionBegin;
  PetscCheck(g->ops.getmatrix, g->comm, PETSC_ERR_SUP, "The %s curvature solver does not assemble G", g->type);
  PetscCall((*g->ops.getmatrix)(g, gram));
  for (PetscInt j = 0; j < P; j++) /* back-ends hold the upper triangle */
    for (PetscInt i = j + 1; i < P; i++) gram[i + j * P] = gram[j + i * P];
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverGetState(CurvatureSolver g, PetscInt *length, const PetscReal **values)
{
  PetscFunctionBegin;
  *length = 0;
  *values = NULL;
  if (g->ops.getstate) PetscCall((*g->ops.getstate)(g, length, values));
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverSetState(CurvatureSolver g, PetscInt length, const PetscReal values[])
{
  PetscInt         expected;
  const PetscReal *current;

  PetscFunctionBegin;
  PetscCall(CurvatureSolverGetState(g, &expected, &current));
  PetscCheck(length == expected, g->comm, PETSC_ERR_FILE_UNEXPECTED, "the %s curvature solver's saved state has %" PetscInt_FMT " values, expected %" PetscInt_FMT, g->type, length, expected);
  if (length > 0) PetscCall((*g->ops.setstate)(g, length, values));
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverGetMemoryEstimate(CurvatureSolver g, PetscLogDouble *bytes)
{
  PetscFunctionBegin;
  if (g->ops.memory) PetscCall((*g->ops.memory)(g, bytes));
  else *bytes = ReplicatedBytes(g->n_params);
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverGetKSP(CurvatureSolver g, KSP *ksp)
{
  PetscFunctionBegin;
  PetscCheck(g->ops.getksp, g->comm, PETSC_ERR_SUP, "The %s curvature solver has no KSP (-engd_gram cg has)", g->type);
  PetscCall((*g->ops.getksp)(g, ksp));
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverSetInitialGuessNonzero(CurvatureSolver g, PetscBool nonzero)
{
  PetscFunctionBegin;
  g->guess_nonzero = nonzero;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverMultGram(CurvatureSolver g, const PetscReal *v, PetscReal *Gv)
{
  PetscFunctionBegin;
  PetscCheck(g->ops.multgram, g->comm, PETSC_ERR_SUP, "The %s curvature solver has no G v product", g->type);
  PetscCheck(g->op, g->comm, PETSC_ERR_ORDER, "Call CurvatureSolverSetOperator() before CurvatureSolverMultGram()");
  PetscCall((*g->ops.multgram)(g, v, Gv));
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverWantsKronecker(CurvatureSolver g, PetscBool *wants)
{
  PetscFunctionBegin;
  *wants = PETSC_FALSE;
  if (g->ops.wantskronecker) PetscCall((*g->ops.wantskronecker)(g, wants));
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverSetKronecker(CurvatureSolver g, KroneckerSum kron)
{
  PetscFunctionBegin;
  g->kron = kron;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverSetSketchKey(CurvatureSolver g, PetscInt seed, PetscInt iteration)
{
  PetscFunctionBegin;
  g->sketch_seed      = seed;
  g->sketch_iteration = iteration;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverSetFilter(CurvatureSolver g, CurvatureFilter filter)
{
  PetscFunctionBegin;
  g->filter = filter;
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSolverGetEigenvalues(CurvatureSolver g, PetscInt *n, const PetscReal **lambda)
{
  PetscFunctionBegin;
  PetscCheck(g->ops.geteigenvalues, g->comm, PETSC_ERR_SUP, "The %s curvature solver does not compute eigenvalues", g->type);
  PetscCall((*g->ops.geteigenvalues)(g, n, lambda));
  PetscFunctionReturn(0);
}

PetscErrorCode CurvatureSpectralFilter(PetscInt n, const PetscReal *lambda, PetscReal rcond, PetscReal damping, PetscReal *factor, CurvatureSolveInfo *info)
{
  const PetscReal lambda_max = n > 0 ? lambda[n - 1] : 0.0, cut = rcond * lambda_max;

  PetscFunctionBegin;
  info->n_kept          = 0;
  info->lambda_max      = lambda_max;
  info->lambda_min_kept = lambda_max;
  for (PetscInt i = 0; i < n; i++) {
    if (lambda[i] > cut && lambda[i] > 0) {
      factor[i] = 1.0 / (lambda[i] + damping);
      info->n_kept++;
      info->lambda_min_kept = PetscMin(info->lambda_min_kept, lambda[i]);
    } else factor[i] = 0.0;
  }
  PetscFunctionReturn(0);
}

PetscReal CurvatureCholeskyShift(const CurvatureRegularization *reg, PetscReal max_diagonal) { return reg->damping + reg->rcond * max_diagonal; }

PetscErrorCode CurvatureRowsMult(const CurvatureOperator *op, const PetscReal *v, PetscReal *Jv)
{
  const PetscInt  P = op->n_params;
  PetscBLASInt    n, k, one_i = 1;
  const PetscReal one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(P, &n));
  for (PetscInt c = 0; c < op->n_chunks; c++) {
    PetscCall(PetscBLASIntCast(op->chunk_row[c + 1] - op->chunk_row[c], &k));
    if (k > 0) PetscCallBLAS("BLASgemv", BLASgemv_("T", &n, &k, &one, op->jac_t + (size_t)op->chunk_row[c] * P, &n, v, &one_i, &zero, Jv + op->chunk_row[c], &one_i));
  }
  PetscCall(PetscLogFlops(2.0 * P * op->chunk_row[op->n_chunks]));
  PetscFunctionReturn(0);
}
