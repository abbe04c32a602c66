/* The checkpoint file format (version 2, layout in include/engd/checkpoint.h): the state a
   checkpoint holds, the file built from each object's group writer (h5<group>.c) and parsed
   back with their readers. */
#include <engd/private/checkpointimpl.h>
#include <engd/private/atomicfile.h>
#include <stdio.h>
#include <string.h>

PetscErrorCode CheckpointStateCapture(CheckpointState *s, Objective objective, Optimizer opt, PetscInt iteration, PetscInt failures, PetscReal step_time, History history)
{
  Model      model;
  PetscReal *theta;
  PetscInt   P;

  PetscFunctionBegin;
  PetscCall(ObjectiveGetModel(objective, &model));
  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetParameters(model, &theta));
  if (s->n_params != P || !s->theta) {
    PetscCall(PetscFree(s->theta));
    PetscCall(PetscMalloc1(PetscMax(P, 1), &s->theta));
    s->n_params = P;
  }
  PetscCall(PetscArraycpy(s->theta, theta, P));
  PetscCall(OptimizerGetState(opt, &s->optimizer));
  PetscCall(ObjectiveGetSampling(objective, NULL, NULL, &s->epoch));
  PetscCall(HistoryGetNumRows(history, &s->n_history));
  s->iteration = iteration;
  s->failures  = failures;
  s->step_time = step_time;
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointStateDestroy(CheckpointState *s)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(s->theta));
  PetscCall(OptimizerStateDestroy(&s->optimizer));
  PetscCall(PetscMemzero(s, sizeof(*s)));
  PetscFunctionReturn(0);
}

typedef struct {
  const CheckpointState *state;
  History                history;
  PetscInt               n_layers, seed, dim, resample_every, ranks;
  const PetscInt        *widths;
  const char            *activation, *problem, *description, *optimizer, *sampler, *options, *run_id;
} Content;

static int BuildFile(hid_t file, const void *ctx)
{
  const Content         *c = (const Content *)ctx;
  const CheckpointState *s = c->state;

  ENGD_H5(EngdH5WriteAttrString(file, "format", CHECKPOINT_FORMAT));
  ENGD_H5(EngdH5WriteAttrInt(file, "format_version", CHECKPOINT_FORMAT_VERSION));
  ENGD_H5(EngdH5WriteAttrString(file, "run_id", c->run_id));
  ENGD_H5(EngdH5WriteAttrInt(file, "iteration", s->iteration));
  ENGD_H5(EngdH5WriteAttrInt(file, "failures", s->failures));
  ENGD_H5(EngdH5WriteAttrDouble(file, "step_time", s->step_time));
  ENGD_H5(EngdH5WriteAttrInt(file, "ranks", c->ranks));
  ENGD_H5(EngdH5WriteModel(file, s->n_params, s->theta, c->n_layers, c->widths, c->activation, c->seed));
  ENGD_H5(EngdH5WriteProblem(file, c->problem, c->dim, c->description));
  ENGD_H5(EngdH5WriteOptimizer(file, c->optimizer, &s->optimizer));
  ENGD_H5(EngdH5WriteSampler(file, c->sampler, c->seed, c->resample_every, s->epoch));
  ENGD_H5(EngdH5WriteHistory(file, c->history, s->n_history));
  ENGD_H5(EngdH5WriteOptions(file, c->options));
  return 0;
fail:
  return -1;
}

PetscErrorCode CheckpointFileWrite(Checkpoint c, Objective objective, Optimizer opt, const CheckpointState *state, History history, const char *path, char reason[], size_t reason_size)
{
  char            tag[RUN_ID_LENGTH + 2], *description, *options;
  Content         content;
  Model           model;
  Problem         problem;
  SamplerType     sampler;
  ModelActivation activation;

  PetscFunctionBegin;
  reason[0] = '\0';
  PetscCall(ObjectiveGetModel(objective, &model));
  PetscCall(ObjectiveGetProblem(objective, &problem));
  PetscCall(ModelGetWidths(model, &content.n_layers, &content.widths));
  PetscCall(ModelGetActivation(model, &activation));
  PetscCall(ModelGetSeed(model, &content.seed));
  PetscCall(ProblemGetType(problem, &content.problem));
  PetscCall(ProblemGetDimension(problem, &content.dim));
  PetscCall(EngdProblemDescription(problem, &description));
  PetscCall(OptimizerGetType(opt, &content.optimizer));
  PetscCall(ObjectiveGetSampling(objective, &sampler, &content.resample_every, NULL));
  PetscCall(EngdOptionsText(&options));
  content.activation  = ModelActivations[activation];
  content.sampler     = SamplerTypes[sampler];
  content.description = description;
  content.options     = options;
  content.state       = state;
  content.history     = history;
  content.ranks       = c->size;
  content.run_id      = c->run_id;
  snprintf(tag, sizeof(tag), ".%s", c->run_id);
  (void)EngdH5WriteAtomic(path, tag, 1, BuildFile, &content, reason, reason_size);
  PetscCall(PetscFree(options));
  PetscCall(PetscFree(description));
  PetscFunctionReturn(0);
}

PetscErrorCode CheckpointLoadedDestroy(CheckpointLoaded *l)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(l->widths));
  PetscCall(PetscFree(l->theta));
  PetscCall(OptimizerStateDestroy(&l->optimizer));
  PetscCall(HistoryDestroy(&l->history));
  PetscCall(PetscMemzero(l, sizeof(*l)));
  PetscFunctionReturn(0);
}

/* A group reader's verdict: on to `done:` when it refused the group. */
#define READ_GROUP(call) \
  do { \
    PetscCall(call); \
    if (reason[0]) goto done; \
  } while (0)

PetscErrorCode CheckpointFileParse(char *image, long long size, CheckpointLoaded *l, CheckpointLoadStatus *status, char *reason, size_t reason_size)
{
  hid_t fapl = -1, file = -1;
  char  format[64];

  PetscFunctionBegin;
  *status   = LOAD_OK;
  reason[0] = '\0';
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if (size == 0) ENGD_H5_REFUSE("the file is empty");
  if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 || H5Pset_fapl_core(fapl, 1 << 20, 0) < 0 || H5Pset_file_image(fapl, image, (size_t)size) < 0) ENGD_H5_REFUSE("HDF5 cannot take the file image");
  if ((file = H5Fopen("checkpoint", H5F_ACC_RDONLY, fapl)) < 0) ENGD_H5_REFUSE("not an HDF5 file, or truncated");
  if (EngdH5ReadAttrString(file, "format", format, sizeof(format)) < 0) {
    *status = LOAD_MISMATCH;
    ENGD_H5_REFUSE("an HDF5 file without the 'format' attribute of an engd checkpoint");
  }
  if (strcmp(format, CHECKPOINT_FORMAT)) {
    *status = LOAD_MISMATCH;
    ENGD_H5_REFUSE("not an engd checkpoint (format '%s')", format);
  }
  if (EngdH5ReadAttrInt(file, "format_version", &l->version) < 0) ENGD_H5_REFUSE("no format_version attribute");
  if (l->version != CHECKPOINT_FORMAT_VERSION) {
    *status = LOAD_MISMATCH;
    ENGD_H5_REFUSE("format version %" PetscInt_FMT ", this engd reads version %d", l->version, CHECKPOINT_FORMAT_VERSION);
  }
  if (EngdH5ReadAttrString(file, "run_id", l->run_id, sizeof(l->run_id)) < 0 || strlen(l->run_id) != RUN_ID_LENGTH) ENGD_H5_REFUSE("no valid run_id attribute");
  if (EngdH5ReadAttrInt(file, "iteration", &l->iteration) < 0 || l->iteration < 0) ENGD_H5_REFUSE("no valid iteration attribute (missing, negative or beyond %d)", PETSC_MAX_INT);
  if (EngdH5ReadAttrInt(file, "failures", &l->failures) < 0 || l->failures < 0) ENGD_H5_REFUSE("no valid failures attribute");
  if (EngdH5ReadAttrDouble(file, "step_time", &l->step_time) < 0 || !(l->step_time >= 0) || PetscIsInfReal(l->step_time)) ENGD_H5_REFUSE("no valid step_time attribute (finite, non-negative)");
  if (EngdH5ReadAttrInt(file, "ranks", &l->ranks) < 0) l->ranks = 0;

  READ_GROUP(EngdH5ReadProblem(file, l->problem, sizeof(l->problem), &l->dim, l->description, sizeof(l->description), reason, reason_size));
  READ_GROUP(EngdH5ReadSampler(file, l->sampler, sizeof(l->sampler), &l->seed, &l->resample_every, reason, reason_size));
  READ_GROUP(EngdH5ReadModel(file, &l->n_params, &l->theta, &l->n_layers, &l->widths, l->activation, sizeof(l->activation), reason, reason_size));
  READ_GROUP(EngdH5ReadOptimizer(file, l->optimizer_type, sizeof(l->optimizer_type), &l->optimizer, reason, reason_size));
  READ_GROUP(EngdH5ReadHistory(file, l->iteration, &l->history, reason, reason_size));

done:
  if (reason[0] && *status == LOAD_OK) *status = LOAD_CORRUPT;
  if (file >= 0) H5Fclose(file);
  if (fapl >= 0) H5Pclose(fapl);
  PetscFunctionReturn(0);
}
