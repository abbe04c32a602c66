/* Model object: network shape, parameter layout, initialisation, options, its default tape. */
#include <engd/private/modelimpl.h>
#include <engd/rng.h>

PetscErrorCode ModelCreate(MPI_Comm comm, Model *model)
{
  Model m;

  PetscFunctionBegin;
  PetscCall(EngdInitializePackage());
  PetscCall(PetscNew(&m));
  m->comm       = comm;
  m->dim        = 2;
  m->activation = MODEL_ACT_TANH;
  m->block_size = 128;
  m->n_layers   = 2;
  PetscCall(PetscMalloc1(3, &m->widths));
  m->widths[0] = 2;
  m->widths[1] = 64;
  m->widths[2] = 1;
  *model       = m;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelSetDimension(Model m, PetscInt dim)
{
  PetscFunctionBegin;
  PetscCheck(dim >= 1, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "The input dimension must be at least 1, got %" PetscInt_FMT, dim);
  m->dim       = dim;
  m->widths[0] = dim;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelSetHidden(Model m, PetscInt n_hidden, const PetscInt widths[])
{
  PetscFunctionBegin;
  PetscCheck(n_hidden >= 1, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "-net_hidden: the network needs at least one hidden layer");
  PetscCall(PetscFree(m->widths));
  m->n_layers = n_hidden + 1;
  PetscCall(PetscMalloc1(m->n_layers + 1, &m->widths));
  m->widths[0] = m->dim;
  for (PetscInt l = 0; l < n_hidden; l++) {
    PetscCheck(widths[l] >= 1, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "-net_hidden: layer widths must be positive, got %" PetscInt_FMT, widths[l]);
    m->widths[l + 1] = widths[l];
  }
  m->widths[m->n_layers] = 1;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelSetFromOptions(Model m)
{
  char      hidden[PETSC_MAX_PATH_LEN] = "64";
  PetscInt  act = (PetscInt)m->activation;

  PetscFunctionBegin;
  PetscOptionsBegin(m->comm, NULL, "Network options", "Model");
  PetscCall(EngdOptionsString("-net_hidden", "Hidden layer widths, comma-separated (64 or 64,64,48)", "ModelSetHidden", hidden, hidden, sizeof(hidden), NULL));
  {
    PetscInt  n;
    PetscInt *widths;
    PetscCall(EngdParseIntList(m->comm, "-net_hidden", hidden, &n, &widths));
    PetscCall(ModelSetHidden(m, n, widths));
    PetscCall(PetscFree(widths));
  }
  PetscCall(EngdOptionsEList("-net_activation", "Activation function", "ModelSetFromOptions", ModelActivations, 3, ModelActivations[act], &act, NULL));
  m->activation = (ModelActivation)act;
  PetscCall(EngdOptionsInt("-seed", "Seed of the initialisation (and of uniform point sets)", "ModelInitializeParameters", m->seed, &m->seed, NULL));
  PetscCall(EngdOptionsInt("-net_block_size", "Points per block of the batched passes", "ModelForward", m->block_size, &m->block_size, NULL));
  PetscOptionsEnd();
  PetscCheck(m->seed >= 0, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "-seed must be non-negative, got %" PetscInt_FMT, m->seed);
  PetscCheck(m->block_size >= 1, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "-net_block_size must be positive, got %" PetscInt_FMT, m->block_size);
  PetscFunctionReturn(0);
}

/* The parameter count and the per-block layer buffers (width x points x channels) are indexed
   by PetscInt: refuse a network whose sizes it cannot hold, with the memory they would need. */
static PetscErrorCode CheckSizes(Model m)
{
  const PetscInt64 S = ModelNumChannels(m->dim, 2), nb = m->block_size;
  PetscInt64       n_params = 0, max_width = m->dim;
  char             shape[256] = "";

  PetscFunctionBegin;
  for (PetscInt l = 1; l < m->n_layers; l++) {
    char width[32];
    PetscCall(PetscSNPrintf(width, sizeof(width), "%s%" PetscInt_FMT, l > 1 ? "," : "", m->widths[l]));
    PetscCall(PetscStrlcat(shape, width, sizeof(shape)));
  }
  for (PetscInt l = 1; l <= m->n_layers; l++) {
    n_params += (PetscInt64)m->widths[l] * (m->widths[l - 1] + 1);
    max_width = PetscMax(max_width, (PetscInt64)m->widths[l]);
  }
  PetscCheck(n_params <= PETSC_MAX_INT, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "-net_hidden %s: the network has %" PetscInt64_FMT " parameters, more than a 32-bit PetscInt counts (%" PetscInt_FMT "); they alone would need %.0f MB per rank", shape, n_params, (PetscInt)PETSC_MAX_INT, 8.0 * (double)n_params / 1048576.0);
  PetscCheck(max_width * nb * S <= PETSC_MAX_INT, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "-net_hidden %s: a block of %" PetscInt64_FMT " points through a layer of %" PetscInt64_FMT " neurons with %" PetscInt64_FMT " channels has %" PetscInt64_FMT " entries, more than a 32-bit PetscInt indexes (%.0f MB); use a smaller -net_block_size", shape, nb, max_width, S, max_width * nb * S, 8.0 * (double)(max_width * nb * S) / 1048576.0);
  PetscFunctionReturn(0);
}

PetscErrorCode ModelSetUp(Model m)
{
  PetscInt n_layers = m->n_layers, max_width = 1, nb = m->block_size;

  PetscFunctionBegin;
  if (m->setup_called) PetscFunctionReturn(0);
  m->widths[0] = m->dim;
  PetscCall(PetscMalloc2(n_layers + 1, &m->w_offset, n_layers + 1, &m->b_offset));
  PetscCall(CheckSizes(m));
  m->n_params = 0;
  for (PetscInt l = 1; l <= n_layers; l++) {
    m->w_offset[l] = m->n_params;
    m->n_params += m->widths[l] * m->widths[l - 1];
    m->b_offset[l] = m->n_params;
    m->n_params += m->widths[l];
    max_width = PetscMax(max_width, m->widths[l]);
  }
  max_width = PetscMax(max_width, m->dim);
  PetscCall(PetscMalloc1(m->n_params, &m->theta));
  PetscCall(ModelInitializeParameters(m, m->seed, m->theta));

  m->max_width = max_width;
  PetscCall(PetscMalloc1(nb, &m->ones));
  for (PetscInt p = 0; p < nb; p++) m->ones[p] = 1.0;
  m->setup_called = PETSC_TRUE;
  PetscCall(ModelTapeCreate(m, &m->default_tape));
  PetscFunctionReturn(0);
}

PetscErrorCode ModelInitializeParameters(Model m, PetscInt seed, PetscReal *theta)
{
  PetscFunctionBegin;
  for (PetscInt l = 1; l <= m->n_layers; l++) {
    const PetscReal bound = 1.0 / PetscSqrtReal((PetscReal)m->widths[l - 1]);
    for (PetscInt k = m->w_offset[l]; k < m->b_offset[l] + m->widths[l]; k++) theta[k] = bound * (2.0 * RngUniform((uint64_t)seed, 0xA11CE, (uint64_t)k) - 1.0);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode ModelView(Model m, PetscViewer viewer)
{
  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "Network: %" PetscInt_FMT, m->widths[0]));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_FALSE));
  for (PetscInt l = 1; l <= m->n_layers; l++) PetscCall(PetscViewerASCIIPrintf(viewer, "-%" PetscInt_FMT, m->widths[l]));
  PetscCall(PetscViewerASCIIPrintf(viewer, " %s, %" PetscInt_FMT " parameters, seed %" PetscInt_FMT "\n", ModelActivations[m->activation], m->n_params, m->seed));
  PetscCall(PetscViewerASCIIUseTabs(viewer, PETSC_TRUE));
  PetscFunctionReturn(0);
}

PetscErrorCode ModelDestroy(Model *model)
{
  Model m = *model;

  PetscFunctionBegin;
  if (!m) PetscFunctionReturn(0);
  if (m->setup_called) {
    PetscCall(ModelTapeDestroy(&m->default_tape));
    PetscCall(PetscFree(m->ones));
    PetscCall(PetscFree2(m->w_offset, m->b_offset));
    PetscCall(PetscFree(m->theta));
  }
  PetscCall(PetscFree(m->widths));
  PetscCall(PetscFree(m));
  *model = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelGetNumParameters(Model m, PetscInt *n)
{
  PetscFunctionBegin;
  PetscCheck(m->setup_called, m->comm, PETSC_ERR_ORDER, "Call ModelSetUp() first");
  *n = m->n_params;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelGetDimension(Model m, PetscInt *dim)
{
  PetscFunctionBegin;
  *dim = m->dim;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelGetBlockSize(Model m, PetscInt *block_size)
{
  PetscFunctionBegin;
  *block_size = m->block_size;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelGetWidths(Model m, PetscInt *n_layers, const PetscInt **widths)
{
  PetscFunctionBegin;
  *n_layers = m->n_layers;
  *widths   = m->widths;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelGetLayout(Model m, ModelLayout *layout)
{
  PetscFunctionBegin;
  PetscCheck(m->setup_called, m->comm, PETSC_ERR_ORDER, "Call ModelSetUp() first");
  layout->n_layers = m->n_layers;
  layout->widths   = m->widths;
  layout->w_offset = m->w_offset;
  layout->b_offset = m->b_offset;
  layout->n_params = m->n_params;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelGetActivation(Model m, ModelActivation *act)
{
  PetscFunctionBegin;
  *act = m->activation;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelGetSeed(Model m, PetscInt *seed)
{
  PetscFunctionBegin;
  *seed = m->seed;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelGetParameters(Model m, PetscReal **theta)
{
  PetscFunctionBegin;
  PetscCheck(m->setup_called, m->comm, PETSC_ERR_ORDER, "Call ModelSetUp() first");
  *theta = m->theta;
  PetscFunctionReturn(0);
}

PetscErrorCode ModelGetComm(Model m, MPI_Comm *comm)
{
  PetscFunctionBegin;
  *comm = m->comm;
  PetscFunctionReturn(0);
}
