// tf_dist.h — processes working together: data-parallel training and sharded annotation across
// processes and machines (docs/scaling.md). Every MPI call of the project is in src/dist/dist.c,
// compiled against Open MPI when the Makefile finds it (TF_HAVE_MPI), else as a single-process
// stand-in with the same API, so callers never need #ifdefs.
//
// A process started by a launcher (mpirun, srun) is one rank of a group of tf_dist_size(); a process
// started by hand is rank 0 of 1 and never touches MPI (no MPI_Init, no daemons).
#ifndef TF_DIST_H
#define TF_DIST_H

#include "tf_common.h"

// 1 when built with MPI.
int tf_dist_available(void);

// Joins the process group when a launcher started this process (it sets OMPI_COMM_WORLD_SIZE,
// PMIX_RANK or PMI_RANK; TF_MPI=0 ignores them), else stays a single process. Idempotent.
// Errors: launched as one of several processes by a build without MPI (every process would think
// it is alone and they would overwrite each other's files), or MPI_Init failing.
int tf_dist_init(int *argc, char ***argv, tf_error *err);
// Leaves the group (MPI_Finalize) when tf_dist_init joined one; a no-op otherwise.
void tf_dist_finalize(void);

int tf_dist_rank(void);        // 0 .. size-1 (0 before init)
int tf_dist_size(void);        // processes in the group (1 before init)
int tf_dist_local_size(void);  // processes of the group on this machine (1 when unknown)

// Sums buf over all processes, in place; every process gets the same sum. n may exceed INT_MAX.
// A no-op for one process.
int tf_dist_sum_f32(float *buf, size_t n, tf_error *err);
int tf_dist_sum_f64(double *buf, size_t n, tf_error *err);
// Maximum over all processes, in place.
int tf_dist_max_f64(double *buf, size_t n, tf_error *err);
// Waits until every process has reached it.
int tf_dist_barrier(tf_error *err);
// Ends every process of the group with exit status code (MPI_Abort), so that no process waits
// forever for one that failed. For the command line only; a no-op for one process (the caller then
// returns code itself).
void tf_dist_abort(int code);

#endif
