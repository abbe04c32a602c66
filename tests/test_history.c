/* History: named columns registered before the first row, and their round trip through a
   checkpoint. Checks:
     - columns get the indices 0, 1, ... of their registration; HistoryFindColumn gives -1 for
       an unknown name; a new row holds NaN in every column until set; HistoryTruncate;
     - refused, each with an error: a duplicate name, the names "iteration", "" and "a/b", a
       column registered after the first row, HistoryGetColumn of an unknown name, a value set
       before any row or in a column that does not exist;
     - the columns of a run (loss, rel_l2, rel_h1, rms; the optimizer's eta, damping and ENGD's
       six solve_* columns; wall_s) and an extra one (solver_iterations), filled over a few ENGD steps on resampled uniform
       points with values of every kind (NaN, -0, subnormal, huge), written with
       CheckpointWrite and read back with CheckpointRestart into a new History with the same
       columns: the same names in the same order and every value bit for bit; the iterations,
       parameters, optimizer state and the sampler's epoch restored;
     - a History without the extra column restores the others (the file's extra column is left
       out); one with a column the file lacks (not one every checkpoint has) restores the others
       and holds NaN in that column. */
/* ranks: 1 2 */
#include "stack.h"
#include <engd/private/h5io.h>
#include <stdlib.h>
#include <string.h>

#define N_STEPS 5

/* Run `call` with errors returned, not printed: a failed check unless it raised one; message
   receives the error's text. */
#define EXPECT_ERROR(call, message, ...) \
  do { \
    PetscErrorCode ierr_; \
    char          *text_ = NULL; \
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL)); \
    ierr_ = (call); \
    PetscCall(PetscPopErrorHandler()); \
    if (ierr_) PetscCall(PetscErrorMessage(ierr_, NULL, &text_)); \
    PetscCall(PetscStrncpy(message, text_ ? text_ : "", sizeof(message))); \
    CHECK(ierr_ != 0, __VA_ARGS__); \
  } while (0)

static PetscErrorCode CheckColumns(void)
{
  History          h;
  PetscInt         a, b, c, n, found;
  const PetscReal *values;
  char             message[1024];

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  columns: registration, rows, refusals\n"));
  PetscCall(HistoryCreate(PETSC_COMM_WORLD, &h));
  PetscCall(HistoryAddColumn(h, "loss", &a));
  PetscCall(HistoryAddColumn(h, "eta", &b));
  CHECK(a == 0 && b == 1, "indices %" PetscInt_FMT ", %" PetscInt_FMT ", want 0, 1", a, b);
  EXPECT_ERROR(HistoryAddColumn(h, "loss", &c), message, "a duplicate column was accepted");
  CHECK(strstr(message, "'loss' is already registered"), "duplicate column: message '%s'", message);
  EXPECT_ERROR(HistoryAddColumn(h, "iteration", &c), message, "a column named 'iteration' was accepted");
  EXPECT_ERROR(HistoryAddColumn(h, "", &c), message, "a column without a name was accepted");
  EXPECT_ERROR(HistoryAddColumn(h, "a/b", &c), message, "a column name with '/' was accepted");
  EXPECT_ERROR(HistorySetValue(h, a, 1.0), message, "a value without a row was accepted");
  PetscCall(HistoryFindColumn(h, "eta", &found));
  CHECK(found == b, "HistoryFindColumn(eta) = %" PetscInt_FMT ", want %" PetscInt_FMT, found, b);
  PetscCall(HistoryFindColumn(h, "rms", &found));
  CHECK(found == -1, "HistoryFindColumn of an unknown name = %" PetscInt_FMT ", want -1", found);

  PetscCall(HistoryBeginRow(h, 0));
  PetscCall(HistorySetValue(h, a, 2.5));
  PetscCall(HistoryBeginRow(h, 1));
  PetscCall(HistorySetValue(h, b, 0.5));
  EXPECT_ERROR(HistoryAddColumn(h, "rms", &c), message, "a column registered after the first row was accepted");
  CHECK(strstr(message, "before the first row"), "column after rows: message '%s'", message);
  EXPECT_ERROR(HistorySetValue(h, 2, 1.0), message, "a value in a column that does not exist was accepted");
  EXPECT_ERROR(HistoryGetColumn(h, "rms", &n, &values), message, "HistoryGetColumn of an unknown column succeeded");
  CHECK(strstr(message, "no column 'rms'"), "unknown column: message '%s'", message);
  PetscCall(HistoryGetNumColumns(h, &n));
  CHECK(n == 2, "%" PetscInt_FMT " columns after refused registrations, want 2", n);

  PetscCall(HistoryGetColumn(h, "loss", &n, &values));
  CHECK(n == 2 && values[0] == 2.5 && PetscIsNanReal(values[1]), "loss column: %" PetscInt_FMT " rows, %g %g; want 2 rows, 2.5 NaN", n, (double)values[0], (double)values[1]);
  PetscCall(HistoryGetColumn(h, "eta", &n, &values));
  CHECK(PetscIsNanReal(values[0]) && values[1] == 0.5, "eta column: %g %g; want NaN 0.5", (double)values[0], (double)values[1]);
  PetscCall(HistoryTruncate(h, 1));
  PetscCall(HistoryGetNumRows(h, &n));
  CHECK(n == 1, "%" PetscInt_FMT " rows after HistoryTruncate(1)", n);
  EXPECT_ERROR(HistoryTruncate(h, 2), message, "HistoryTruncate beyond the rows was accepted");
  for (PetscInt i = 1; i < 200; i++) PetscCall(HistoryBeginRow(h, i)); /* grows past the first capacity */
  PetscCall(HistoryGetColumn(h, "loss", &n, &values));
  CHECK(n == 200 && values[0] == 2.5 && PetscIsNanReal(values[199]), "after growing: %" PetscInt_FMT " rows, loss[0] %g", n, (double)values[0]);
  PetscCall(HistoryDestroy(&h));
  CHECK(h == NULL, "HistoryDestroy left the handle set");
  PetscFunctionReturn(0);
}

/* The columns of a run as the training loop registers them, plus `extra` (NULL: none). */
static PetscErrorCode RunHistory(Optimizer opt, const char *extra, History *history)
{
  const char *mine[] = {"loss", "rel_l2", "rel_h1", "rms"};
  PetscInt    column;

  PetscFunctionBeginUser;
  PetscCall(HistoryCreate(PETSC_COMM_WORLD, history));
  for (PetscInt k = 0; k < 4; k++) PetscCall(HistoryAddColumn(*history, mine[k], &column));
  PetscCall(OptimizerSetHistory(opt, *history));
  PetscCall(HistoryAddColumn(*history, "wall_s", &column));
  if (extra) PetscCall(HistoryAddColumn(*history, extra, &column));
  PetscFunctionReturn(0);
}

/* Values of every kind for row i, column k (the optimizer's own columns are left as it set them). */
static PetscReal Value(PetscInt i, PetscInt k)
{
  const PetscReal kinds[] = {NAN, -0.0, 4.9406564584124654e-324, 1.7976931348623157e308, -1.0 / 3.0, 1e-300};
  return kinds[(i + k) % 6] * (k % 2 ? 1 : -1) + (i % 3 == 0 ? 0 : (PetscReal)(i * 7 + k));
}

static PetscBool SameBits(PetscInt n, const PetscReal *a, const PetscReal *b) { return memcmp(a, b, (size_t)n * sizeof(PetscReal)) ? PETSC_FALSE : PETSC_TRUE; }

/* Restart from the file into a fresh optimizer and a History with the run's columns plus
   `extra`; *restarted = PETSC_FALSE and message set when CheckpointRestart raised an error. */
static PetscErrorCode Restart(Objective objective, const char *path, const char *extra, Optimizer *opt, History *history, CheckpointState *state, PetscBool *restarted, char *message, size_t message_size)
{
  Checkpoint     ck;
  char           restart_path[PETSC_MAX_PATH_LEN];
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  message[0] = '\0';
  PetscCall(OptimizerCreate(objective, opt));
  PetscCall(OptimizerSetFromOptions(*opt));
  PetscCall(OptimizerSetUp(*opt));
  PetscCall(RunHistory(*opt, extra, history));
  PetscCall(PetscOptionsSetValue(NULL, "-restart", path));
  PetscCall(CheckpointCreate(PETSC_COMM_WORLD, &ck));
  PetscCall(CheckpointSetFromOptions(ck));
  PetscCall(PetscOptionsClearValue(NULL, "-restart"));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = CheckpointRestart(ck, objective, *opt, *history, state, restarted, restart_path, sizeof(restart_path));
  PetscCall(PetscPopErrorHandler());
  if (ierr) {
    char *text = NULL;
    PetscCall(PetscErrorMessage(ierr, NULL, &text));
    PetscCall(PetscStrncpy(message, text ? text : "", message_size));
    *restarted = PETSC_FALSE;
  }
  PetscCall(CheckpointDestroy(&ck));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckRoundTrip(const char *dir)
{
  const char *const options[] = {"-problem", "poisson", "-dim", "2", "-net_hidden", "6", "-n_interior", "40", "-n_boundary", "16", "-sampler", "uniform", "-resample_every", "2", "-seed", "4", "-n_eval", "20", "-checkpoint_dir", dir, NULL};
  Problem           problem;
  Model             model;
  Objective         objective;
  Optimizer         opt, opt2;
  History           history, history2;
  Checkpoint        ck;
  CheckpointState   state = {0}, state2 = {0};
  OptimizerStepInfo step;
  PetscBool         restarted;
  PetscReal        *theta, *theta_written;
  PetscInt          P, n_columns, n_columns2, epoch, epoch2, extra;
  char              path[PETSC_MAX_PATH_LEN], message[1024];

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  checkpoint round trip: 7 columns of a run and solver_iterations, %d ENGD steps\n", N_STEPS));
  PetscCall(TestSetOptions(options, PETSC_TRUE));
  PetscCall(BuildStack(PETSC_COMM_WORLD, &problem, &model, &objective));
  PetscCall(OptimizerCreate(objective, &opt));
  PetscCall(OptimizerSetFromOptions(opt));
  PetscCall(OptimizerSetUp(opt));
  PetscCall(RunHistory(opt, "solver_iterations", &history));
  PetscCall(HistoryFindColumn(history, "solver_iterations", &extra));
  PetscCall(HistoryGetNumColumns(history, &n_columns));
  CHECK(n_columns == 15 && extra == 14, "%" PetscInt_FMT " columns, solver_iterations at %" PetscInt_FMT "; want 15 (the run's 7, the line search's ls_candidates, ENGD's 6 solve_* and the extra) and 14", n_columns, extra);

  for (PetscInt it = 0; it <= N_STEPS; it++) {
    if (it > 0) PetscCall(ObjectiveResample(objective, it - 1));
    PetscCall(HistoryBeginRow(history, it));
    if (it > 0) PetscCall(OptimizerStep(opt, &step));
    else PetscCall(OptimizerRecordStart(opt));
    for (PetscInt k = 0; k < n_columns; k++) { /* every column but the optimizer's */
      const char *name;
      PetscCall(HistoryGetColumnName(history, k, &name));
      if (strcmp(name, "eta") && strcmp(name, "damping")) PetscCall(HistorySetValue(history, k, Value(it, k)));
    }
  }
  {
    const PetscReal *eta;
    PetscInt         n;
    PetscCall(HistoryGetColumn(history, "eta", &n, &eta));
    CHECK(eta[0] == 0.0 && !PetscIsNanReal(eta[N_STEPS]), "eta: %g at iteration 0 (want 0), %g at %d (want a step size)", (double)eta[0], (double)eta[N_STEPS], N_STEPS);
  }
  PetscCall(CheckpointCreate(PETSC_COMM_WORLD, &ck));
  PetscCall(CheckpointSetFromOptions(ck));
  PetscCall(CheckpointSetUp(ck, PETSC_TRUE));
  PetscCall(CheckpointClaimDirectory(ck));
  PetscCall(CheckpointStateCapture(&state, objective, opt, N_STEPS, 0, 1.25, history));
  PetscCall(ObjectiveGetSampling(objective, NULL, NULL, &epoch));
  CHECK(state.epoch == epoch && epoch == (N_STEPS - 1) / 2, "captured epoch %" PetscInt_FMT ", objective's %" PetscInt_FMT ", want %d", state.epoch, epoch, (N_STEPS - 1) / 2);
  PetscCall(CheckpointWrite(ck, objective, opt, &state, history, path, sizeof(path)));
  PetscCall(CheckpointDestroy(&ck)); /* its lock, before the restarts take it */

  PetscCall(ModelGetNumParameters(model, &P));
  PetscCall(ModelGetParameters(model, &theta));
  PetscCall(PetscMalloc1(P, &theta_written));
  PetscCall(PetscArraycpy(theta_written, theta, P));
  PetscCall(PetscArrayzero(theta, P));
  PetscCall(ObjectiveResample(objective, 0)); /* another epoch: the restart must bring its own back */

  PetscCall(Restart(objective, path, "solver_iterations", &opt2, &history2, &state2, &restarted, message, sizeof(message)));
  CHECK(restarted, "CheckpointRestart of '%s' failed: %s", path, message);
  if (restarted) {
    const PetscInt *its, *its2;
    PetscInt        n, n2;
    PetscCall(HistoryGetNumColumns(history2, &n_columns2));
    CHECK(n_columns2 == n_columns, "%" PetscInt_FMT " columns restored, want %" PetscInt_FMT, n_columns2, n_columns);
    PetscCall(HistoryGetIterations(history, &n, &its));
    PetscCall(HistoryGetIterations(history2, &n2, &its2));
    CHECK(n2 == n && !memcmp(its, its2, (size_t)n * sizeof(PetscInt)), "iterations: %" PetscInt_FMT " rows restored, want %" PetscInt_FMT, n2, n);
    for (PetscInt k = 0; k < n_columns && k < n_columns2; k++) {
      const char      *name, *name2;
      const PetscReal *values, *values2;
      PetscCall(HistoryGetColumnName(history, k, &name));
      PetscCall(HistoryGetColumnName(history2, k, &name2));
      CHECK(!strcmp(name, name2), "column %" PetscInt_FMT ": '%s' restored as '%s'", k, name, name2);
      PetscCall(HistoryGetColumn(history, name, &n, &values));
      PetscCall(HistoryGetColumn(history2, name, &n2, &values2));
      CHECK(n == n2 && SameBits(n, values, values2), "column '%s' does not round-trip bit for bit", name);
    }
    CHECK(SameBits(P, theta, theta_written), "the parameters were not restored bit for bit");
    CHECK(state2.iteration == N_STEPS && state2.step_time == 1.25 && state2.n_history == N_STEPS + 1, "restored state: iteration %" PetscInt_FMT ", step time %g, %" PetscInt_FMT " history rows", state2.iteration, (double)state2.step_time, state2.n_history);
    PetscCall(ObjectiveGetSampling(objective, NULL, NULL, &epoch2));
    CHECK(epoch2 == epoch && state2.epoch == epoch, "epoch after the restart %" PetscInt_FMT " (state %" PetscInt_FMT "), want %" PetscInt_FMT, epoch2, state2.epoch, epoch);
    {
      OptimizerState   os = {0};
      const PetscReal *a, *b;
      PetscInt         na, nb;
      PetscCall(OptimizerGetState(opt2, &os));
      for (PetscInt k = 0; k < os.n; k++) {
        PetscCall(OptimizerStateFind(&os, os.entry[k].name, &na, &a));
        PetscCall(OptimizerStateFind(&state.optimizer, os.entry[k].name, &nb, &b));
        CHECK(b && na == nb && SameBits(na, a, b), "optimizer state '%s' not restored", os.entry[k].name);
      }
      PetscCall(OptimizerStateDestroy(&os));
    }
  }
  PetscCall(HistoryDestroy(&history2));
  PetscCall(OptimizerDestroy(&opt2));
  PetscCall(CheckpointStateDestroy(&state2));

  PetscCall(Restart(objective, path, NULL, &opt2, &history2, &state2, &restarted, message, sizeof(message)));
  CHECK(restarted, "a History without the file's extra column: CheckpointRestart failed: %s", message);
  if (restarted) {
    const PetscReal *values, *values2;
    PetscInt         n, n2;
    PetscCall(HistoryGetNumColumns(history2, &n_columns2));
    PetscCall(HistoryGetColumn(history, "wall_s", &n, &values));
    PetscCall(HistoryGetColumn(history2, "wall_s", &n2, &values2));
    CHECK(n_columns2 == n_columns - 1 && n == n2 && SameBits(n, values, values2), "without the extra column: %" PetscInt_FMT " columns, wall_s restored: %d", n_columns2, (int)SameBits(n, values, values2));
  }
  PetscCall(HistoryDestroy(&history2));
  PetscCall(OptimizerDestroy(&opt2));
  PetscCall(CheckpointStateDestroy(&state2));

  PetscCall(Restart(objective, path, "kfac_damping", &opt2, &history2, &state2, &restarted, message, sizeof(message)));
  CHECK(restarted, "a History with a column the file lacks: CheckpointRestart failed: %s", message);
  if (restarted) {
    const PetscReal *values, *values2;
    PetscInt         n, n2, nan = 0;
    PetscCall(HistoryGetColumn(history2, "kfac_damping", &n2, &values2));
    for (PetscInt i = 0; i < n2; i++) nan += PetscIsNanReal(values2[i]) ? 1 : 0;
    PetscCall(HistoryGetColumn(history, "loss", &n, &values));
    PetscCall(HistoryGetColumn(history2, "loss", &n2, &values2));
    CHECK(nan == N_STEPS + 1 && n == n2 && SameBits(n, values, values2), "a column the file lacks: %" PetscInt_FMT " of %d rows NaN, loss restored: %d", nan, N_STEPS + 1, (int)SameBits(n, values, values2));
  }
  PetscCall(HistoryDestroy(&history2));
  PetscCall(OptimizerDestroy(&opt2));
  PetscCall(CheckpointStateDestroy(&state2));

  PetscCall(TestSetOptions(options, PETSC_FALSE));
  PetscCall(PetscFree(theta_written));
  PetscCall(CheckpointStateDestroy(&state));
  PetscCall(HistoryDestroy(&history));
  PetscCall(OptimizerDestroy(&opt));
  PetscCall(DestroyStack(&problem, &model, &objective));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  char        dir[PETSC_MAX_PATH_LEN] = "";
  PetscMPIInt rank;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  TestSetWatchdog(300);
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  if (rank == 0) {
    const char *tmp = getenv("ENGD_TEST_TMP");
    snprintf(dir, sizeof(dir), "%s/test-history-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) dir[0] = '\0';
  }
  PetscCallMPI(MPI_Bcast(dir, sizeof(dir), MPI_CHAR, 0, PETSC_COMM_WORLD));
  PetscCheck(dir[0], PETSC_COMM_WORLD, PETSC_ERR_FILE_OPEN, "cannot make a temporary directory");
  PetscCall(CheckColumns());
  PetscCall(CheckRoundTrip(dir));
  if (rank == 0) { /* the checkpoint and the directory's lock file */
    char command[PETSC_MAX_PATH_LEN + 16];
    snprintf(command, sizeof(command), "rm -rf '%s'", dir);
    if (system(command) != 0) PetscCall(PetscPrintf(PETSC_COMM_SELF, "could not remove %s\n", dir));
  }
  return TestFinish();
}
