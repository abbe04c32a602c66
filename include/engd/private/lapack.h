/* LAPACK and ScaLAPACK routines PETSc's headers do not declare (Fortran calling convention). */
#ifndef ENGD_LAPACK_H
#define ENGD_LAPACK_H

#include <petscblaslapack.h>

void dsyevd_(const char *jobz, const char *uplo, const PetscBLASInt *n, PetscReal *a, const PetscBLASInt *lda, PetscReal *w, PetscReal *work, const PetscBLASInt *lwork, PetscBLASInt *iwork, const PetscBLASInt *liwork, PetscBLASInt *info);
void dsytrd_(const char *uplo, const PetscBLASInt *n, PetscReal *a, const PetscBLASInt *lda, PetscReal *d, PetscReal *e, PetscReal *tau, PetscReal *work, const PetscBLASInt *lwork, PetscBLASInt *info);
void dstedc_(const char *compz, const PetscBLASInt *n, PetscReal *d, PetscReal *e, PetscReal *z, const PetscBLASInt *ldz, PetscReal *work, const PetscBLASInt *lwork, PetscBLASInt *iwork, const PetscBLASInt *liwork, PetscBLASInt *info);
void dormtr_(const char *side, const char *uplo, const char *trans, const PetscBLASInt *m, const PetscBLASInt *n, const PetscReal *a, const PetscBLASInt *lda, const PetscReal *tau, PetscReal *c, const PetscBLASInt *ldc, PetscReal *work, const PetscBLASInt *lwork, PetscBLASInt *info);
void dgeqrf_(const PetscBLASInt *m, const PetscBLASInt *n, PetscReal *a, const PetscBLASInt *lda, PetscReal *tau, PetscReal *work, const PetscBLASInt *lwork, PetscBLASInt *info);
void dgesdd_(const char *jobz, const PetscBLASInt *m, const PetscBLASInt *n, PetscReal *a, const PetscBLASInt *lda, PetscReal *s, PetscReal *u, const PetscBLASInt *ldu, PetscReal *vt, const PetscBLASInt *ldvt, PetscReal *work, const PetscBLASInt *lwork, PetscBLASInt *iwork, PetscBLASInt *info);
void dtpqrt_(const PetscBLASInt *m, const PetscBLASInt *n, const PetscBLASInt *l, const PetscBLASInt *nb, PetscReal *a, const PetscBLASInt *lda, PetscReal *b, const PetscBLASInt *ldb, PetscReal *t, const PetscBLASInt *ldt, PetscReal *work, PetscBLASInt *info);
void dgebrd_(const PetscBLASInt *m, const PetscBLASInt *n, PetscReal *a, const PetscBLASInt *lda, PetscReal *d, PetscReal *e, PetscReal *tauq, PetscReal *taup, PetscReal *work, const PetscBLASInt *lwork, PetscBLASInt *info);
void dbdsdc_(const char *uplo, const char *compq, const PetscBLASInt *n, PetscReal *d, PetscReal *e, PetscReal *u, const PetscBLASInt *ldu, PetscReal *vt, const PetscBLASInt *ldvt, PetscReal *q, PetscBLASInt *iq, PetscReal *work, PetscBLASInt *iwork, PetscBLASInt *info);
void dormbr_(const char *vect, const char *side, const char *trans, const PetscBLASInt *m, const PetscBLASInt *n, const PetscBLASInt *k, const PetscReal *a, const PetscBLASInt *lda, const PetscReal *tau, PetscReal *c, const PetscBLASInt *ldc, PetscReal *work, const PetscBLASInt *lwork, PetscBLASInt *info);
void dsyevr_(const char *jobz, const char *range, const char *uplo, const PetscBLASInt *n, PetscReal *a, const PetscBLASInt *lda, const PetscReal *vl, const PetscReal *vu, const PetscBLASInt *il, const PetscBLASInt *iu, const PetscReal *abstol, PetscBLASInt *m, PetscReal *w, PetscReal *z, const PetscBLASInt *ldz, PetscBLASInt *isuppz, PetscReal *work, const PetscBLASInt *lwork, PetscBLASInt *iwork, const PetscBLASInt *liwork, PetscBLASInt *info);
void dsygvd_(const PetscBLASInt *itype, const char *jobz, const char *uplo, const PetscBLASInt *n, PetscReal *a, const PetscBLASInt *lda, PetscReal *b, const PetscBLASInt *ldb, PetscReal *w, PetscReal *work, const PetscBLASInt *lwork, PetscBLASInt *iwork, const PetscBLASInt *liwork, PetscBLASInt *info);

/* BLACS (C interface) and ScaLAPACK */
void Cblacs_get(int context, int what, int *value);
void Cblacs_gridinit(int *context, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int context, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_pcoord(int context, int pnum, int *prow, int *pcol);
void Cblacs_gridexit(int context);
int  Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
int  numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc, const int *icsrc, const int *ictxt, const int *lld, int *info);
void pdgemr2d_(const int *m, const int *n, const double *a, const int *ia, const int *ja, const int *desca, double *b, const int *ib, const int *jb, const int *descb, const int *ictxt);
void pdsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha, const double *a, const int *ia, const int *ja, const int *desca, const double *beta, double *c, const int *ic, const int *jc, const int *descc);
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia, const int *ja, const int *desca, double *w, double *z, const int *iz, const int *jz, const int *descz, double *work, const int *lwork, int *iwork, const int *liwork, int *info);
void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia, const int *ja, const int *desca, int *info);
void pdpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *ia, const int *ja, const int *desca, double *b, const int *ib, const int *jb, const int *descb, int *info);
void pdlaset_(const char *uplo, const int *m, const int *n, const double *alpha, const double *beta, double *a, const int *ia, const int *ja, const int *desca);

#endif
