/* The engd driver's training run (src/app/train.c). */
#ifndef ENGD_APP_TRAIN_H
#define ENGD_APP_TRAIN_H

#include <engd.h>

/* Exit codes a job script can act on (README, "Exit codes"; trainer.h). */
#define EXIT_FINISHED    TRAINER_EXIT_FINISHED
#define EXIT_BAD_INPUT   TRAINER_EXIT_BAD_INPUT
#define EXIT_DIVERGED    TRAINER_EXIT_DIVERGED
#define EXIT_INTERRUPTED TRAINER_EXIT_INTERRUPTED

/* Build the objects from the options, restart if asked, train, report. *reading_options is
   cleared once the options are read and checked (errors before that are the same on every
   rank). Returns an error for bad input and for divergence (PETSC_ERR_NOT_CONVERGED); a run
   stopped at a signal or time limit returns normally with *exit_code = EXIT_INTERRUPTED. */
PetscErrorCode Train(PetscBool *reading_options, int *exit_code);

#endif
