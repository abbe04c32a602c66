/* The engd driver's training run (src/app/train.c). */
#ifndef ENGD_APP_TRAIN_H
#define ENGD_APP_TRAIN_H

#include <engd.h>

/* Exit codes a job script can act on (README, "Exit codes"). */
#define EXIT_FINISHED    0  /* -max_it or -stop_rel_l2 reached */
#define EXIT_BAD_INPUT   1  /* bad input or another error */
#define EXIT_DIVERGED    3  /* -max_failures non-finite steps in a row; last good state checkpointed */
#define EXIT_INTERRUPTED 75 /* stopped at a signal or -time_limit, checkpoint written: requeue (EX_TEMPFAIL) */

/* Build the objects from the options, restart if asked, train, report. *reading_options is
   cleared once the options are read and checked (errors before that are the same on every
   rank). Returns an error for bad input and for divergence (PETSC_ERR_NOT_CONVERGED); a run
   stopped at a signal or time limit returns normally with *exit_code = EXIT_INTERRUPTED. */
PetscErrorCode Train(PetscBool *reading_options, int *exit_code);

#endif
