/* The one block loop of the Objective: chunk x term x block, calling a visitor (objective.h). */
#include <engd/private/objectiveimpl.h>

PetscErrorCode ObjectiveVisit(Objective o, ObjectivePoints which, PetscInt term, const ObjectiveVisitor *v)
{
  const PointSet *set = which == OBJECTIVE_TRAINING ? &o->training : &o->evaluation;
  const PetscInt  t_lo = term == OBJECTIVE_ALL_TERMS ? 0 : term, t_hi = term == OBJECTIVE_ALL_TERMS ? set->n_terms : term + 1;
  ObjectiveBlock  blk;

  PetscFunctionBegin;
  PetscCheck(o->setup_called, o->comm, PETSC_ERR_ORDER, "Call ObjectiveSetUp() before ObjectiveVisit()");
  PetscCheck(term == OBJECTIVE_ALL_TERMS || (term >= 0 && term < set->n_terms), o->comm, PETSC_ERR_ARG_OUTOFRANGE, "Term %" PetscInt_FMT " does not exist", term);
  for (PetscInt c = 0; c < set->n_chunks_local; c++) {
    if (v->begin_chunk) PetscCall((*v->begin_chunk)(v->ctx, c));
    for (PetscInt t = t_lo; t < t_hi; t++) {
      const TermPoints *tp = &set->terms[t];
      const ChunkPiece *pc = &set->pieces[c * set->n_terms + t];

      blk.chunk          = c;
      blk.term           = t;
      blk.info           = tp->term;
      blk.rows_per_point = tp->rows_per_point;
      blk.scale          = tp->scale;
      for (PetscInt b = 0; b < pc->n; b += o->block_size) {
        blk.point = pc->point + b;
        blk.n     = PetscMin(o->block_size, pc->n - b);
        blk.row   = pc->row + tp->rows_per_point * b;
        blk.x     = tp->x + blk.point * o->dim;
        blk.data  = tp->data ? tp->data + blk.point * tp->term->n_data : NULL;
        if (v->block) PetscCall((*v->block)(v->ctx, &blk));
      }
      if (v->end_piece) PetscCall((*v->end_piece)(v->ctx, c, t));
    }
    if (v->end_chunk) PetscCall((*v->end_chunk)(v->ctx, c));
  }
  PetscFunctionReturn(0);
}
