/* Communication counters: every MPI send and collective this process makes (engd's own, PETSc's,
   ScaLAPACK's BLACS, HDF5's), counted at the MPI profiling interface (src/sys/commcount.c
   defines MPI_Send, MPI_Allreduce, ... and calls PMPI_*), so nothing in the code has to
   remember to count.

   Point-to-point sends count exactly the bytes this rank sends. A collective's bytes are what a
   rank sends under the textbook algorithms (an assumption: MPI chooses its own), with R ranks
   and n the payload in bytes:
     allreduce       n ceil(log2 R) below 8 KiB (recursive doubling), else 2 n (R-1)/R
                     (reduce-scatter + allgather, Rabenseifner)
     reduce, bcast   n (R-1)/R (binomial tree: every rank but the root receives n once;
                     the average over ranks)
     reduce_scatter, allgather(v)   n (R-1)/R with n the whole result
     gather(v), scatter(v), alltoall(v)   exactly the bytes this rank hands to others
   and a collective's latency steps (messages on its critical path) are ceil(log2 R), twice that
   for an allreduce; 1 for a point-to-point message. The payload (n) is kept as well. */
#ifndef ENGD_COMMCOUNT_H
#define ENGD_COMMCOUNT_H

typedef enum {
  ENGD_COMM_SEND,
  ENGD_COMM_ALLREDUCE,
  ENGD_COMM_REDUCE,
  ENGD_COMM_BCAST,
  ENGD_COMM_REDUCE_SCATTER,
  ENGD_COMM_ALLGATHER,
  ENGD_COMM_GATHER_SCATTER,
  ENGD_COMM_N_KINDS
} EngdCommKind;

extern const char *const EngdCommKinds[];

typedef struct {
  double calls[ENGD_COMM_N_KINDS];
  double payload[ENGD_COMM_N_KINDS]; /* bytes handed to MPI */
  double sent[ENGD_COMM_N_KINDS];    /* bytes this rank sends (the model above) */
  double steps[ENGD_COMM_N_KINDS];   /* latency steps */
} EngdCommCounts;

/* The counts since the process started (this rank's). */
void EngdCommGetCounts(EngdCommCounts *);
/* Totals over the kinds. */
double EngdCommSent(const EngdCommCounts *);
double EngdCommSteps(const EngdCommCounts *);
/* sum += after - before, kind by kind (the counts of a stretch of work). */
void EngdCommAccumulate(EngdCommCounts *sum, const EngdCommCounts *after, const EngdCommCounts *before);

#endif
