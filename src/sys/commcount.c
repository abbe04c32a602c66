/* Communication counters at the MPI profiling interface (commcount.h). Each wrapper counts and
   calls the PMPI_ entry point; the executable's definitions take the place of the MPI library's
   for every caller, shared libraries included (the dynamic linker finds the executable's first).
   This file must not include PETSc's headers: petsclog.h redefines some MPI_* names as macros. */
#include <engd/commcount.h>
#include <mpi.h>

const char *const EngdCommKinds[] = {"send", "allreduce", "reduce", "bcast", "reduce_scatter", "allgather", "gather/scatter"};

static EngdCommCounts counts;

static int CommSize(MPI_Comm comm)
{
  int size = 1;
  if (comm != MPI_COMM_NULL) PMPI_Comm_size(comm, &size);
  return size;
}

static double TypeBytes(int count, MPI_Datatype type)
{
  int size = 0;
  if (count <= 0 || type == MPI_DATATYPE_NULL) return 0;
  PMPI_Type_size(type, &size);
  return (double)count * size;
}

static double Log2Ceil(int size)
{
  double steps = 0;
  for (int reach = 1; reach < size; reach *= 2) steps++;
  return steps;
}

static void Count(EngdCommKind kind, double payload, double sent, double steps)
{
  counts.calls[kind] += 1;
  counts.payload[kind] += payload;
  counts.sent[kind] += sent;
  counts.steps[kind] += steps;
}

/* A collective with payload n on R ranks: bytes sent per rank as commcount.h states. */
static void CountCollective(EngdCommKind kind, double n, MPI_Comm comm)
{
  const int    R     = CommSize(comm);
  const double share = R > 1 ? n * (R - 1) / R : 0, steps = Log2Ceil(R);

  switch (kind) {
  case ENGD_COMM_ALLREDUCE:
    Count(kind, n, R == 1 ? 0 : (n < 8192 ? n * steps : 2 * share), 2 * steps);
    break;
  default:
    Count(kind, n, share, steps);
  }
}

static void CountSend(const void *buf, int count, MPI_Datatype type, int dest, MPI_Comm comm)
{
  int rank = -1;
  (void)buf;
  if (dest == MPI_PROC_NULL) return;
  PMPI_Comm_rank(comm, &rank);
  if (dest == rank) return; /* a copy, not communication */
  const double n = TypeBytes(count, type);
  Count(ENGD_COMM_SEND, n, n, 1);
}

void EngdCommGetCounts(EngdCommCounts *c) { *c = counts; }

double EngdCommSent(const EngdCommCounts *c)
{
  double sum = 0;
  for (int k = 0; k < ENGD_COMM_N_KINDS; k++) sum += c->sent[k];
  return sum;
}

double EngdCommSteps(const EngdCommCounts *c)
{
  double sum = 0;
  for (int k = 0; k < ENGD_COMM_N_KINDS; k++) sum += c->steps[k];
  return sum;
}

void EngdCommAccumulate(EngdCommCounts *sum, const EngdCommCounts *after, const EngdCommCounts *before)
{
  for (int k = 0; k < ENGD_COMM_N_KINDS; k++) {
    sum->calls[k] += after->calls[k] - before->calls[k];
    sum->payload[k] += after->payload[k] - before->payload[k];
    sum->sent[k] += after->sent[k] - before->sent[k];
    sum->steps[k] += after->steps[k] - before->steps[k];
  }
}

/* Point to point. */
int MPI_Send(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm)
{
  CountSend(buf, count, type, dest, comm);
  return PMPI_Send(buf, count, type, dest, tag, comm);
}

int MPI_Ssend(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm)
{
  CountSend(buf, count, type, dest, comm);
  return PMPI_Ssend(buf, count, type, dest, tag, comm);
}

int MPI_Rsend(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm)
{
  CountSend(buf, count, type, dest, comm);
  return PMPI_Rsend(buf, count, type, dest, tag, comm);
}

int MPI_Bsend(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm)
{
  CountSend(buf, count, type, dest, comm);
  return PMPI_Bsend(buf, count, type, dest, tag, comm);
}

int MPI_Isend(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request *request)
{
  CountSend(buf, count, type, dest, comm);
  return PMPI_Isend(buf, count, type, dest, tag, comm, request);
}

int MPI_Issend(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request *request)
{
  CountSend(buf, count, type, dest, comm);
  return PMPI_Issend(buf, count, type, dest, tag, comm, request);
}

int MPI_Irsend(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request *request)
{
  CountSend(buf, count, type, dest, comm);
  return PMPI_Irsend(buf, count, type, dest, tag, comm, request);
}

int MPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag, void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag, MPI_Comm comm, MPI_Status *status)
{
  CountSend(sendbuf, sendcount, sendtype, dest, comm);
  return PMPI_Sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype, source, recvtag, comm, status);
}

/* Reductions and broadcasts. */
int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm)
{
  CountCollective(ENGD_COMM_ALLREDUCE, TypeBytes(count, type), comm);
  return PMPI_Allreduce(sendbuf, recvbuf, count, type, op, comm);
}

int MPI_Iallreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm, MPI_Request *request)
{
  CountCollective(ENGD_COMM_ALLREDUCE, TypeBytes(count, type), comm);
  return PMPI_Iallreduce(sendbuf, recvbuf, count, type, op, comm, request);
}

int MPI_Reduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype type, MPI_Op op, int root, MPI_Comm comm)
{
  CountCollective(ENGD_COMM_REDUCE, TypeBytes(count, type), comm);
  return PMPI_Reduce(sendbuf, recvbuf, count, type, op, root, comm);
}

int MPI_Bcast(void *buffer, int count, MPI_Datatype type, int root, MPI_Comm comm)
{
  CountCollective(ENGD_COMM_BCAST, TypeBytes(count, type), comm);
  return PMPI_Bcast(buffer, count, type, root, comm);
}

int MPI_Reduce_scatter(const void *sendbuf, void *recvbuf, const int recvcounts[], MPI_Datatype type, MPI_Op op, MPI_Comm comm)
{
  const int R     = CommSize(comm);
  long long total = 0;
  for (int p = 0; p < R; p++) total += recvcounts[p];
  CountCollective(ENGD_COMM_REDUCE_SCATTER, TypeBytes(1, type) * (double)total, comm);
  return PMPI_Reduce_scatter(sendbuf, recvbuf, recvcounts, type, op, comm);
}

int MPI_Reduce_scatter_block(const void *sendbuf, void *recvbuf, int recvcount, MPI_Datatype type, MPI_Op op, MPI_Comm comm)
{
  CountCollective(ENGD_COMM_REDUCE_SCATTER, TypeBytes(recvcount, type) * CommSize(comm), comm);
  return PMPI_Reduce_scatter_block(sendbuf, recvbuf, recvcount, type, op, comm);
}

/* Gathers and scatters. */
int MPI_Allgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm)
{
  CountCollective(ENGD_COMM_ALLGATHER, TypeBytes(recvcount, recvtype) * CommSize(comm), comm);
  return PMPI_Allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);
}

int MPI_Allgatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, MPI_Comm comm)
{
  const int R     = CommSize(comm);
  long long total = 0;
  for (int p = 0; p < R; p++) total += recvcounts[p];
  CountCollective(ENGD_COMM_ALLGATHER, TypeBytes(1, recvtype) * (double)total, comm);
  return PMPI_Allgatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, comm);
}

/* Rooted gathers and scatters, all-to-all: the bytes this rank hands to other ranks. */
static void CountRooted(double sent, MPI_Comm comm)
{
  Count(ENGD_COMM_GATHER_SCATTER, sent, sent, Log2Ceil(CommSize(comm)));
}

static int IsRoot(int root, MPI_Comm comm)
{
  int rank = -1;
  PMPI_Comm_rank(comm, &rank);
  return rank == root;
}

int MPI_Gather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm)
{
  CountRooted(IsRoot(root, comm) ? 0 : TypeBytes(sendcount, sendtype), comm);
  return PMPI_Gather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm);
}

int MPI_Gatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int displs[], MPI_Datatype recvtype, int root, MPI_Comm comm)
{
  CountRooted(IsRoot(root, comm) ? 0 : TypeBytes(sendcount, sendtype), comm);
  return PMPI_Gatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, root, comm);
}

int MPI_Scatter(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm)
{
  CountRooted(IsRoot(root, comm) ? TypeBytes(sendcount, sendtype) * (CommSize(comm) - 1) : 0, comm);
  return PMPI_Scatter(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm);
}

int MPI_Scatterv(const void *sendbuf, const int sendcounts[], const int displs[], MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, int root, MPI_Comm comm)
{
  double sent = 0;
  if (IsRoot(root, comm)) {
    int rank = 0;
    PMPI_Comm_rank(comm, &rank);
    for (int p = 0; p < CommSize(comm); p++)
      if (p != rank) sent += TypeBytes(sendcounts[p], sendtype);
  }
  CountRooted(sent, comm);
  return PMPI_Scatterv(sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount, recvtype, root, comm);
}

int MPI_Alltoall(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount, MPI_Datatype recvtype, MPI_Comm comm)
{
  CountRooted(TypeBytes(sendcount, sendtype) * (CommSize(comm) - 1), comm);
  return PMPI_Alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);
}

int MPI_Alltoallv(const void *sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype, void *recvbuf, const int recvcounts[], const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm)
{
  int    rank = 0;
  double sent = 0;
  PMPI_Comm_rank(comm, &rank);
  for (int p = 0; p < CommSize(comm); p++)
    if (p != rank) sent += TypeBytes(sendcounts[p], sendtype);
  CountRooted(sent, comm);
  return PMPI_Alltoallv(sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm);
}
