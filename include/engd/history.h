/* History: the per-iteration record of a run (kept on every rank, identical everywhere). */
#ifndef ENGD_HISTORY_H
#define ENGD_HISTORY_H

#include <engd/sys.h>

typedef struct {
  PetscInt   n, capacity;
  PetscInt  *iteration;
  PetscReal *loss, *rel_l2, *rel_h1, *rms, *eta, *damping, *wall_s;
} History;

#define HISTORY_N_FIELDS 7
extern const char *const HistoryFieldNames[HISTORY_N_FIELDS];

PetscErrorCode HistoryInit(History *);
PetscErrorCode HistoryAppend(History *, PetscInt iteration, PetscReal loss, PetscReal rel_l2, PetscReal rel_h1, PetscReal rms, PetscReal eta, PetscReal damping, PetscReal wall_s);
/* Field k of HistoryFieldNames as an array of n values. */
PetscReal     *HistoryField(History *, PetscInt k);
PetscErrorCode HistoryDestroy(History *);

#endif
