/* Objective: the discrete loss of a Problem for a Model: creation, options, set-up and the
   sizes. The point sets are in pointset.c, the block loop in visit.c, the term kinds in
   terms.c, the passes in passes.c and errors.c. */
#include <engd/private/objectiveimpl.h>

PetscClassId  OBJECTIVE_CLASSID;
PetscLogEvent OBJECTIVE_Rows, OBJECTIVE_Gradient, OBJECTIVE_Errors, OBJECTIVE_Hessian;

static PetscErrorCode ObjectiveInitializePackage(void)
{
  static PetscBool initialized = PETSC_FALSE;

  PetscFunctionBegin;
  if (initialized) PetscFunctionReturn(0);
  initialized = PETSC_TRUE;
  PetscCall(EngdInitializePackage());
  PetscCall(PetscClassIdRegister("Objective", &OBJECTIVE_CLASSID));
  PetscCall(PetscLogEventRegister("EngdRows", OBJECTIVE_CLASSID, &OBJECTIVE_Rows));
  PetscCall(PetscLogEventRegister("EngdGradient", OBJECTIVE_CLASSID, &OBJECTIVE_Gradient));
  PetscCall(PetscLogEventRegister("EngdEvalErrors", OBJECTIVE_CLASSID, &OBJECTIVE_Errors));
  PetscCall(PetscLogEventRegister("EngdHessVec", OBJECTIVE_CLASSID, &OBJECTIVE_Hessian));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveCreate(Model model, Problem problem, Objective *objective)
{
  Objective o;

  PetscFunctionBegin;
  PetscCall(ObjectiveInitializePackage());
  PetscCall(PetscNew(&o));
  PetscCall(ModelGetComm(model, &o->comm));
  o->model   = model;
  o->problem = problem;
  o->sampler = SAMPLER_GRID;
  o->n_eval  = 10000;
  PetscCallMPI(MPI_Comm_rank(o->comm, &o->rank));
  PetscCallMPI(MPI_Comm_size(o->comm, &o->size));
  *objective = o;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveSetFromOptions(Objective o)
{
  PetscInt sampler = (PetscInt)o->sampler;

  PetscFunctionBegin;
  PetscOptionsBegin(o->comm, NULL, "Point set options", "Objective");
  PetscCall(EngdOptionsEList("-sampler", "Point sets: grid (cell centres), uniform (counter-based random) or stratified (a uniform point in each grid cell)", "ObjectiveSetFromOptions", SamplerTypes, 3, SamplerTypes[sampler], &sampler, NULL));
  PetscCall(EngdOptionsInt("-resample_every", "Draw new uniform points every k iterations (0: never)", "ObjectiveResample", o->resample_every, &o->resample_every, NULL));
  PetscCall(EngdOptionsInt("-chunk_rows", "Rows per point chunk: ranks own whole chunks and sums go chunk by chunk, so results do not depend on the rank count (0: automatic, P/2 within [128, 1024])", "ObjectiveSetUp", o->chunk_rows, &o->chunk_rows, NULL));
  PetscCall(EngdOptionsInt("-n_eval", "Number of evaluation points for the errors", "ObjectiveComputeErrors", o->n_eval, &o->n_eval, NULL));
  PetscOptionsEnd();
  o->sampler = (SamplerType)sampler;
  PetscCheck(o->resample_every >= 0, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "-resample_every must be non-negative, got %" PetscInt_FMT, o->resample_every);
  PetscCheck(o->resample_every == 0 || o->sampler != SAMPLER_GRID, o->comm, PETSC_ERR_ARG_INCOMP, "-resample_every needs -sampler uniform or stratified (a grid is always the same)");
  PetscCheck(o->n_eval >= 1, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "-n_eval must be positive, got %" PetscInt_FMT, o->n_eval);
  PetscCheck(o->chunk_rows >= 0, o->comm, PETSC_ERR_ARG_OUTOFRANGE, "-chunk_rows must be non-negative, got %" PetscInt_FMT, o->chunk_rows);
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveSetUp(Objective o)
{
  PetscFunctionBegin;
  if (o->setup_called) PetscFunctionReturn(0);
  PetscCall(ProblemGetDimension(o->problem, &o->dim));
  PetscCall(ModelSetDimension(o->model, o->dim));
  PetscCall(ModelSetUp(o->model));
  PetscCall(ModelGetNumParameters(o->model, &o->n_params));
  PetscCall(ModelGetBlockSize(o->model, &o->block_size));
  PetscCall(ModelGetSeed(o->model, &o->seed));
  PetscCall(ProblemGetNumTerms(o->problem, &o->n_terms));
  PetscCall(ObjectiveSetUpPoints(o));
  PetscCall(ObjectiveSetUpPasses(o));
  o->setup_called = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveView(Objective o, PetscViewer viewer)
{
  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "Points: %" PetscInt_FMT " rows in %" PetscInt_FMT " chunks over %d ranks (at most %" PetscInt_FMT " per rank), sampler %s", o->n_rows_global, o->n_chunks, o->size, o->n_rows_max, SamplerTypes[o->sampler]));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_FALSE));
  if (o->resample_every) PetscCall(PetscViewerASCIIPrintf(viewer, ", resampled every %" PetscInt_FMT " iterations", o->resample_every));
  PetscCall(PetscViewerASCIIPrintf(viewer, "; %" PetscInt_FMT " evaluation points\n", o->n_eval));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveDestroy(Objective *objective)
{
  Objective o = *objective;

  PetscFunctionBegin;
  if (!o) PetscFunctionReturn(0);
  if (o->setup_called) {
    PetscCall(ObjectiveDestroyPoints(o));
    PetscCall(ObjectiveDestroyPasses(o));
    PetscCall(ObjectiveDestroyKFAC(o));
  }
  PetscCall(PetscFree(o));
  *objective = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetModel(Objective o, Model *model)
{
  PetscFunctionBegin;
  *model = o->model;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetComm(Objective o, MPI_Comm *comm)
{
  PetscFunctionBegin;
  *comm = o->comm;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetProblem(Objective o, Problem *problem)
{
  PetscFunctionBegin;
  *problem = o->problem;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetSampling(Objective o, SamplerType *sampler, PetscInt *resample_every, PetscInt *epoch)
{
  PetscFunctionBegin;
  if (sampler) *sampler = o->sampler;
  if (resample_every) *resample_every = o->resample_every;
  if (epoch) *epoch = o->epoch;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetLocalRows(Objective o, PetscInt *n_local, PetscInt *n_max)
{
  PetscFunctionBegin;
  if (n_local) *n_local = o->n_rows_local;
  if (n_max) *n_max = o->n_rows_max;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetGlobalRows(Objective o, PetscInt *n_rows)
{
  PetscFunctionBegin;
  *n_rows = o->n_rows_global;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveGetGlobalPoints(Objective o, PetscInt *n_points)
{
  PetscFunctionBegin;
  *n_points = o->n_points_global;
  PetscFunctionReturn(0);
}

PetscErrorCode ObjectiveHasEnergyTerms(Objective o, PetscBool *has_energy)
{
  PetscFunctionBegin;
  *has_energy = o->has_energy;
  PetscFunctionReturn(0);
}
