// dist.c — the only file that calls MPI: joining the process group, sums across processes, abort.
// Without TF_HAVE_MPI (Open MPI not found at build time) it is a single-process stand-in that
// refuses to run as one of several launched processes.
#include <stdlib.h>
#include <string.h>

#include "tf_dist.h"

#ifdef TF_HAVE_MPI
#include <mpi.h>
#endif

static int g_rank, g_size = 1, g_local = 1;

// Whether a launcher started this process as a rank of a group: Open MPI's mpirun, PMIx (srun,
// Open MPI 5), or PMI (MPICH's hydra, srun --mpi=pmi2).
static int launched(void) {
    const char *off = getenv("TF_MPI");
    if (off && !strcmp(off, "0")) return 0;
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int tf_dist_rank(void) { return g_rank; }
int tf_dist_size(void) { return g_size; }
int tf_dist_local_size(void) { return g_local; }

#ifdef TF_HAVE_MPI

static int g_joined;  // MPI_Init was called by tf_dist_init
static int g_ready;   // rank and size are known

int tf_dist_available(void) { return 1; }

int tf_dist_init(int *argc, char ***argv, tf_error *err) {
    if (g_ready || !launched()) return TF_OK;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init(argc, argv) != MPI_SUCCESS)
        return tf_errorf(err, TF_EINTERNAL, "MPI_Init failed (is this process started by mpirun or srun?)");
    g_joined = !inited;
    g_ready = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    MPI_Comm node;  // the processes sharing this machine's memory
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &g_local);
        MPI_Comm_free(&node);
    }
    return TF_OK;
}

void tf_dist_finalize(void) {
    if (g_joined) {
        int done = 0;
        MPI_Finalized(&done);
        if (!done) MPI_Finalize();
    }
    g_joined = g_ready = 0;
    g_rank = 0;
    g_size = g_local = 1;
}

// MPI counts are ints: large buffers go in chunks of 2^30 elements.
#define CHUNK ((size_t)1 << 30)

static int allreduce(void *buf, size_t n, size_t elem, MPI_Datatype type, MPI_Op op, const char *what, tf_error *err) {
    if (g_size <= 1) return TF_OK;
    for (size_t off = 0; off < n; off += CHUNK) {
        int count = (int)(n - off < CHUNK ? n - off : CHUNK);
        if (MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * elem, count, type, op, MPI_COMM_WORLD) != MPI_SUCCESS)
            return tf_errorf(err, TF_EINTERNAL, "MPI_Allreduce (%s, %zu values) failed on rank %d of %d", what, n,
                             g_rank, g_size);
    }
    return TF_OK;
}

int tf_dist_sum_f32(float *buf, size_t n, tf_error *err) {
    return allreduce(buf, n, sizeof *buf, MPI_FLOAT, MPI_SUM, "sum", err);
}

int tf_dist_sum_f64(double *buf, size_t n, tf_error *err) {
    return allreduce(buf, n, sizeof *buf, MPI_DOUBLE, MPI_SUM, "sum", err);
}

int tf_dist_max_f64(double *buf, size_t n, tf_error *err) {
    return allreduce(buf, n, sizeof *buf, MPI_DOUBLE, MPI_MAX, "max", err);
}

int tf_dist_barrier(tf_error *err) {
    if (g_size > 1 && MPI_Barrier(MPI_COMM_WORLD) != MPI_SUCCESS)
        return tf_errorf(err, TF_EINTERNAL, "MPI_Barrier failed on rank %d of %d", g_rank, g_size);
    return TF_OK;
}

void tf_dist_abort(int code) {
    if (g_ready && g_size > 1) MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
}

#else  // a single process

int tf_dist_available(void) { return 0; }

static long env_long(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) return -1;
    char *end;
    long x = strtol(v, &end, 10);
    return *end ? -1 : x;
}

int tf_dist_init(int *argc, char ***argv, tf_error *err) {
    (void)argc;
    (void)argv;
    if (!launched()) return TF_OK;
    long size = env_long("OMPI_COMM_WORLD_SIZE");
    if (size < 0) size = env_long("PMI_SIZE");
    long rank = env_long("OMPI_COMM_WORLD_RANK");
    if (rank < 0) rank = env_long("PMIX_RANK");
    if (rank < 0) rank = env_long("PMI_RANK");
    if (size > 1 || rank > 0)
        return tf_errorf(err, TF_EBADARG,
                         "started by an MPI launcher as rank %ld of %ld processes, but this toolformer was built "
                         "without MPI: install Open MPI (Debian: libopenmpi-dev) and rebuild (make), "
                         "or run one process", rank < 0 ? 0 : rank, size < 0 ? 0 : size);
    return TF_OK;
}

void tf_dist_finalize(void) {}
int tf_dist_sum_f32(float *buf, size_t n, tf_error *err) { (void)buf, (void)n, (void)err; return TF_OK; }
int tf_dist_sum_f64(double *buf, size_t n, tf_error *err) { (void)buf, (void)n, (void)err; return TF_OK; }
int tf_dist_max_f64(double *buf, size_t n, tf_error *err) { (void)buf, (void)n, (void)err; return TF_OK; }
int tf_dist_barrier(tf_error *err) { (void)err; return TF_OK; }
void tf_dist_abort(int code) { (void)code; }

#endif
