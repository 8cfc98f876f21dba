// matmul.c — every oneDNN call of the project lives here (Debian 12 ships oneDNN 2.6; its 3.x API
// differs). Two oneDNN paths, both on the same libgomp threads as the rest of the engine:
//   - the matmul primitive (brgemm), for products big enough to repay it, called from outside
//     OpenMP regions. Creating a primitive is costly, so primitives are cached per (shape, strides,
//     alpha, beta, bias) and reused (figures: docs/benchmarks.md, "Measurements behind the code's
//     choices", matmul.c);
//   - dnnl_sgemm (oneDNN's JIT GEMM) for small products, inside OpenMP regions (attention runs one
//     product per (batch, head) on each thread: sgemm then stays on the calling thread), and as the
//     fallback whenever a primitive cannot be made.
#include <dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tf_common.h"
#include "tf_kernels.h"

// M*N*K from which the cached primitive is used (below it, call overhead dominates)
#define PRIM_MIN_MACS (1L << 21)
// M*N*K below which sgemm runs on the calling thread alone (~10 us of work: decode-step products,
// where waking the other threads costs more than it saves, and far more when the cores are shared)
#define SERIAL_MAX_MACS (1L << 20)
enum { CACHE_SIZE = 128 };
// the rows for which tf_gemm_bf16 takes tf_gemm_bf16_avx512 where there is no AMX (see tf_gemm_bf16)
enum { GEMM_OURS_MIN_M = 32, GEMM_OURS_MAX_M = 128 };

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc, has_bias;
    float alpha, beta;
    int bf16;               // A and B are bf16 (C and bias stay fp32)
    dnnl_primitive_t prim;  // NULL: creation failed, use sgemm
    dnnl_memory_desc_t a, b, c, bias;
} prim_entry;

static struct {
    pthread_mutex_t lock;
    int ready;               // 1: engine and stream exist; -1: oneDNN refused, never retry
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    prim_entry e[CACHE_SIZE];
    int n, next;             // entries in use; next slot to replace when full
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void md_2d(dnnl_memory_desc_t *md, int rows, int cols, int trans, int ld, dnnl_data_type_t dt) {
    // the logical [rows, cols] operand stored row-major with stride ld, or transposed
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {trans ? 1 : ld, trans ? ld : 1};
    dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides);
}

static int make_entry(prim_entry *e) {
    dnnl_data_type_t in = e->bf16 ? dnnl_bf16 : dnnl_f32;
    md_2d(&e->a, e->M, e->K, e->ta, e->lda, in);
    md_2d(&e->b, e->K, e->N, e->tb, e->ldb, in);
    md_2d(&e->c, e->M, e->N, 0, e->ldc, dnnl_f32);
    md_2d(&e->bias, 1, e->N, 0, e->N, dnnl_f32);
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    e->prim = NULL;
    int ok = dnnl_matmul_desc_init(&desc, &e->a, &e->b, e->has_bias ? &e->bias : NULL, &e->c) == dnnl_success &&
             dnnl_primitive_attr_create(&attr) == dnnl_success;
    if (ok && e->alpha != 1.0f) ok = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &e->alpha) == dnnl_success;
    if (ok && e->beta != 0.0f)
        ok = dnnl_post_ops_create(&po) == dnnl_success && dnnl_post_ops_append_sum(po, e->beta) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
    if (ok) ok = dnnl_primitive_desc_create(&pd, &desc, attr, cache.engine, NULL) == dnnl_success;
    if (ok && dnnl_primitive_create(&e->prim, pd) != dnnl_success) e->prim = NULL;
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return e->prim != NULL;
}

// C = alpha op(A) op(B) (+ bias row) + beta C through a cached primitive, under the cache lock (one
// stream serves every call). Returns 0 when the caller must fall back to sgemm. bf16: A and B hold
// bf16 values; such products always take the primitive (waiting for the lock) unless inside OpenMP.
static int gemm_primitive(int ta, int tb, int M, int N, int K, float alpha, const void *A, int lda,
                          const void *B, int ldb, const float *bias, float beta, float *C, int ldc,
                          int bf16) {
    // fp32 with M < 4 (one or a few decode rows): sgemm's matrix-vector path streams the weights faster.
    // fp32 in any layout but A @ B^T (the forward's inp @ W^T): sgemm is faster than the primitive,
    // which repacks a strided B or a transposed A on every call (docs/benchmarks.md, "Measurements
    // behind the code's choices", matmul.c).
    if (omp_in_parallel() || (!bf16 && (M < 4 || (long)M * N * K < PRIM_MIN_MACS || ta || !tb))) return 0;
    if (bf16 ? pthread_mutex_lock(&cache.lock) : pthread_mutex_trylock(&cache.lock))
        return 0;  // another thread is using it: sgemm
    int done = 0;
    if (!cache.ready) {
        cache.ready = dnnl_engine_create(&cache.engine, dnnl_cpu, 0) == dnnl_success &&
                              dnnl_stream_create(&cache.stream, cache.engine, dnnl_stream_default_flags) == dnnl_success
                          ? 1 : -1;
    }
    if (cache.ready == 1) {
        prim_entry *e = NULL;
        int has_bias = bias != NULL;
        for (int i = 0; i < cache.n && !e; i++) {
            prim_entry *x = &cache.e[i];
            if (x->ta == ta && x->tb == tb && x->M == M && x->N == N && x->K == K && x->lda == lda &&
                x->ldb == ldb && x->ldc == ldc && x->has_bias == has_bias && x->alpha == alpha && x->beta == beta &&
                x->bf16 == bf16)
                e = x;
        }
        if (!e) {
            if (cache.n < CACHE_SIZE) {
                e = &cache.e[cache.n++];
            } else {
                e = &cache.e[cache.next];
                cache.next = (cache.next + 1) % CACHE_SIZE;
                if (e->prim) dnnl_primitive_destroy(e->prim);
            }
            *e = (prim_entry){ta, tb, M, N, K, lda, ldb, ldc, has_bias, alpha, beta, bf16, NULL, {0}, {0}, {0}, {0}};
            make_entry(e);
        }
        if (e->prim) {
            dnnl_memory_t ma = NULL, mb = NULL, mc = NULL, mbias = NULL;
            int ok = dnnl_memory_create(&ma, &e->a, cache.engine, (void *)A) == dnnl_success &&
                     dnnl_memory_create(&mb, &e->b, cache.engine, (void *)B) == dnnl_success &&
                     dnnl_memory_create(&mc, &e->c, cache.engine, C) == dnnl_success &&
                     (!has_bias || dnnl_memory_create(&mbias, &e->bias, cache.engine, (void *)bias) == dnnl_success);
            if (ok) {
                dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc},
                                           {DNNL_ARG_BIAS, mbias}};
                done = dnnl_primitive_execute(e->prim, cache.stream, has_bias ? 4 : 3, args) == dnnl_success &&
                       dnnl_stream_wait(cache.stream) == dnnl_success;
            }
            dnnl_memory_t mems[] = {ma, mb, mc, mbias};
            for (int i = 0; i < 4; i++)
                if (mems[i]) dnnl_memory_destroy(mems[i]);
        }
    }
    pthread_mutex_unlock(&cache.lock);
    return done;
}

void tf_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        // C = beta * C; oneDNN rejects K = 0. beta 0 does not read C (BLAS): it may be uninitialised,
        // and 0 * NaN is NaN
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta != 0.0f ? beta * C[(size_t)i * ldc + j] : 0.0f;
        return;
    }
    if (gemm_primitive(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, NULL, beta, C, ldc, 0)) return;
    int threads = 0;
    if ((long)M * N * K < SERIAL_MAX_MACS && !omp_in_parallel()) {
        threads = omp_get_max_threads();  // oneDNN sizes its team from this thread's setting
        omp_set_num_threads(1);
    }
    dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (threads) omp_set_num_threads(threads);
}

void tf_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int BT,
                       int C, int OC) {
    if (BT <= 0 || OC <= 0) return;
    if (C > 0 && gemm_primitive(0, 1, BT, OC, C, 1.0f, inp, C, weight, C, bias, 0.0f, out, OC, 0)) return;
    if (bias) {
#pragma omp parallel for if ((long)BT * OC >= 32768)
        for (int r = 0; r < BT; r++) memcpy(out + (size_t)r * OC, bias, OC * sizeof(float));
    }
    tf_gemm(0, 1, BT, OC, C, 1.0f, inp, C, weight, C, bias ? 1.0f : 0.0f, out, OC);
}

void tf_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, int BT, int C, int OC) {
    tf_matmul_backward_acc(dinp, dweight, dbias, dout, inp, weight, BT, C, OC, TF_ACC_DINP | TF_ACC_DW);
}

void tf_matmul_backward_acc(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, int BT, int C, int OC, int acc) {
    if (dinp) tf_gemm(0, 0, BT, C, OC, 1.0f, dout, OC, weight, C, (acc & TF_ACC_DINP) ? 1.0f : 0.0f, dinp, C);
    if (dweight) tf_gemm(1, 0, OC, C, BT, 1.0f, dout, OC, inp, C, (acc & TF_ACC_DW) ? 1.0f : 0.0f, dweight, C);
    if (dbias) {
        // each thread owns a slice of the columns and walks the rows contiguously
#pragma omp parallel if ((long)BT * OC >= 32768)
        {
            int nt = omp_get_num_threads(), id = omp_get_thread_num();
            int lo = (int)((long)OC * id / nt), hi = (int)((long)OC * (id + 1) / nt);
            if (!(acc & TF_ACC_DW)) memset(dbias + lo, 0, (size_t)(hi - lo) * sizeof(float));
            for (int r = 0; r < BT; r++) {
                const float *d = dout + (size_t)r * OC;
                for (int o = lo; o < hi; o++) dbias[o] += d[o];
            }
        }
    }
}

// ---- bf16 products (fp32 accumulation and output) ----------------------------------------------
// Widens rows x cols of a bf16 matrix (row stride ld, or its transpose) into out[rows, cols].
static float *widen_bf16(const uint16_t *X, int rows, int cols, int trans, int ld) {
    float *out = tf_alloc((size_t)rows * cols * sizeof(float), 0);
    if (!out) return NULL;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            uint32_t u = (uint32_t)X[trans ? (size_t)j * ld + i : (size_t)i * ld + j] << 16;
            memcpy(&out[(size_t)i * cols + j], &u, 4);
        }
    return out;
}

int tf_gemm_bf16(int trans_a, int trans_b, int M, int N, int K, float alpha, const uint16_t *A, int lda,
                 const uint16_t *B, int ldb, const float *bias, float beta, float *C, int ldc) {
    // Without AMX (where oneDNN's primitive is the fastest), A @ W^T with W stored [N, K] (a Linear's
    // weight: the forward of GPT-J and NeoX, the backward's dinp of GPT-2's Conv1D) for 32 to 128 rows
    // runs on gemm_bf16.c's kernel, which packs W a panel at a time: 1.0-1.4x oneDNN's primitive there
    // (AMD EPYC Zen 4, 2 threads), while oneDNN is as fast or faster below 32 rows, from 192 on, and
    // for W stored [K, N] (bench/bench_gemm_bf16.c; docs/benchmarks.md, "Measurements behind the
    // code's choices", gemm_bf16.c).
    static int onednn_only = -1;  // TF_GEMM_ONEDNN=1: oneDNN's primitive for every bf16 product
    int only = __atomic_load_n(&onednn_only, __ATOMIC_RELAXED);
    if (only < 0) {
        only = tf_env_flag("TF_GEMM_ONEDNN");
        __atomic_store_n(&onednn_only, only, __ATOMIC_RELAXED);
    }
    if (!only && !trans_a && trans_b && M >= GEMM_OURS_MIN_M && M <= GEMM_OURS_MAX_M && N > 0 && K > 0 &&
        !tf_have_amx_bf16() &&
        tf_gemm_bf16_avx512(trans_b, M, N, K, alpha, A, lda, B, ldb, bias, beta, C, ldc) == 0)
        return 0;
    return tf_gemm_bf16_onednn(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, bias, beta, C, ldc);
}

int tf_gemm_bf16_onednn(int trans_a, int trans_b, int M, int N, int K, float alpha, const uint16_t *A, int lda,
                        const uint16_t *B, int ldb, const float *bias, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return 0;
    if (K > 0 && gemm_primitive(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, bias, beta, C, ldc, 1))
        return 0;
    // fallback (inside OpenMP, K = 0, or oneDNN refused): widen both operands, then sgemm
    float *a = K > 0 ? widen_bf16(A, M, K, trans_a, lda) : NULL;
    float *b = K > 0 ? widen_bf16(B, K, N, trans_b, ldb) : NULL;
    if (K > 0 && (!a || !b)) {
        tf_free(a);
        tf_free(b);
        return -1;
    }
    if (bias) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)  // beta 0 does not read C (see tf_gemm)
                C[(size_t)i * ldc + j] = (beta != 0.0f ? beta * C[(size_t)i * ldc + j] : 0.0f) + bias[j];
        beta = 1.0f;
    }
    tf_gemm(0, 0, M, N, K, alpha, a, K, b, N, beta, C, ldc);
    tf_free(a);
    tf_free(b);
    return 0;
}

// ---- weight gradients stored through cache -------------------------------------------------------
// The whole product goes into scratch when it fits TN_STREAM_CAP floats (every per-layer gradient of
// GPT-2 124M does: one brgemm call, AMX), else blocks of up to 512 rows (the LM head's): a row block
// makes A = dout^T a strided transposed operand, which oneDNN computes with its gemm path rather than
// brgemm, but column blocks would transpose all of A again for every block, which measured slower
// (docs/benchmarks.md, "Measurements behind the code's choices", matmul.c).
enum { TN_STREAM_CAP = 1 << 22 };

int tf_gemm_tn_stream_rows(int M, int N) {
    if ((long)M * N <= TN_STREAM_CAP) return M;
    long rows = TN_STREAM_CAP / N;
    if (rows > 512) rows = 512;
    return rows > 0 ? (int)rows : 1;
}

int tf_gemm_bf16_tn_stream(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *B, int ldb, float *C,
                           float *scratch, size_t scratch_n, double *sumsq) {
    *sumsq = 0.0;
    if (M <= 0 || N <= 0) return 0;
    int rows = tf_gemm_tn_stream_rows(M, N);
    if ((size_t)rows * N > scratch_n) rows = (int)(scratch_n / (size_t)N);
    if (rows < 1) return -1;
    for (int r0 = 0; r0 < M; r0 += rows) {
        int r = M - r0 < rows ? M - r0 : rows;
        if (tf_gemm_bf16(1, 0, r, N, K, 1.0f, A + r0, lda, B, ldb, NULL, 0.0f, scratch, N)) return -1;
        *sumsq += tf_store_sumsq(C + (size_t)r0 * N, scratch, (size_t)r * N);
    }
    return 0;
}
