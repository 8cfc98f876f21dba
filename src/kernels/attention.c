// attention.c — causal multi-head self-attention over a padded batch, forward and backward.
//
// Each (batch row, head) pair is an independent problem on strided views of qkv: Q, K, V are
// [T, hs] with row stride 3C. Its products are small (T x T x hs; 64 x 64 x 64 at GPT-2 B4 T64), so
// they are computed here in register tiles of RB rows by VB columns (GCC vector types: AVX-512 where
// the build has it, narrower vectors elsewhere) rather than through a GEMM library call per block,
// whose fixed cost dominated at these sizes (figures: docs/benchmarks.md, "Measurements behind the
// code's choices", attention.c). Causality skips work: a tile of rows i0..i0+RB-1 only computes
// the columns 0..i0+RB-1. Accumulation order within a dot product is sequential over its terms.
// The backward of long sequences (T > TILED_BACKWARD_MAX_T) keeps the sgemm blocks, faster there.
// The kernels allocate nothing: each thread's scratch is a slice of a workspace the caller allocated
// (and checked) beforehand, sized by tf_attention_workspace_floats.
#include <assert.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "tf_common.h"
#include "tf_kernels.h"
#include "vecmath.h"

enum { RB = 8, VB = 32 };

typedef float v16 __attribute__((vector_size(64)));
// 16 floats at any float-aligned address (unaligned vector loads and stores)
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));
#define LD16(p) ((v16)(*(const v16u *)(p)))
#define ST16(p, v) (*(v16u *)(p) = (v))

static inline int round_up(int n, int m) { return (n + m - 1) / m * m; }

// yt[d, j] = y[j, d] for j < n, d < hs (y row stride ldy); columns n..ldt-1 of yt are zero.
// yt: [hs, ldt], ldt a multiple of VB. In 16 x 16 blocks: writing yt down its columns one float at a
// time (rows ldt floats apart, 1 KB at T = 256) kept a few cache sets busy with conflict misses.
static void pack_transposed(float *yt, int ldt, const float *y, int ldy, int n, int hs) {
    enum { B = 16 };
    for (int j0 = 0; j0 < n; j0 += B)
        for (int d0 = 0; d0 < hs; d0 += B) {
            int nj = n - j0 < B ? n - j0 : B, nd = hs - d0 < B ? hs - d0 : B;
            float blk[B][B];
            for (int j = 0; j < nj; j++) memcpy(blk[j], y + (size_t)(j0 + j) * ldy + d0, (size_t)nd * sizeof(float));
            for (int d = 0; d < nd; d++) {
                float *row = yt + (size_t)(d0 + d) * ldt + j0;
                for (int j = 0; j < nj; j++) row[j] = blk[j][d];
            }
        }
    for (int d = 0; d < hs; d++) memset(yt + (size_t)d * ldt + n, 0, (size_t)(ldt - n) * sizeof(float));
}

// s[r, j] = scale * sum_d x[r, d] yt[d, j] for r < nr (<= RB) and j < n, n a multiple of VB.
// x: [nr, hs] row stride ldx; yt: [hs, ldt] (pack_transposed, ldt >= n); s: row stride lds >= n.
static void rows_dot_packed(float *s, int lds, const float *x, int ldx, int nr, const float *yt, int ldt, int n,
                            int hs, float scale) {
    const float *xr[RB];
    for (int r = 0; r < RB; r++) xr[r] = x + (size_t)(r < nr ? r : nr - 1) * ldx;  // spare rows repeat the last
    for (int j = 0; j < n; j += VB) {
        v16 acc[RB][2] = {{{0}}};
        for (int d = 0; d < hs; d++) {
            const float *yr = yt + (size_t)d * ldt + j;
            v16 y0 = LD16(yr), y1 = LD16(yr + 16);
            for (int r = 0; r < RB; r++) {
                acc[r][0] += xr[r][d] * y0;
                acc[r][1] += xr[r][d] * y1;
            }
        }
        for (int r = 0; r < nr; r++) {
            ST16(s + (size_t)r * lds + j, acc[r][0] * scale);
            ST16(s + (size_t)r * lds + j + 16, acc[r][1] * scale);
        }
    }
}

// o[r, 0:VB] = a[r] (acc 0) or += a[r] (acc 1) for the tile's rows r < nr; o row stride ldo.
static inline void store_tile(float *o, int ldo, int nr, v16 a[RB][2], int acc) {
    for (int r = 0; r < nr; r++) {
        float *or = o + (size_t)r * ldo;
        ST16(or, acc ? LD16(or) + a[r][0] : a[r][0]);
        ST16(or + 16, acc ? LD16(or + 16) + a[r][1] : a[r][1]);
    }
}

// o[r, :] (+)= sum_{j < n} p[r, j] y[j, :] for r < nr (<= RB); hs columns; acc 0 overwrites o.
// p row stride ldp, y row stride ldy, o row stride ldo.
static void rows_times(float *o, int ldo, int nr, const float *p, int ldp, int n, const float *y, int ldy, int hs,
                       int acc) {
    const float *pr[RB];
    for (int r = 0; r < RB; r++) pr[r] = p + (size_t)(r < nr ? r : nr - 1) * ldp;
    int d0 = 0;
    for (; d0 + VB <= hs; d0 += VB) {
        v16 a[RB][2] = {{{0}}};
        for (int j = 0; j < n; j++) {
            const float *yr = y + (size_t)j * ldy + d0;
            v16 y0 = LD16(yr), y1 = LD16(yr + 16);
            for (int r = 0; r < RB; r++) {
                a[r][0] += pr[r][j] * y0;
                a[r][1] += pr[r][j] * y1;
            }
        }
        store_tile(o + d0, ldo, nr, a, acc);
    }
    for (; d0 < hs; d0++)  // columns past the last full tile
        for (int r = 0; r < nr; r++) {
            float sum = 0.0f;
            for (int j = 0; j < n; j++) sum += pr[r][j] * y[(size_t)j * ldy + d0];
            float *or = o + (size_t)r * ldo + d0;
            *or = acc ? *or + sum : sum;
        }
}

// o[r, :] (+)= sum_{i = j0 .. n-1} p[i, j0 + r] y[i, :] for r < nr (<= RB): the transposed product of rows
// j0.. of a lower-triangular p (p[i, j] = 0 for j > i, so the sum starts at i = j0). hs columns; acc 0
// overwrites o. Inlined twice (nr == RB, the common case, without the per-row test; and the last tile).
static inline __attribute__((always_inline)) void cols_times_n(float *o, int ldo, int nr, const float *p, int ldp,
                                                               int j0, int n, const float *y, int ldy, int hs,
                                                               int acc) {
    int d0 = 0;
    for (; d0 + VB <= hs; d0 += VB) {
        v16 a[RB][2] = {{{0}}};
        for (int i = j0; i < n; i++) {
            const float *yr = y + (size_t)i * ldy + d0, *pi = p + (size_t)i * ldp + j0;
            v16 y0 = LD16(yr), y1 = LD16(yr + 16);
            for (int r = 0; r < RB; r++) {
                float pv = r < nr ? pi[r] : 0.0f;
                a[r][0] += pv * y0;
                a[r][1] += pv * y1;
            }
        }
        store_tile(o + d0, ldo, nr, a, acc);
    }
    for (; d0 < hs; d0++)
        for (int r = 0; r < nr; r++) {
            float sum = 0.0f;
            for (int i = j0; i < n; i++) sum += p[(size_t)i * ldp + j0 + r] * y[(size_t)i * ldy + d0];
            float *or = o + (size_t)r * ldo + d0;
            *or = acc ? *or + sum : sum;
        }
}

static void cols_times(float *o, int ldo, int nr, const float *p, int ldp, int j0, int n, const float *y, int ldy,
                       int hs, int acc) {
    if (nr == RB)
        cols_times_n(o, ldo, RB, p, ldp, j0, n, y, ldy, hs, acc);
    else
        cols_times_n(o, ldo, nr, p, ldp, j0, n, y, ldy, hs, acc);
}

// Prefetches rows [0, n) of `parts` strided matrices x + i * part_off ([n, hs], row stride ld) into L2:
// the next (batch row, head) pair's operands, whose rows lie 3C floats apart (a page or more at GPT-2
// sizes, where the hardware prefetchers do not follow).
static void prefetch_rows(const float *x, int ld, int n, int hs, int parts, int part_off) {
    for (int p = 0; p < parts; p++)
        for (int j = 0; j < n; j++) {
            const char *row = (const char *)(x + (size_t)p * part_off + (size_t)j * ld);
            for (int c = 0; c < hs * (int)sizeof(float); c += 64) __builtin_prefetch(row + c, 0, 2);
        }
}

// Horizontal max and sum of 16 lanes, as a tree
static inline float hmax16(const float *x) {
    float m[8];
    for (int l = 0; l < 8; l++) m[l] = x[l] > x[l + 8] ? x[l] : x[l + 8];
    for (int w = 4; w; w /= 2)
        for (int l = 0; l < w; l++) m[l] = m[l] > m[l + w] ? m[l] : m[l + w];
    return m[0];
}

static inline float hsum16(const float *x) {
    float m[8];
    for (int l = 0; l < 8; l++) m[l] = x[l] + x[l + 8];
    for (int w = 4; w; w /= 2)
        for (int l = 0; l < w; l++) m[l] += m[l + w];
    return m[0];
}

// Row t of a score tile becomes its softmax over columns 0..t; columns t+1..w-1 become 0.
// s has w >= t + 1 columns, w a multiple of 16 (the tile's padded width).
static void softmax_tile_row(float *s, int t, int w) {
    int e = (t + 16) / 16 * 16;  // the 16-column chunks that hold columns 0..t
    float m16[16], s16[16] = {0};
    for (int l = 0; l < 16; l++) m16[l] = -INFINITY;
    for (int c = 0; c < e; c += 16)
#pragma omp simd
        for (int l = 0; l < 16; l++) {
            float x = c + l <= t ? s[c + l] : -INFINITY;
            m16[l] = x > m16[l] ? x : m16[l];
        }
    float mx = hmax16(m16);
    for (int c = 0; c < e; c += 16)
#pragma omp simd
        for (int l = 0; l < 16; l++) {
            float x = c + l <= t ? vm_expf(s[c + l] - mx) : 0.0f;
            s[c + l] = x;
            s16[l] += x;
        }
    float inv = 1.0f / hsum16(s16);
    for (int c = 0; c < e; c += 16)
#pragma omp simd
        for (int l = 0; l < 16; l++) s[c + l] *= inv;
    if (e < w) memset(s + e, 0, (size_t)(w - e) * sizeof(float));
}

// Softmax backward of row t in place: d[j] = p[j] (d[j] - sum_k p[k] d[k]) scale for j <= t, 0 for
// t < j < w. p is the row of probabilities (t + 1 values are read); d has w columns (a multiple of 16).
static void softmax_backward_tile_row(float *d, const float *p, int t, int w, float scale) {
    int full = (t + 1) / 16 * 16, e = (t + 16) / 16 * 16;
    float pl[16] = {0}, s16[16] = {0};
    memcpy(pl, p + full, (size_t)(t + 1 - full) * sizeof(float));  // the last chunk, zero past t
    for (int c = 0; c < e; c += 16) {
        const float *pc = c < full ? p + c : pl;
#pragma omp simd
        for (int l = 0; l < 16; l++) s16[l] += pc[l] * d[c + l];
    }
    float dot = hsum16(s16);
    for (int c = 0; c < e; c += 16) {
        const float *pc = c < full ? p + c : pl;
#pragma omp simd
        for (int l = 0; l < 16; l++) d[c + l] = pc[l] * (d[c + l] - dot) * scale;
    }
    if (e < w) memset(d + e, 0, (size_t)(w - e) * sizeof(float));
}

// The (batch row, head) pairs are split evenly and in order between the threads, so each thread
// prefetches the operands of its next pair: qkv's rows, and in the backward dqkv's and dout's (else NULL).
static void prefetch_pair(int pair, int NH, int T, int C, const float *qkv, const float *dqkv, const float *dout) {
    int b = pair / NH, h = pair % NH, hs = C / NH;
    size_t base = (size_t)b * T * 3 * C + (size_t)h * hs;
    prefetch_rows(qkv + base, 3 * C, T, hs, 3, C);
    if (dqkv) prefetch_rows(dqkv + base, 3 * C, T, hs, 3, C);
    if (dout) prefetch_rows(dout + (size_t)b * T * C + (size_t)h * hs, C, T, hs, 1, 0);
}

enum { TILED_BACKWARD_MAX_T = 384, BLOCK_ROWS = 64 };

// One thread's scratch, in floats: the forward's K^T [hs, ldt] and score tile [RB, ldt]; the tiled
// backward's dS [T, ldt] and V^T [hs, ldt]; the blocked backward's dP [T, T] (T > TILED_BACKWARD_MAX_T).
// Rounded up to 16 floats so that every thread's slice starts on a 64-byte line.
static size_t thread_floats(int T, int C, int NH) {
    size_t hs = (size_t)(C / NH), ldt = (size_t)round_up(T, VB);
    size_t fwd = (hs + RB) * ldt, bwd = ((size_t)T + hs) * ldt;
    size_t blk = T > TILED_BACKWARD_MAX_T ? (size_t)T * T : 0;
    size_t n = fwd > bwd ? fwd : bwd;
    n = n > blk ? n : blk;
    return (n + 15) / 16 * 16;
}

size_t tf_attention_workspace_floats(int T, int C, int NH, int nthreads) {
    return (size_t)(nthreads > 0 ? nthreads : 1) * thread_floats(T, C, NH);
}

// How many threads a workspace of work_floats serves (at most OpenMP's maximum, at least 1: the caller
// must pass at least one thread's worth).
static int workspace_threads(size_t work_floats, size_t per_thread) {
    size_t n = work_floats / per_thread, max = (size_t)omp_get_max_threads();
    assert(n >= 1 && "attention workspace smaller than tf_attention_workspace_floats(T, C, NH, 1)");
    return (int)(n < max ? n : max);
}

// out[b,t,h,:] = sum_{s<=t} att[b,h,t,s] v[b,s,h,:],  att = softmax_s(q_t . k_s / sqrt(hs))
void tf_attention_forward(float *out, float *att, const float *qkv, float *work, size_t work_floats, int B, int T,
                          int C, int NH) {
    int hs = C / NH, C3 = 3 * C, ldt = round_up(T, VB), npair = B * NH;
    float scale = 1.0f / sqrtf((float)hs);
    size_t per = thread_floats(T, C, NH);
    int nt = workspace_threads(work_floats, per);
#pragma omp parallel num_threads(nt) if ((long)npair * T * T * hs >= 32768)
    {
        // K^T of the pair [hs, ldt], and one tile of scores (RB rows, padded to ldt columns)
        float *kt = work + (size_t)omp_get_thread_num() * per, *sb = kt + (size_t)hs * ldt;
#pragma omp for schedule(static)
        for (int pair = 0; pair < npair; pair++) {
            int b = pair / NH, h = pair % NH;
            const float *q = qkv + (size_t)b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
            if (pair + 1 < npair) prefetch_pair(pair + 1, NH, T, C, qkv, NULL, NULL);
            pack_transposed(kt, ldt, k, C3, T, hs);
            for (int i = 0; i < T; i += RB) {
                int nr = T - i < RB ? T - i : RB, n = i + nr, w = round_up(n, VB);  // columns 0..n-1, padded to w
                rows_dot_packed(sb, ldt, q + (size_t)i * C3, C3, nr, kt, ldt, w, hs, scale);
                for (int r = 0; r < nr; r++) softmax_tile_row(sb + (size_t)r * ldt, i + r, w);
                if (att)
                    for (int r = 0; r < nr; r++) {
                        float *row = att + (((size_t)b * NH + h) * T + i + r) * T;
                        int c = w < T ? w : T;
                        memcpy(row, sb + (size_t)r * ldt, (size_t)c * sizeof(float));
                        if (c < T) memset(row + c, 0, (size_t)(T - c) * sizeof(float));
                    }
                rows_times(out + ((size_t)b * T + i) * C + h * hs, C, nr, sb, ldt, n, v, C3, hs, 0);
            }
        }
    }
}

// Backward per (b, h) (in tiles up to TILED_BACKWARD_MAX_T), P = att lower-triangular (zeros above the diagonal):
// dV += P^T dO;  dP = dO V^T;  dS = P * (dP - rowsum(P * dP)) * scale;  dQ += dS K;  dK += dS^T Q.
// Each (b, h) pair owns its slices of dqkv, so the pairs run in parallel without races; every element of
// dqkv is written (accumulate 0) or added to (1) once.
// Long sequences: the backward in blocks of BLOCK_ROWS rows through tf_gemm (oneDNN's sgemm, one
// thread per pair), whose packed products beat the tiles' walk down P's columns there (the crossover
// is measured in docs/benchmarks.md, "Measurements behind the code's choices", attention.c). The
// causal zeros of att keep the products exact. work: nt threads' slices of per floats each.
static void backward_blocked(float *dqkv, const float *dout, const float *qkv, const float *att, float *work,
                             size_t per, int nt, int B, int T, int C, int NH, int accumulate) {
    int hs = C / NH, C3 = 3 * C, npair = B * NH;
    float scale = 1.0f / sqrtf((float)hs);
    (void)nt;  // read only by the pragma (a build without OpenMP, as the fuzz build, ignores it)
#pragma omp parallel num_threads(nt)
    {
        float *dp = work + (size_t)omp_get_thread_num() * per;  // dP of the pair [T, T]
#pragma omp for schedule(dynamic, 1)
        for (int pair = 0; pair < npair; pair++) {
            int b = pair / NH, h = pair % NH;
            size_t base = (size_t)b * T * C3 + h * hs;
            const float *q = qkv + base, *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + base, *dk = dq + C, *dv = dq + 2 * C;
            const float *a = att + ((size_t)b * NH + h) * T * T;
            const float *dy = dout + (size_t)b * T * C + h * hs;
            if (!accumulate)
                for (int t = 0; t < T; t++)
                    for (int part = 0; part < 3; part++) memset(dq + (size_t)t * C3 + (size_t)part * C, 0, hs * sizeof(float));
            for (int t0 = 0; t0 < T; t0 += BLOCK_ROWS) {
                int t1 = t0 + BLOCK_ROWS < T ? t0 + BLOCK_ROWS : T, m = t1 - t0;
                // dV[0:t1] += P[t0:t1, 0:t1]^T dO[t0:t1]
                tf_gemm(1, 0, t1, hs, m, 1.0f, a + (size_t)t0 * T, T, dy + (size_t)t0 * C, C, 1.0f, dv, C3);
                // dP[t0:t1, 0:t1] = dO[t0:t1] V[0:t1]^T, then the softmax backward in place
                tf_gemm(0, 1, m, t1, hs, 1.0f, dy + (size_t)t0 * C, C, v, C3, 0.0f, dp + (size_t)t0 * T, T);
                for (int i = t0; i < t1; i++) {
                    const float *pr = a + (size_t)i * T;
                    float *d = dp + (size_t)i * T, dot = 0.0f;
#pragma omp simd reduction(+ : dot)
                    for (int j = 0; j <= i; j++) dot += pr[j] * d[j];
#pragma omp simd
                    for (int j = 0; j <= i; j++) d[j] = pr[j] * (d[j] - dot) * scale;
                    if (i + 1 < t1) memset(d + i + 1, 0, (size_t)(t1 - i - 1) * sizeof(float));
                }
                // dQ[t0:t1] += dS[t0:t1, 0:t1] K[0:t1];  dK[0:t1] += dS[t0:t1, 0:t1]^T Q[t0:t1]
                tf_gemm(0, 0, m, hs, t1, 1.0f, dp + (size_t)t0 * T, T, k, C3, 1.0f, dq + (size_t)t0 * C3, C3);
                tf_gemm(1, 0, t1, hs, m, 1.0f, dp + (size_t)t0 * T, T, q + (size_t)t0 * C3, C3, 1.0f, dk, C3);
            }
        }
    }
}

void tf_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, float *work,
                           size_t work_floats, int B, int T, int C, int NH, int accumulate) {
    size_t per = thread_floats(T, C, NH);
    int nt = workspace_threads(work_floats, per);
    if (T > TILED_BACKWARD_MAX_T) {
        backward_blocked(dqkv, dout, qkv, att, work, per, nt, B, T, C, NH, accumulate);
        return;
    }
    int hs = C / NH, C3 = 3 * C, ldt = round_up(T, VB), npair = B * NH;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel num_threads(nt) if ((long)npair * T * T * hs >= 32768)
    {
        // dS of the pair [T, ldt] (rows padded), and V^T [hs, ldt]
        float *dp = work + (size_t)omp_get_thread_num() * per, *vt = dp + (size_t)T * ldt;
#pragma omp for schedule(static)
        for (int pair = 0; pair < npair; pair++) {
            int b = pair / NH, h = pair % NH;
            size_t base = (size_t)b * T * C3 + h * hs;
            const float *q = qkv + base, *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + base, *dk = dq + C, *dv = dq + 2 * C;
            const float *a = att + ((size_t)b * NH + h) * T * T;
            const float *dy = dout + (size_t)b * T * C + h * hs;
            if (pair + 1 < npair) prefetch_pair(pair + 1, NH, T, C, qkv, dqkv, dout);
            pack_transposed(vt, ldt, v, C3, T, hs);
            for (int j = 0; j < T; j += RB) {  // dV[j] += sum_{i >= j} P[i, j] dO[i]
                int nr = T - j < RB ? T - j : RB;
                cols_times(dv + (size_t)j * C3, C3, nr, a, T, j, T, dy, C, hs, accumulate);
            }
            for (int i = 0; i < T; i += RB) {
                int nr = T - i < RB ? T - i : RB, n = i + nr, w = round_up(n, VB);
                float *di = dp + (size_t)i * ldt;
                // dP[i, 0:w] = dO[i] V^T, then the softmax backward in place (zero beyond each row's i)
                rows_dot_packed(di, ldt, dy + (size_t)i * C, C, nr, vt, ldt, w, hs, 1.0f);
                for (int r = 0; r < nr; r++)
                    softmax_backward_tile_row(di + (size_t)r * ldt, a + (size_t)(i + r) * T, i + r, w, scale);
                // dQ[i] += dS[i, 0:n] K[0:n]
                rows_times(dq + (size_t)i * C3, C3, nr, di, ldt, n, k, C3, hs, accumulate);
            }
            for (int j = 0; j < T; j += RB) {  // dK[j] += sum_{i >= j} dS[i, j] Q[i]
                int nr = T - j < RB ? T - j : RB;
                cols_times(dk + (size_t)j * C3, C3, nr, dp, ldt, j, T, q, C3, hs, accumulate);
            }
        }
    }
}
