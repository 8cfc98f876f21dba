// fewrows_bf16.c — decode-size bf16 products: a few activation rows (M <= 16) against a big bf16
// weight matrix in its stored [N, K] layout, out[M, N] = bf16(inp[M, K]) @ W[N, K]^T + bias, on AMX
// where the CPU has it, else with AVX512-BF16's dot product (AMD Zen 4 and later; see the second
// half of this file).
//
// Why not oneDNN: at M = 1..16 a decode step streams every weight once and does little else, so the
// product is bound by how fast the weights arrive (a model's weights do not fit the last-level
// cache), and oneDNN's matmul primitive at these shapes is far from that speed (docs/benchmarks.md,
// "Measurements behind the code's choices", fewrows_bf16.c); this kernel has no primitive, reads
// the weights as they are stored and uses one OpenMP region per product.
//
// How: the product is computed transposed, out^T[N, M] = W[N, K] @ bf16(inp)^T[K, M], so that the
// weights are AMX's A operand, loaded straight from their rows (a tile = 16 weight rows x 32 k, one
// cache line per row), and the activations are the B operand, rounded to bf16 once per call into
// AMX's pair-interleaved layout (Bv[k/2][m][2]). Four output tiles (64 weight rows) are in flight at
// once so that the tile multiplies of one k-step do not wait on each other. Threads split the weight
// rows. What the tiles do not cover (the last N % 16 rows, the last K % 32 columns) is computed in
// fp32 from the same bf16 values. Accumulation is fp32 throughout.
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tf_common.h"
#include "tf_kernels.h"
#include "vecmath.h"

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#define FR_AMX 1
#endif

#ifndef PF_HINT
#define PF_HINT _MM_HINT_T1
#endif
enum { TILE_N = 16, TILE_K = 32, GROUP = 4 };
// below this many weight bytes a product runs on the calling thread (waking the other costs more)
#define FR_PAR_MIN_BYTES (1L << 17)

static inline float widen(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

#ifdef FR_AMX
static int amx_state;  // 0: not probed yet; 1: usable; -1: not

// AMX-BF16 needs the CPU (CPUID.(7,0):EDX bits 22 and 24), AVX-512 state enabled by the OS, and
// Linux's per-process permission for the tile data (arch_prctl ARCH_REQ_XCOMP_PERM, feature 18).
static int probe_amx(void) {
    if (tf_env_flag("TF_NO_AMX")) return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!(d & (1u << 22)) || !(d & (1u << 24))) return 0;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return 0;
    enum { ARCH_GET_XCOMP_PERM = 0x1022, ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    unsigned long perm = 0;
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) return 0;
    if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &perm) != 0) return 0;
    return (int)((perm >> XFEATURE_XTILEDATA) & 1);
}

// AMX's tile configuration (palette 1): rows and bytes per row of each of the 8 tiles
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg;

// Rows [n0, n1) of out^T (n1 - n0 a multiple of 16) over the first nkb * 32 columns of K; the tiles'
// sums go to ct[(n - n0) * M + m].
__attribute__((target("amx-tile,amx-bf16,avx512f")))
static void amx_rows(const uint16_t *W, size_t ldw, const uint16_t *bv, int M, int nkb, int n0, int n1,
                     float *out, int ldo, const float *bias, const uint16_t *atail, int K) {
    tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        int is_a = t >= 5;  // tiles 0-3: out^T blocks [16, M] fp32; 4: activations; 5-7: weights
        cfg.rows[t] = 16;
        cfg.colsb[t] = (uint16_t)(is_a ? 64 : M * 4);
    }
    _tile_loadconfig(&cfg);
    float ct[GROUP * TILE_N * TILE_N];
    long sw = (long)ldw * 2, sb = (long)M * 4;
    int kf = nkb * TILE_K;
    for (int n = n0; n < n1;) {
        int g = (n1 - n) / TILE_N >= GROUP ? GROUP : 1;
        const uint16_t *w = W + (size_t)n * ldw;
        _tile_zero(0);
        if (g == GROUP) {
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            // the next group's rows, prefetched in address order a slice per k-step (the tiles read
            // 64 rows at once, more streams than the hardware prefetcher follows)
            const char *pf = (const char *)(w + (size_t)GROUP * TILE_N * ldw);
            long pf_lines = n + 2 * GROUP * TILE_N <= n1 ? (long)GROUP * TILE_N * ldw * 2 / 64 : 0;
            long pf_step = (pf_lines + nkb - 1) / nkb, pf_next = 0;
            for (int kb = 0; kb < nkb; kb++) {
                const uint16_t *wk = w + (size_t)kb * TILE_K;
                for (long e = pf_next + pf_step < pf_lines ? pf_next + pf_step : pf_lines; pf_next < e; pf_next++)
                    _mm_prefetch(pf + pf_next * 64, PF_HINT);
                _tile_loadd(4, bv + (size_t)kb * TILE_K * M, sb);
                _tile_loadd(5, wk, sw);
                _tile_loadd(6, wk + 16 * ldw, sw);
                _tile_dpbf16ps(0, 5, 4);
                _tile_loadd(7, wk + 32 * ldw, sw);
                _tile_dpbf16ps(1, 6, 4);
                _tile_loadd(5, wk + 48 * ldw, sw);
                _tile_dpbf16ps(2, 7, 4);
                _tile_dpbf16ps(3, 5, 4);
            }
            _tile_stored(1, ct + 1 * TILE_N * M, sb);
            _tile_stored(2, ct + 2 * TILE_N * M, sb);
            _tile_stored(3, ct + 3 * TILE_N * M, sb);
        } else {
            for (int kb = 0; kb < nkb; kb++) {
                _tile_loadd(4, bv + (size_t)kb * TILE_K * M, sb);
                _tile_loadd(5, w + (size_t)kb * TILE_K, sw);
                _tile_dpbf16ps(0, 5, 4);
            }
        }
        _tile_stored(0, ct, sb);
        int rows = g * TILE_N;
        if (kf < K) {  // the columns past the last full tile
            for (int i = 0; i < rows; i++) {
                const uint16_t *wr = w + (size_t)i * ldw;
                for (int m = 0; m < M; m++) {
                    float s = 0.0f;
                    const uint16_t *ar = atail + (size_t)m * K;
                    for (int k = kf; k < K; k++) s += widen(wr[k]) * widen(ar[k]);
                    ct[i * M + m] += s;
                }
            }
        }
        for (int m = 0; m < M; m++) {  // out[m, n + i] = ct[i, m] (+ bias), contiguous stores
            float *o = out + (size_t)m * ldo + n;
            if (bias)
                for (int i = 0; i < rows; i++) o[i] = ct[i * M + m] + bias[n + i];
            else
                for (int i = 0; i < rows; i++) o[i] = ct[i * M + m];
        }
        n += rows;
    }
    _tile_release();
}
#endif

#ifdef FR_AMX
// ---- AVX512-BF16 without AMX: the dot form -------------------------------------------------------
// Both operands are contiguous along K (activation rows rounded to bf16, weight rows as stored), so
// one vdpbf16ps multiplies 32 k of an activation row with 32 k of a weight row into 16 fp32 partial
// sums. Each weight row is read once, in address order, against up to DOT_MR activation rows at a
// time (once in all at M <= 4; the activations stay in L1/L2), with four accumulators a row so that
// vdpbf16ps's latency stays off the stream, and DOT_PF_BYTES prefetched ahead, so that the stream
// runs on into the next rows and pages where the hardware prefetcher stops at each 4 KB page. Whole
// rows a thread, in address order, in runs as long as the balance between the threads allows, is
// what streams fastest: on an AMD EPYC Zen 4 VM (2 threads, 6 GB of weight rows of K = 4096 in
// memory, twelve rotations of the order) this form with the guided schedule below ran 1.31x as fast
// as the earlier tile of 6 weight rows read side by side in 256 KB runs (docs/large-models.md).
enum { DOT_MR = 4 };
#ifndef DOT_PF_BYTES
#define DOT_PF_BYTES 4096
#endif
// the least weight bytes a thread takes at a time (OpenMP's guided schedule: big runs first, then
// smaller ones, so that neither thread waits long for the other at a product's end)
#ifndef DOT_RUN_BYTES
#define DOT_RUN_BYTES (64u << 10)
#endif
static int dot_state;  // 0: not probed yet; 1: usable; -1: not

// AVX512-BF16 needs CPUID.(7,1):EAX bit 5 and AVX-512 (F, BW) enabled by the OS; TF_NO_AVX512BF16
// turns the path off (tests, comparisons).
static int probe_dot(void) {
    if (tf_env_flag("TF_NO_AVX512BF16")) return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d) || !(a & (1u << 5))) return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

int tf_have_avx512_bf16(void) {
    int s = __atomic_load_n(&dot_state, __ATOMIC_ACQUIRE);
    if (!s) {
        s = probe_dot() ? 1 : -1;
        __atomic_store_n(&dot_state, s, __ATOMIC_RELEASE);
    }
    return s == 1;
}

#define DOT_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16"), always_inline)) static inline

// out[0..mr) (stride ldo) = A[mr, K] (row stride lda) @ w[K] + bias, for one weight row w and
// mr <= DOT_MR a constant after inlining; the last K % 128 columns 32 at a time, the last under a mask.
DOT_TARGET void dot_row(int mr, const uint16_t *A, size_t lda, const uint16_t *w, int K, float *out, size_t ldo,
                        float bias) {
    __m512 acc[DOT_MR][4];
    _Pragma("GCC unroll 4") for (int i = 0; i < mr; i++)
        _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 128 <= K; k += 128) {
        const char *pf = (const char *)(w + k) + DOT_PF_BYTES;  // a hint: past the matrix's end it is dropped
        _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) _mm_prefetch(pf + 64 * j, _MM_HINT_T0);
        __m512bh wv[4];
        _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) wv[j] = (__m512bh)_mm512_loadu_si512(w + k + 32 * j);
        _Pragma("GCC unroll 4") for (int i = 0; i < mr; i++)
            _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) acc[i][j] = _mm512_dpbf16_ps(
                acc[i][j], (__m512bh)_mm512_loadu_si512(A + (size_t)i * lda + k + 32 * j), wv[j]);
    }
    for (; k < K; k += 32) {
        __mmask32 msk = K - k >= 32 ? (__mmask32)~0u : (__mmask32)((1u << (K - k)) - 1);
        __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(msk, w + k);
        _Pragma("GCC unroll 4") for (int i = 0; i < mr; i++) acc[i][0] = _mm512_dpbf16_ps(
            acc[i][0], (__m512bh)_mm512_maskz_loadu_epi16(msk, A + (size_t)i * lda + k), wv);
    }
    _Pragma("GCC unroll 4") for (int i = 0; i < mr; i++) out[(size_t)i * ldo] =
        _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[i][0], acc[i][1]), _mm512_add_ps(acc[i][2], acc[i][3]))) +
        bias;
}

// Weight row n against all M activation rows (arow: [M, K] bf16, row stride K): out[m, n].
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void dot_column(const uint16_t *w, const uint16_t *arow, int M, int K, int n, float *out, int ldo, float bias) {
    for (int m = 0; m < M; m += DOT_MR) {
        const uint16_t *a = arow + (size_t)m * K;
        float *o = out + (size_t)m * ldo + n;
        switch (M - m < DOT_MR ? M - m : DOT_MR) {  // one constant-shaped instance per mr
        case 1: dot_row(1, a, (size_t)K, w, K, o, (size_t)ldo, bias); break;
        case 2: dot_row(2, a, (size_t)K, w, K, o, (size_t)ldo, bias); break;
        case 3: dot_row(3, a, (size_t)K, w, K, o, (size_t)ldo, bias); break;
        default: dot_row(4, a, (size_t)K, w, K, o, (size_t)ldo, bias); break;
        }
    }
}

static int dot_few_rows(float *out, int ldo, const float *inp, int ldi, const uint16_t *W, int ldw,
                        const float *bias, int M, int K, int N, uint16_t *scratch) {
    uint16_t *arow = scratch;  // [M, K], rounded as tf_to_bf16
    for (int m = 0; m < M; m++) {
        const float *a = inp + (size_t)m * ldi;
        uint16_t *ar = arow + (size_t)m * K;
        for (int k = 0; k < K; k++) ar[k] = vm_bf16(a[k]);
    }
    int chunk = (int)(DOT_RUN_BYTES / ((size_t)K * 2));
    if (chunk < 1) chunk = 1;
    int par = (long)N * K * 2 >= FR_PAR_MIN_BYTES && !omp_in_parallel() && N > chunk;
#pragma omp parallel for schedule(guided, chunk) if (par)
    for (int n = 0; n < N; n++) dot_column(W + (size_t)n * ldw, arow, M, K, n, out, ldo, bias ? bias[n] : 0.0f);
    return 0;
}
#endif

#ifndef FR_AMX
int tf_have_avx512_bf16(void) { return 0; }
#endif

int tf_have_amx_bf16(void) {
#ifdef FR_AMX
    int s = __atomic_load_n(&amx_state, __ATOMIC_ACQUIRE);
    if (!s) {
        s = probe_amx() ? 1 : -1;
        __atomic_store_n(&amx_state, s, __ATOMIC_RELEASE);
    }
    return s == 1;
#else
    return 0;
#endif
}

size_t tf_few_rows_scratch(int M, int K) { return (size_t)M * (((size_t)K + 1) / 2 * 2 + (size_t)K); }

int tf_matmul_bf16_few_rows(float *out, int ldo, const float *inp, int ldi, const uint16_t *W, int ldw,
                            const float *bias, int M, int K, int N, uint16_t *scratch) {
    if (M < 1 || M > TF_FEW_ROWS_MAX || K < 1 || N < 1) return -1;
#ifdef FR_AMX
    if (!tf_have_amx_bf16())
        return tf_have_avx512_bf16() ? dot_few_rows(out, ldo, inp, ldi, W, ldw, bias, M, K, N, scratch) : -1;
    // scratch: bv[(K+1)/2][M][2] (pairs of k per row, the odd K's last pair padded with 0), then the
    // rounded rows again row-major [M][K] for the scalar tails
    int kp = (K + 1) / 2;
    uint16_t *bv = scratch, *arow = scratch + (size_t)kp * 2 * M;
    for (int m = 0; m < M; m++) {
        const float *a = inp + (size_t)m * ldi;
        uint16_t *ar = arow + (size_t)m * K;
        for (int k = 0; k < K; k++) ar[k] = vm_bf16(a[k]);
        for (int k = 0; k < K; k++) bv[((size_t)(k >> 1) * M + m) * 2 + (k & 1)] = ar[k];
        if (K & 1) bv[((size_t)(K >> 1) * M + m) * 2 + 1] = 0;
    }
    int nkb = K / TILE_K, nfull = N / TILE_N * TILE_N;
    // the tiles' part: blocks of 16 weight rows, split between the threads in runs of GROUP blocks
    if (nkb > 0 && nfull > 0) {
        int nblk = nfull / TILE_N;
        int par = (long)nfull * K * 2 >= FR_PAR_MIN_BYTES && !omp_in_parallel();
#pragma omp parallel if (par)
        {
            int nt = omp_get_num_threads(), id = omp_get_thread_num();
            int ngrp = (nblk + GROUP - 1) / GROUP;
            int g0 = (int)((long)ngrp * id / nt), g1 = (int)((long)ngrp * (id + 1) / nt);
            int b0 = g0 * GROUP, b1 = g1 * GROUP < nblk ? g1 * GROUP : nblk;
            if (b1 > b0)
                amx_rows(W, (size_t)ldw, bv, M, nkb, b0 * TILE_N, b1 * TILE_N, out, ldo, bias, arow, K);
        }
    }
    // rows the tiles did not cover (all of them when K < 32), in fp32 on the bf16 values
    int nstart = nkb > 0 ? nfull : 0;
    for (int n = nstart; n < N; n++) {
        const uint16_t *wr = W + (size_t)n * ldw;
        for (int m = 0; m < M; m++) {
            const uint16_t *ar = arow + (size_t)m * K;
            float s = 0.0f;
            for (int k = 0; k < K; k++) s += widen(wr[k]) * widen(ar[k]);
            out[(size_t)m * ldo + n] = s + (bias ? bias[n] : 0.0f);
        }
    }
    return 0;
#else
    (void)out; (void)ldo; (void)inp; (void)ldi; (void)W; (void)ldw; (void)bias; (void)scratch;
    return -1;
#endif
}
