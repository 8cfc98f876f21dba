// adamw.c — the AdamW update (decoupled weight decay), elementwise over a flat arena of tensors in
// one parallel pass. Memory bound (28 bytes per parameter, 30 with the bf16 copy), so the loops must
// vectorise: this file is compiled with -fno-math-errno (Makefile), without which GCC keeps sqrtf
// scalar behind its errno branch (measured: the scalar loop ran at ~40% of the memory bandwidth).
#include <math.h>
#include <omp.h>
#include <string.h>

#include "tf_kernels.h"
#include "vecmath.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

typedef struct {
    float b1, b2, eps, step, inv_sqrt_c2, lr, grad_scale;
} coef;

// PyTorch's AdamW, in its order: p *= 1 - lr wd; p -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps).
// No division by c1 or c2 inside the loop. Updates m[i], v[i] and returns the new p[i].
static inline float adamw_one(float p, float g, float *m, float *v, float b1, float b2, float eps, float step,
                              float inv_sqrt_c2, float decay) {
    float mi = b1 * *m + (1.0f - b1) * g;
    float vi = b2 * *v + (1.0f - b2) * g * g;
    *m = mi;
    *v = vi;
    return p * decay - step * mi / (sqrtf(vi) * inv_sqrt_c2 + eps);
}

// elements [lo, hi) of one tensor, on the calling thread
static void update_range(float *p, const float *g, float *m, float *v, uint16_t *pb, size_t lo, size_t hi,
                         const coef *k, float wd) {
    const float decay = 1.0f - k->lr * wd, gs = k->grad_scale, b1 = k->b1, b2 = k->b2, eps = k->eps;
    const float step = k->step, isc = k->inv_sqrt_c2;
    if (pb) {
#ifdef __SSE2__
        // The bf16 copy is written with streaming stores, 64 elements (128 bytes) at a time: a plain
        // store first reads the line it writes (2 of the 32 bytes per parameter the pass moves), and the
        // copy is not read again before it would have left the cache anyway.
        enum { BLK = 64 };
        size_t a = lo;
        while (a < hi && ((uintptr_t)(pb + a) & 15)) {
            float pi = adamw_one(p[a], g[a] * gs, &m[a], &v[a], b1, b2, eps, step, isc, decay);
            p[a] = pi;
            pb[a++] = vm_bf16(pi);
        }
        for (; a + BLK <= hi; a += BLK) {
            _Alignas(16) uint16_t blk[BLK];
#pragma omp simd
            for (size_t j = 0; j < BLK; j++) {
                size_t i = a + j;
                float pi = adamw_one(p[i], g[i] * gs, &m[i], &v[i], b1, b2, eps, step, isc, decay);
                p[i] = pi;
                blk[j] = vm_bf16(pi);
            }
            for (int j = 0; j < BLK; j += 8)
                _mm_stream_si128((__m128i *)(pb + a + j), _mm_load_si128((const __m128i *)(blk + j)));
        }
        lo = a;
#endif
#pragma omp simd
        for (size_t i = lo; i < hi; i++) {
            float pi = adamw_one(p[i], g[i] * gs, &m[i], &v[i], b1, b2, eps, step, isc, decay);
            p[i] = pi;
            pb[i] = vm_bf16(pi);
        }
#ifdef __SSE2__
        _mm_sfence();  // the streaming stores are visible before the pass ends
#endif
    } else {
#pragma omp simd
        for (size_t i = lo; i < hi; i++) p[i] = adamw_one(p[i], g[i] * gs, &m[i], &v[i], b1, b2, eps, step, isc, decay);
    }
}

void tf_adamw_update_segments(float *p, const float *g, float *m, float *v, uint16_t *pb, const size_t *sizes,
                              const float *wd, int nseg, float lr, float b1, float b2, float eps,
                              float grad_scale, long t) {
    coef k = {b1, b2, eps, 0, 0, lr, grad_scale};
    float c1 = 1.0f - powf(b1, (float)t), c2 = 1.0f - powf(b2, (float)t);
    k.step = lr / c1;
    k.inv_sqrt_c2 = 1.0f / sqrtf(c2);
    size_t total = 0;
    for (int s = 0; s < nseg; s++) total += sizes[s];
    // each thread takes one contiguous slice of the arena (cut at 64-byte multiples of elements)
    // and walks the segments it overlaps
#pragma omp parallel if (total >= 32768)
    {
        size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
        size_t lo = (total * id / nt) & ~(size_t)15, hi = id + 1 == nt ? total : (total * (id + 1) / nt) & ~(size_t)15;
        size_t off = 0;
        for (int s = 0; s < nseg && off < hi; s++) {
            size_t a = off > lo ? off : lo, b = off + sizes[s] < hi ? off + sizes[s] : hi;
            if (a < b) update_range(p, g, m, v, pb, a, b, &k, wd[s]);
            off += sizes[s];
        }
    }
}

void tf_adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                     float b2, float eps, float wd, float grad_scale, long t) {
    tf_adamw_update_segments(p, g, m, v, NULL, &n, &wd, 1, lr, b1, b2, eps, grad_scale, t);
}

void tf_adamw_update_bf16(float *p, const float *g, float *m, float *v, uint16_t *pb, size_t n, float lr,
                          float b1, float b2, float eps, float wd, float grad_scale, long t) {
    tf_adamw_update_segments(p, g, m, v, pb, &n, &wd, 1, lr, b1, b2, eps, grad_scale, t);
}
