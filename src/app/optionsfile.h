/* Checks of the -options_file files before PETSc reads them (src/app/optionsfile.c). */
#ifndef ENGD_APP_OPTIONSFILE_H
#define ENGD_APP_OPTIONSFILE_H

#include <stddef.h>

/* Check every -options_file of the command line, and the files they name in turn, the way
   PETSc 3.18 will read them (PetscOptionsInsertArgs, PetscOptionsInsertFile): each must be
   readable text whose lines are blank, # comments, "-option", "-option value" or
   "alias -name -other". Runs before PetscInitialize(), where PETSc's errors would print a
   banner and a traceback, so it returns 0 when all is well and otherwise -1 with one sentence,
   naming the file and line, in message. */
int EngdOptionsFilesCheck(int argc, char **argv, char message[], size_t len);

#endif
