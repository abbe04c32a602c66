/* History: growable per-iteration record. */
#include <engd/history.h>

const char *const HistoryFieldNames[HISTORY_N_FIELDS] = {"loss", "rel_l2", "rel_h1", "rms", "eta", "damping", "wall_s"};

PetscErrorCode HistoryInit(History *h)
{
  PetscFunctionBegin;
  PetscCall(PetscMemzero(h, sizeof(*h)));
  PetscFunctionReturn(0);
}

PetscReal *HistoryField(History *h, PetscInt k)
{
  PetscReal *fields[HISTORY_N_FIELDS] = {h->loss, h->rel_l2, h->rel_h1, h->rms, h->eta, h->damping, h->wall_s};
  return fields[k];
}

static PetscErrorCode Grow(PetscInt n_old, PetscInt n_new, PetscReal **field)
{
  PetscReal *bigger;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(n_new, &bigger));
  if (n_old) PetscCall(PetscArraycpy(bigger, *field, n_old));
  PetscCall(PetscFree(*field));
  *field = bigger;
  PetscFunctionReturn(0);
}

PetscErrorCode HistoryAppend(History *h, PetscInt iteration, PetscReal loss, PetscReal rel_l2, PetscReal rel_h1, PetscReal rms, PetscReal eta, PetscReal damping, PetscReal wall_s)
{
  PetscFunctionBegin;
  if (h->n == h->capacity) {
    const PetscInt cap = PetscMax(64, 2 * h->capacity);
    PetscInt      *it;
    PetscCall(PetscMalloc1(cap, &it));
    if (h->n) PetscCall(PetscArraycpy(it, h->iteration, h->n));
    PetscCall(PetscFree(h->iteration));
    h->iteration = it;
    PetscCall(Grow(h->n, cap, &h->loss));
    PetscCall(Grow(h->n, cap, &h->rel_l2));
    PetscCall(Grow(h->n, cap, &h->rel_h1));
    PetscCall(Grow(h->n, cap, &h->rms));
    PetscCall(Grow(h->n, cap, &h->eta));
    PetscCall(Grow(h->n, cap, &h->damping));
    PetscCall(Grow(h->n, cap, &h->wall_s));
    h->capacity = cap;
  }
  h->iteration[h->n] = iteration;
  h->loss[h->n]      = loss;
  h->rel_l2[h->n]    = rel_l2;
  h->rel_h1[h->n]    = rel_h1;
  h->rms[h->n]       = rms;
  h->eta[h->n]       = eta;
  h->damping[h->n]   = damping;
  h->wall_s[h->n]    = wall_s;
  h->n++;
  PetscFunctionReturn(0);
}

PetscErrorCode HistoryDestroy(History *h)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(h->iteration));
  PetscCall(PetscFree(h->loss));
  PetscCall(PetscFree(h->rel_l2));
  PetscCall(PetscFree(h->rel_h1));
  PetscCall(PetscFree(h->rms));
  PetscCall(PetscFree(h->eta));
  PetscCall(PetscFree(h->damping));
  PetscCall(PetscFree(h->wall_s));
  h->n = h->capacity = 0;
  PetscFunctionReturn(0);
}
