/* Problem object: registry, options shared by all PDEs, term bookkeeping. */
#include <engd/private/problemimpl.h>
#include <engd/registry.h>

static EngdRegistry Problems = ENGD_REGISTRY("-problem", "problem", NULL);

PETSC_EXTERN PetscErrorCode ProblemCreate_Poisson(Problem);
PETSC_EXTERN PetscErrorCode ProblemCreate_Heat(Problem);
PETSC_EXTERN PetscErrorCode ProblemCreate_Nonlinear(Problem);
PETSC_EXTERN PetscErrorCode ProblemCreate_Helmholtz(Problem);
PETSC_EXTERN PetscErrorCode ProblemCreate_Ritz1d(Problem);
PETSC_EXTERN PetscErrorCode ProblemCreate_RitzPoisson(Problem);
PETSC_EXTERN PetscErrorCode ProblemCreate_Regression(Problem);

PetscErrorCode ProblemRegister(const char name[], PetscErrorCode (*create)(Problem))
{
  PetscFunctionBegin;
  PetscCall(EngdRegistryAdd(&Problems, name, create));
  PetscFunctionReturn(0);
}

static PetscErrorCode ProblemRegisterAll(void)
{
  PetscFunctionBegin;
  if (EngdRegistryFilled(&Problems)) PetscFunctionReturn(0);
  PetscCall(ProblemRegister(PROBLEMPOISSON, ProblemCreate_Poisson));
  PetscCall(ProblemRegister(PROBLEMHEAT, ProblemCreate_Heat));
  PetscCall(ProblemRegister(PROBLEMNONLINEARPOISSON, ProblemCreate_Nonlinear));
  PetscCall(ProblemRegister(PROBLEMHELMHOLTZ, ProblemCreate_Helmholtz));
  PetscCall(ProblemRegister(PROBLEMRITZ1D, ProblemCreate_Ritz1d));
  PetscCall(ProblemRegister(PROBLEMRITZPOISSON, ProblemCreate_RitzPoisson));
  PetscCall(ProblemRegister(PROBLEMREGRESSION, ProblemCreate_Regression));
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemCreate(MPI_Comm comm, Problem *problem)
{
  Problem p;

  PetscFunctionBegin;
  PetscCall(EngdInitializePackage());
  PetscCall(ProblemRegisterAll());
  PetscCall(PetscNew(&p));
  p->comm = comm;
  p->dim  = 2;
  *problem = p;
  PetscFunctionReturn(0);
}

static PetscErrorCode ProblemReset(Problem p)
{
  PetscFunctionBegin;
  if (p->ops.destroy) PetscCall((*p->ops.destroy)(p));
  PetscCall(PetscMemzero(&p->ops, sizeof(p->ops)));
  p->data            = NULL;
  p->linear_residual = PETSC_FALSE;
  for (PetscInt t = 0; t < p->n_terms; t++) PetscCall(PetscFree2(p->terms[t].face_coord, p->terms[t].face_side));
  p->n_terms = 0;
  PetscCall(PetscFree(p->lower));
  PetscCall(PetscFree(p->upper));
  PetscCall(PetscFree(p->trace_weights));
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemSetType(Problem p, const char type[])
{
  PetscErrorCode (*create)(Problem);

  PetscFunctionBegin;
  PetscCall(EngdRegistryFind(&Problems, p->comm, type, &create));
  PetscCall(ProblemReset(p));
  PetscCall(PetscStrncpy(p->type, type, sizeof(p->type)));
  PetscCall((*create)(p));
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemSetFromOptions(Problem p)
{
  char      type[64] = PROBLEMPOISSON;
  PetscBool set;

  PetscFunctionBegin;
  if (p->type[0]) PetscCall(PetscStrncpy(type, p->type, sizeof(type)));
  PetscOptionsBegin(p->comm, NULL, "Problem options", "Problem");
  PetscCall(EngdOptionsFList("-problem", "PDE to solve", "ProblemSetType", Problems.list, type, type, sizeof(type), &set));
  PetscCall(EngdOptionsInt("-dim", "Dimension of the box domain and of the network input (heat: 1 + the spatial dimension)", "ProblemSetFromOptions", p->dim, &p->dim, NULL));
  PetscCheck(p->dim >= 1, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "-dim must be at least 1, got %" PetscInt_FMT, p->dim);
  if (set || !p->ops.residual) PetscCall(ProblemSetType(p, type));
  if (p->ops.setfromoptions) PetscCall((*p->ops.setfromoptions)(p, PetscOptionsObject));
  for (PetscInt t = 0; t < p->n_terms; t++) {
    ProblemTerm *term = &p->terms[t];
    char         name[96], help[128];
    PetscCall(PetscSNPrintf(name, sizeof(name), "-n_%s", term->name));
    PetscCall(PetscSNPrintf(help, sizeof(help), "Number of %s points", term->name));
    PetscCall(EngdOptionsInt(name, help, "ProblemSetFromOptions", term->n_points, &term->n_points, NULL));
    PetscCheck(term->n_points >= 1, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "%s must be positive, got %" PetscInt_FMT, name, term->n_points);
    PetscCall(PetscSNPrintf(name, sizeof(name), "-%s_weight", term->name));
    PetscCall(PetscSNPrintf(help, sizeof(help), "Weight of the %s term in the loss", term->name));
    PetscCall(EngdOptionsReal(name, help, "ProblemSetFromOptions", term->weight, &term->weight, NULL));
    PetscCheck(term->weight > 0, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "%s must be positive, got %g", name, (double)term->weight);
  }
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemSetBox(Problem p, PetscReal lo, PetscReal hi)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(p->lower));
  PetscCall(PetscFree(p->upper));
  PetscCall(PetscMalloc1(p->dim, &p->lower));
  PetscCall(PetscMalloc1(p->dim, &p->upper));
  for (PetscInt i = 0; i < p->dim; i++) {
    p->lower[i] = lo;
    p->upper[i] = hi;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemAddTerm(Problem p, const char name[], PetscInt order, PetscInt n_data, PetscInt n_points, PetscReal weight, PetscInt n_coords, const PetscInt coords[], PetscInt side, PetscInt *index)
{
  ProblemTerm *term;
  PetscInt     n_faces = n_coords * (side < 0 ? 2 : 1), k = 0;

  PetscFunctionBegin;
  PetscCheck(p->n_terms < (PetscInt)PETSC_STATIC_ARRAY_LENGTH(p->terms), p->comm, PETSC_ERR_SUP, "Too many loss terms");
  term = &p->terms[p->n_terms];
  PetscCall(PetscStrncpy(term->name, name, sizeof(term->name)));
  term->order    = order;
  term->n_data   = n_data;
  term->n_points = n_points;
  term->weight   = weight;
  term->n_faces  = n_faces;
  term->kind       = PROBLEM_TERM_LEAST_SQUARES;
  term->grid_nodes = PETSC_FALSE;
  PetscCall(PetscMalloc2(n_faces, &term->face_coord, n_faces, &term->face_side));
  for (PetscInt c = 0; c < n_coords; c++)
    for (PetscInt s = 0; s < 2; s++) {
      if (side >= 0 && s != side) continue;
      term->face_coord[k] = coords[c];
      term->face_side[k]  = s;
      k++;
    }
  if (index) *index = p->n_terms;
  p->n_terms++;
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemAddBoundaryTerm(Problem p, PetscInt n_points, PetscReal weight, PetscInt *term)
{
  PetscInt *faces;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(p->dim, &faces));
  for (PetscInt i = 0; i < p->dim; i++) faces[i] = i;
  PetscCall(ProblemAddTerm(p, "boundary", 0, 1, n_points, weight, p->dim, faces, -1, term));
  PetscCall(PetscFree(faces));
  PetscFunctionReturn(0);
}

void ProblemDataResidual(PetscInt n, const PetscReal *data, const PetscReal *out, PetscReal *r, PetscReal *cot)
{
  for (PetscInt q = 0; q < n; q++) r[q] = out[q] - data[q];
  if (cot)
    for (PetscInt q = 0; q < n; q++) cot[q] = 1.0;
}

PetscErrorCode ProblemDestroyDefault(Problem p)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(p->data));
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemView(Problem p, PetscViewer viewer)
{
  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "Problem: %s in %" PetscInt_FMT "-D", p->type, p->dim));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_FALSE));
  if (p->ops.view) PetscCall((*p->ops.view)(p, viewer));
  PetscCall(PetscViewerASCIIPrintf(viewer, "\n"));
  for (PetscInt t = 0; t < p->n_terms; t++) PetscCall(PetscViewerASCIIPrintf(viewer, "  term %-10s %7" PetscInt_FMT " points, weight %g%s\n", p->terms[t].name, p->terms[t].n_points, (double)p->terms[t].weight, p->terms[t].kind == PROBLEM_TERM_ENERGY ? " (energy)" : ""));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemDestroy(Problem *problem)
{
  PetscFunctionBegin;
  if (!*problem) PetscFunctionReturn(0);
  PetscCall(ProblemReset(*problem));
  PetscCall(PetscFree(*problem));
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemGetType(Problem p, const char **type)
{
  PetscFunctionBegin;
  *type = p->type;
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemGetDimension(Problem p, PetscInt *dim)
{
  PetscFunctionBegin;
  *dim = p->dim;
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemGetDomain(Problem p, const PetscReal **lower, const PetscReal **upper)
{
  PetscFunctionBegin;
  *lower = p->lower;
  *upper = p->upper;
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemGetTraceWeights(Problem p, const PetscReal **c)
{
  PetscFunctionBegin;
  *c = p->trace_weights;
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemGetNumTerms(Problem p, PetscInt *n)
{
  PetscFunctionBegin;
  *n = p->n_terms;
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemGetTerm(Problem p, PetscInt t, const ProblemTerm **term)
{
  PetscFunctionBegin;
  PetscCheck(t >= 0 && t < p->n_terms, p->comm, PETSC_ERR_ARG_OUTOFRANGE, "Term %" PetscInt_FMT " does not exist", t);
  *term = &p->terms[t];
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemPointData(Problem p, PetscInt t, PetscInt n, const PetscReal *x, PetscReal *data)
{
  PetscFunctionBegin;
  if (p->terms[t].n_data > 0) PetscCall((*p->ops.pointdata)(p, t, n, x, data));
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemResidual(Problem p, PetscInt t, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *r, PetscReal *cot)
{
  PetscFunctionBegin;
  PetscCall((*p->ops.residual)(p, t, n, x, data, out, r, cot));
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemResidualCurvature(Problem p, PetscInt t, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *d2r)
{
  PetscFunctionBegin;
  if (p->ops.residualcurvature) PetscCall((*p->ops.residualcurvature)(p, t, n, x, data, out, d2r));
  else {
    PetscCheck(p->linear_residual, p->comm, PETSC_ERR_SUP, "Problem %s does not give its residuals' second derivatives (ProblemOps.residualcurvature), which the exact Hessian (-optimizer newton*) needs: use it with -optimizer engd, lbfgs or adam", p->type);
    const PetscInt order = p->terms[t].order, S = order == 0 ? 1 : (order == 1 ? 1 + p->dim : 2 + p->dim);
    PetscCall(PetscArrayzero(d2r, S * n));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemEnergy(Problem p, PetscInt t, PetscInt n, const PetscReal *x, const PetscReal *data, const PetscReal *out, PetscReal *e, PetscReal *de, PetscReal *d2e)
{
  PetscFunctionBegin;
  PetscCheck(p->terms[t].kind == PROBLEM_TERM_ENERGY && p->ops.energy, p->comm, PETSC_ERR_ARG_WRONG, "Term %s of problem %s is not an energy term", p->terms[t].name, p->type);
  PetscCall((*p->ops.energy)(p, t, n, x, data, out, e, de, d2e));
  PetscFunctionReturn(0);
}

PetscErrorCode ProblemExactSolution(Problem p, PetscInt n, const PetscReal *x, PetscReal *u, PetscReal *grad)
{
  PetscFunctionBegin;
  PetscCall((*p->ops.exact)(p, n, x, u, grad));
  PetscFunctionReturn(0);
}
