/* Bracket line search (linesearch.h): the grid's candidates eta_k = 2^-k, but only a few around
   the k accepted last (and, by default, every longer step), in one pass; another pass only when
   the best lies at an end of the bracket (the loss may fall further beyond it) or none lowers
   the loss. Along an ENGD direction the loss falls linearly for tiny steps, so below its first
   minimum in eta it has none; beyond it, it may dip again at a longer step (the Gauss-Newton
   step eta = 1 or near it): a bracket that tracked a run of short steps would not see that dip,
   so the first pass includes the longer steps (-ls_bracket_longer). */
#include <engd/private/linesearchimpl.h>

typedef struct {
  PetscInt   width;  /* -ls_bracket_width: candidates per pass */
  PetscInt   start;  /* -ls_bracket_start: the centre of the first search */
  PetscBool  longer; /* -ls_bracket_longer: the first pass also has every longer step */
  PetscInt   centre; /* the k of the last accepted step: the next bracket's centre */
  PetscReal *eta, *loss; /* n_steps: the grid; the losses of this search's candidates */
} LineSearch_Bracket;

static PetscErrorCode SetFromOptions_Bracket(LineSearch ls, PetscOptionItems *PetscOptionsObject)
{
  LineSearch_Bracket *br = (LineSearch_Bracket *)ls->data;

  PetscFunctionBegin;
  PetscOptionsHeadBegin(PetscOptionsObject, "Bracket line search options");
  PetscCall(EngdOptionsInt("-ls_bracket_width", "Bracket line search: candidates 2^-k per pass, centred on the k accepted last", "LineSearchCreate_Bracket", br->width, &br->width, NULL));
  PetscCall(EngdOptionsInt("-ls_bracket_start", "Bracket line search: the k the first bracket is centred on", "LineSearchCreate_Bracket", br->start, &br->start, NULL));
  PetscCall(EngdOptionsBool("-ls_bracket_longer", "Bracket line search: the first pass also tries every longer step (k from 0), where the loss may dip again", "LineSearchCreate_Bracket", br->longer, &br->longer, NULL));
  PetscOptionsHeadEnd();
  PetscCheck(br->width >= 2, ls->comm, PETSC_ERR_ARG_OUTOFRANGE, "-ls_bracket_width must be at least 2, got %" PetscInt_FMT, br->width);
  PetscCheck(br->start >= 0 && br->start < ls->n_steps, ls->comm, PETSC_ERR_ARG_OUTOFRANGE, "-ls_bracket_start must be in 0..%" PetscInt_FMT " (below -ls_steps), got %" PetscInt_FMT, ls->n_steps - 1, br->start);
  br->centre = br->start;
  PetscFunctionReturn(0);
}

static PetscErrorCode SetUp_Bracket(LineSearch ls)
{
  LineSearch_Bracket *br = (LineSearch_Bracket *)ls->data;

  PetscFunctionBegin;
  PetscCall(LineSearchGridSteps_Private(ls, &br->eta, &br->loss));
  br->centre = PetscMin(br->centre, ls->n_steps - 1);
  PetscFunctionReturn(0);
}

/* Losses of the candidates k in [lo, hi], one pass. */
static PetscErrorCode Evaluate(LineSearch ls, Objective objective, const PetscReal *theta, const PetscReal *dir, PetscInt lo, PetscInt hi)
{
  LineSearch_Bracket *br = (LineSearch_Bracket *)ls->data;

  PetscFunctionBegin;
  PetscCall(ObjectiveLossCandidates(objective, theta, dir, hi - lo + 1, br->eta + lo, br->loss + lo));
  ls->n_evaluated += hi - lo + 1;
  PetscFunctionReturn(0);
}

/* Every rank holds the same reduced losses, so every rank widens alike. The candidates' losses
   do not depend on which others share their pass, so the choice is the grid's whenever the
   final bracket holds the grid's minimiser. */
static PetscErrorCode Apply_Bracket(LineSearch ls, Objective objective, PetscReal *theta, const PetscReal *dir, PetscReal loss, PetscReal *eta, PetscReal *loss_new)
{
  LineSearch_Bracket *br = (LineSearch_Bracket *)ls->data;
  const PetscInt      n = ls->n_steps, w = PetscMin(br->width, n);
  PetscInt            lo = PetscMin(PetscMax(br->centre - (w - 1) / 2, 0), n - w), hi = lo + w - 1, best;

  PetscFunctionBegin;
  if (br->longer) lo = 0;
  PetscCall(Evaluate(ls, objective, theta, dir, lo, hi));
  for (;;) {
    PetscCall(LineSearchBest_Private(hi - lo + 1, br->loss + lo, &best));
    if (best >= 0) best += lo;
    if (best < 0 || !(br->loss[best] < loss) || (best == hi && hi < n - 1)) { /* smaller steps may do (better) */
      if (hi == n - 1) break;
      PetscCall(Evaluate(ls, objective, theta, dir, hi + 1, PetscMin(n - 1, hi + w)));
      hi = PetscMin(n - 1, hi + w);
    } else if (best == lo && lo > 0) { /* so may longer ones */
      PetscCall(Evaluate(ls, objective, theta, dir, PetscMax(0, lo - w), lo - 1));
      lo = PetscMax(0, lo - w);
    } else break;
  }
  PetscCall(LineSearchAccept_Private(objective, theta, dir, loss, best, br->eta, br->loss, eta, loss_new));
  if (*eta > 0) br->centre = best;
  PetscFunctionReturn(0);
}

static PetscErrorCode GetState_Bracket(LineSearch ls, PetscInt *n, PetscReal *values)
{
  LineSearch_Bracket *br = (LineSearch_Bracket *)ls->data;

  PetscFunctionBegin;
  *n        = 1;
  values[0] = (PetscReal)br->centre;
  PetscFunctionReturn(0);
}

static PetscErrorCode SetState_Bracket(LineSearch ls, PetscInt n, const PetscReal *values)
{
  LineSearch_Bracket *br = (LineSearch_Bracket *)ls->data;

  PetscFunctionBegin;
  PetscCheck(n == 1 && values[0] >= 0 && values[0] < ls->n_steps && values[0] == PetscFloorReal(values[0]), ls->comm, PETSC_ERR_FILE_UNEXPECTED, "the bracket line search state must be one step index in 0..%" PetscInt_FMT " (-ls_steps), got %g", ls->n_steps - 1, n ? (double)values[0] : -1.0);
  br->centre = (PetscInt)values[0];
  PetscFunctionReturn(0);
}

static PetscErrorCode View_Bracket(LineSearch ls, PetscViewer viewer)
{
  LineSearch_Bracket *br = (LineSearch_Bracket *)ls->data;

  PetscFunctionBegin;
  PetscCall(PetscViewerASCIIPrintf(viewer, "bracket line search: %" PetscInt_FMT " of %" PetscInt_FMT " steps per pass around the last accepted one%s", PetscMin(br->width, ls->n_steps), ls->n_steps, br->longer ? " and every longer one" : ""));
  PetscFunctionReturn(0);
}

static PetscErrorCode Destroy_Bracket(LineSearch ls)
{
  LineSearch_Bracket *br = (LineSearch_Bracket *)ls->data;

  PetscFunctionBegin;
  if (br->eta) PetscCall(PetscFree2(br->eta, br->loss));
  PetscCall(PetscFree(ls->data));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode LineSearchCreate_Bracket(LineSearch ls)
{
  LineSearch_Bracket *br;

  PetscFunctionBegin;
  PetscCall(PetscNew(&br));
  br->width              = 5;
  br->longer             = PETSC_TRUE;
  ls->data               = br;
  ls->ops.setfromoptions = SetFromOptions_Bracket;
  ls->ops.setup          = SetUp_Bracket;
  ls->ops.apply          = Apply_Bracket;
  ls->ops.getstate       = GetState_Bracket;
  ls->ops.setstate       = SetState_Bracket;
  ls->ops.view           = View_Bracket;
  ls->ops.destroy        = Destroy_Bracket;
  PetscFunctionReturn(0);
}
