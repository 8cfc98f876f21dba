// gemm_bf16.c — bf16 products of many rows against a weight matrix in its stored layout, with
// AVX512-BF16's pair dot product (vdpbf16ps; AMD Zen 4 and later), for CPUs without AMX:
//   C[M, N] = alpha * A[M, K] @ op(B) (+ bias) + beta * C,  A bf16 [M, K], op(B) = B^T (B stored
//   [N, K], a Linear's weight: the forward's inp @ W^T) or B (stored [K, N]: a Conv1D's weight, or
//   the backward's dout @ W).
//
// Why not oneDNN: at the row counts of LoRA training on a big model (B1 T64: 64 rows) oneDNN 2.6's
// matmul primitive on such a CPU stays well under the speed it reaches at 256 rows and more, and
// this kernel is 1.0-1.4x faster there for B stored [N, K]; tf_gemm_bf16 takes it only where it
// measured faster (docs/benchmarks.md, "Measurements behind the code's choices", gemm_bf16.c).
// Each thread packs 32 columns of B at a time (KC values of k), which then stay in its L1/L2 while
// every row of A runs over them:
//
//   for each panel of 32 columns (threads split the panels)
//     for each block of KC values of k
//       pack op(B)[k block, 32 columns] into bp[KC/2][32][2]   (vdpbf16ps's pair layout)
//       for each tile of MR rows: acc[MR][32] += A[rows, k block] @ bp    (registers only)
//       C[rows, panel] = alpha * acc (+ bias + beta * C on the first block; += on the others)
//
// The register tile is 12 rows x 32 columns: 24 accumulators, two loads of B and a broadcast pair of
// A per row and pair of k. Accumulation is fp32; only the order of the sums differs from oneDNN's.
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "tf_common.h"
#include "tf_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GB_AVX512 1
#endif

// columns per panel, rows per tile, k per packed block (even), panels packed together
enum { NR = 32, MR = 12, KC = 512, GROUP = 4 };

#ifdef GB_AVX512
#define GB_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define GB_INLINE __attribute__((target("avx512f,avx512bw,avx512bf16"), always_inline)) static inline

static inline __mmask32 lowmask32(int n) { return n >= 32 ? 0xFFFFFFFFu : (((__mmask32)1 << n) - 1); }
static inline __mmask16 lowmask16(int n) { return n >= 16 ? 0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }

// In place: r[16] rows of 16 dwords -> r[c] = column c of them (a 16 x 16 transpose of 32-bit values).
GB_INLINE void transpose16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 4; g++) {  // rows 4g .. 4g+3: u[4g + c] holds column 4l + c in its lane l
        u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
        u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
    }
    for (int c = 0; c < 4; c++) {
        __m512i v = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88), w = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xdd);
        __m512i x = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88), y = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xdd);
        r[c] = _mm512_shuffle_i32x4(v, x, 0x88);
        r[8 + c] = _mm512_shuffle_i32x4(v, x, 0xdd);
        r[4 + c] = _mm512_shuffle_i32x4(w, y, 0x88);
        r[12 + c] = _mm512_shuffle_i32x4(w, y, 0xdd);
    }
}

// bp[kp][32][2] = op(B)[k0 + 2p + e][n0 + j] for pairs p < kp = (kc + 1) / 2, j < 32, e < 2, where
// op(B)[k][n] = B[n * ldb + k] (B stored [N, K]); 0 for j >= nc and for k >= k0 + kc.
GB_TARGET static void pack_nk(uint16_t *bp, const uint16_t *B, size_t ldb, int n0, int nc, int k0, int kc) {
    for (int kk = 0; kk < kc; kk += 32) {  // 16 pairs of k at a time
        __mmask32 km = lowmask32(kc - kk);
        int np = (kc - kk + 1) / 2 < 16 ? (kc - kk + 1) / 2 : 16;
        for (int j0 = 0; j0 < NR; j0 += 16) {
            __m512i r[16];
            for (int i = 0; i < 16; i++)
                r[i] = j0 + i < nc ? _mm512_maskz_loadu_epi16(km, B + (size_t)(n0 + j0 + i) * ldb + k0 + kk)
                                   : _mm512_setzero_si512();
            transpose16(r);
            for (int p = 0; p < np; p++) _mm512_store_si512(bp + ((size_t)(kk / 2 + p) * NR + j0) * 2, r[p]);
        }
    }
}

// The same for op(B)[k][n] = B[k * ldb + n] (B stored [K, N]), for np panels at once (panel j at
// bp + j * per, its columns n0 + 32 j ..; nc columns in all): rows k and k + 1 interleaved, each row
// read left to right across the panels (a panel alone would read one cache line of each row).
GB_TARGET static void pack_kn(uint16_t *bp, size_t per, int np, const uint16_t *B, size_t ldb, int n0, int nc,
                              int k0, int kc) {
    // idx_lo: pairs (row k, row k+1) of columns 0..15; idx_hi: of columns 16..31
    static const uint16_t lo[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                    8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
    __m512i idx_lo = _mm512_loadu_si512(lo), idx_hi = _mm512_add_epi16(idx_lo, _mm512_set1_epi16(16));
    for (int p = 0; p < (kc + 1) / 2; p++) {
        const uint16_t *row = B + (size_t)(k0 + 2 * p) * ldb + n0;
        int two = 2 * p + 1 < kc;
        for (int j = 0; j < np; j++) {
            __mmask32 cm = lowmask32(nc - NR * j);
            __m512i a = _mm512_maskz_loadu_epi16(cm, row + NR * j);
            __m512i b = two ? _mm512_maskz_loadu_epi16(cm, row + ldb + NR * j) : _mm512_setzero_si512();
            uint16_t *dst = bp + (size_t)j * per + (size_t)p * NR * 2;
            _mm512_store_si512(dst, _mm512_permutex2var_epi16(a, idx_lo, b));
            _mm512_store_si512(dst + 32, _mm512_permutex2var_epi16(a, idx_hi, b));
        }
    }
}

// C[mr, nc] (row stride ldc) = or += alpha * A[mr, kc] @ bp (see gemm_block); mr <= MR a constant
// after inlining, so that the 2 * mr accumulators stay in registers.
GB_INLINE void tile(int mr, const uint16_t *A, size_t lda, const uint16_t *bp, int kc, float *C, size_t ldc,
                    int nc, float alpha, float beta, const float *bias, int first) {
    __m512 acc[MR][2];
    for (int i = 0; i < mr; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    int kp = kc / 2;
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(bp + (size_t)p * 64);
        __m512bh b1 = (__m512bh)_mm512_load_si512(bp + (size_t)p * 64 + 32);
        _Pragma("GCC unroll 12") for (int i = 0; i < mr; i++) {
            uint32_t pair;
            memcpy(&pair, A + (size_t)i * lda + 2 * p, 4);
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)pair);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
        }
    }
    if (kc & 1) {  // the last k alone: its pair's other half is 0 in bp and must not be read from A
        __m512bh b0 = (__m512bh)_mm512_load_si512(bp + (size_t)kp * 64);
        __m512bh b1 = (__m512bh)_mm512_load_si512(bp + (size_t)kp * 64 + 32);
        for (int i = 0; i < mr; i++) {
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)A[(size_t)i * lda + 2 * kp]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
        }
    }
    __mmask16 m[2] = {lowmask16(nc), lowmask16(nc - 16)};
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int h = 0; h < 2; h++) {
        if (!m[h]) continue;
        __m512 bias_h = first && bias ? _mm512_maskz_loadu_ps(m[h], bias + 16 * h) : _mm512_setzero_ps();
        for (int i = 0; i < mr; i++) {
            float *c = C + (size_t)i * ldc + 16 * h;
            __m512 v = _mm512_fmadd_ps(va, acc[i][h], bias_h);
            if (!first) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[h], c));
            else if (beta != 0.0f) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m[h], c), v);  // beta 0 reads nothing
            _mm512_mask_storeu_ps(c, m[h], v);
        }
    }
}

// The part of B the next packed block reads (rows of row_bytes at a stride of ld_bytes), and which of
// its cache lines, [line0, line1), to prefetch while this block runs.
typedef struct {
    const char *base;
    size_t ld_bytes;
    int rows, row_bytes, line0, line1;
} next_block;

// Every row of A against one packed block: tiles of at most MR rows, as even as they go. Meanwhile
// the lines of the next block of B are prefetched into L2, a share with each tile: B comes from
// memory (a model's weights), and the packing would otherwise wait on each of its rows in turn.
GB_TARGET static void gemm_block(int M, const uint16_t *A, size_t lda, const uint16_t *bp, int kc, float *C,
                                 size_t ldc, int nc, float alpha, float beta, const float *bias, int first,
                                 const next_block *nx) {
    int ntile = (M + MR - 1) / MR;
    int lines_per_row = nx ? (nx->row_bytes + 63) / 64 : 1, lines = nx ? nx->line1 - nx->line0 : 0;
    int done = nx ? nx->line0 : 0;
    for (int t = 0, m = 0; t < ntile; t++) {
        int mr = (M - m) / (ntile - t) + ((M - m) % (ntile - t) != 0);  // even tiles: 64 rows = 6 x 11 or 10
        for (int until = nx ? nx->line0 + (int)((long)lines * (t + 1) / ntile) : 0; done < until; done++)
            _mm_prefetch(nx->base + (size_t)(done / lines_per_row) * nx->ld_bytes + (size_t)(done % lines_per_row) * 64,
                         _MM_HINT_T1);
        const uint16_t *a = A + (size_t)m * lda;
        float *c = C + (size_t)m * ldc;
        m += mr;
#define GB_CASE(R) case R: tile(R, a, lda, bp, kc, c, ldc, nc, alpha, beta, bias, first); break;
        switch (mr) {
            GB_CASE(1) GB_CASE(2) GB_CASE(3) GB_CASE(4) GB_CASE(5) GB_CASE(6)
            GB_CASE(7) GB_CASE(8) GB_CASE(9) GB_CASE(10) GB_CASE(11) GB_CASE(12)
        }
#undef GB_CASE
    }
}
#endif

int tf_gemm_bf16_avx512(int trans_b, int M, int N, int K, float alpha, const uint16_t *A, int lda,
                        const uint16_t *B, int ldb, const float *bias, float beta, float *C, int ldc) {
#ifdef GB_AVX512
    if (M < 1 || N < 1 || K < 1 || !tf_have_avx512_bf16()) return -1;
    int npan = (N + NR - 1) / NR, kcmax = K < KC ? K : KC;
    int par = !omp_in_parallel() && npan > 1 && (long)M * N * K >= (1L << 20);
    int nt = par ? omp_get_max_threads() : 1;
    if (nt > npan) nt = npan;
    size_t per = (size_t)(kcmax + 1) / 2 * NR * 2;  // bf16 values of one packed panel block
    // B stored [K, N] is packed a group of panels at a time, so that each of its rows is read a few cache
    // lines at once; B stored [N, K] a panel at a time (its rows are read KC values at once anyway), which
    // keeps the L2 for A's block and C's tiles
    int group = trans_b ? 1 : GROUP;
    uint16_t *packs = tf_alloc((size_t)nt * group * per * sizeof(uint16_t), 0);
    if (!packs) return -1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int id = omp_get_thread_num(), nth = omp_get_num_threads();
        uint16_t *bp = packs + (size_t)id * group * per;
        int p0 = (int)((long)npan * id / nth), p1 = (int)((long)npan * (id + 1) / nth);
        for (int g0 = p0; g0 < p1; g0 += group) {  // this thread's panels, a group at a time
            int np = p1 - g0 < group ? p1 - g0 : group, n0 = g0 * NR;
            int nc = N - n0 < np * NR ? N - n0 : np * NR;
            for (int k0 = 0; k0 < K; k0 += KC) {
                int kc = K - k0 < KC ? K - k0 : KC;
                if (trans_b)
                    for (int j = 0; j < np; j++) {
                        int n = n0 + NR * j;
                        pack_nk(bp + (size_t)j * per, B, (size_t)ldb, n, N - n < NR ? N - n : NR, k0, kc);
                    }
                else
                    pack_kn(bp, per, np, B, (size_t)ldb, n0, nc, k0, kc);
                // the block after this one (the next k of this group, else the next group's first),
                // prefetched a share at a time while this one's panels run
                int nn0 = k0 + KC < K ? n0 : n0 + np * NR, nk0 = k0 + KC < K ? k0 + KC : 0;
                int nnp = k0 + KC < K ? np : (p1 - g0 - np < group ? p1 - g0 - np : group);
                next_block nx = {0};
                if (nnp > 0) {
                    int nnc = N - nn0 < nnp * NR ? N - nn0 : nnp * NR, nkc = K - nk0 < KC ? K - nk0 : KC;
                    nx = trans_b ? (next_block){(const char *)(B + (size_t)nn0 * ldb + nk0), (size_t)ldb * 2, nnc, nkc * 2, 0, 0}
                                 : (next_block){(const char *)(B + (size_t)nk0 * ldb + nn0), (size_t)ldb * 2, nkc, nnc * 2, 0, 0};
                }
                int lines = nx.rows * ((nx.row_bytes + 63) / 64);
                for (int j = 0; j < np; j++) {
                    int n = n0 + NR * j;
                    nx.line0 = (int)((long)lines * j / np);
                    nx.line1 = (int)((long)lines * (j + 1) / np);
                    gemm_block(M, A + k0, (size_t)lda, bp + (size_t)j * per, kc, C + n, (size_t)ldc,
                               N - n < NR ? N - n : NR, alpha, beta, bias ? bias + n : NULL, k0 == 0,
                               nnp > 0 ? &nx : NULL);
                }
            }
        }
    }
    tf_free(packs);
    return 0;
#else
    (void)trans_b; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda; (void)B; (void)ldb; (void)bias;
    (void)beta; (void)C; (void)ldc;
    return -1;
#endif
}
