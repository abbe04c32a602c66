/* Double-double sums and their MPI reduction (see ddsum.h). This file must not be compiled
   with -ffast-math: TwoSum relies on every addition being rounded as written. */
#include <engd/ddsum.h>

static MPI_Datatype dd_type = MPI_DATATYPE_NULL;
static MPI_Op       dd_op   = MPI_OP_NULL;

void DDZero(PetscInt n, DDReal *a)
{
  for (PetscInt i = 0; i < n; i++) a[i].hi = a[i].lo = 0.0;
}

void DDAddArray(PetscInt n, const PetscReal *x, DDReal *a)
{
  for (PetscInt i = 0; i < n; i++) DDAdd(&a[i], x[i]);
}

void DDAddUpperPacked(PetscInt P, const PetscReal *A, PetscInt lda, DDReal *a)
{
  for (PetscInt j = 0; j < P; j++) {
    DDReal *col = a + j * (j + 1) / 2;
    for (PetscInt i = 0; i <= j; i++) DDAdd(&col[i], A[i + j * lda]);
  }
}

void DDRoundArray(PetscInt n, const DDReal *a, PetscReal *x)
{
  for (PetscInt i = 0; i < n; i++) x[i] = DDRound(a[i]);
}

/* inout += in for double-double pairs: add the high parts exactly, then the low parts, and
   renormalise so that lo stays below half an ulp of hi. */
static void DDSumOp(void *in_, void *inout_, int *len, MPI_Datatype *type)
{
  const DDReal *in    = (const DDReal *)in_;
  DDReal       *inout = (DDReal *)inout_;

  for (int i = 0; i < *len; i++) {
    const PetscReal a = inout[i].hi, b = in[i].hi, s = a + b, bb = s - a;
    const PetscReal e = (a - (s - bb)) + (b - bb) + inout[i].lo + in[i].lo;
    inout[i].hi = s + e;
    inout[i].lo = e - (inout[i].hi - s);
  }
}

static PetscErrorCode DDFinalize(void)
{
  PetscFunctionBegin;
  PetscCallMPI(MPI_Op_free(&dd_op));
  PetscCallMPI(MPI_Type_free(&dd_type));
  PetscFunctionReturn(0);
}

PetscErrorCode DDAllreduce(MPI_Comm comm, PetscInt n, DDReal *a)
{
  const PetscInt max_count = 1 << 28; /* MPI counts are int: reduce long arrays in pieces */

  PetscFunctionBegin;
  if (dd_type == MPI_DATATYPE_NULL) {
    PetscCallMPI(MPI_Type_contiguous(2, MPIU_REAL, &dd_type));
    PetscCallMPI(MPI_Type_commit(&dd_type));
    PetscCallMPI(MPI_Op_create(DDSumOp, 1, &dd_op));
    PetscCall(PetscRegisterFinalize(DDFinalize));
  }
  for (PetscInt start = 0; start < n; start += max_count) {
    const PetscMPIInt count = (PetscMPIInt)PetscMin(max_count, n - start);
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, a + start, count, dd_type, dd_op, comm));
  }
  PetscFunctionReturn(0);
}
