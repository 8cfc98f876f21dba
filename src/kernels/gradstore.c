// gradstore.c — storing a product made in cache: copy it to its destination with streaming stores (no
// read of the lines it overwrites). For a weight gradient the copy returns its sum of squares, so the
// global gradient norm needs no second pass over the arena (see tf_gemm_bf16_tn_stream); a forward
// activation is copied alone (src/model/lowp.c).
#include <omp.h>
#include <string.h>

#include "tf_kernels.h"

#ifdef __AVX512F__
#include <immintrin.h>
#endif

// dst[lo, hi) = src[lo, hi) on the calling thread; returns the sum of their squares
static double copy_range(float *dst, const float *src, size_t lo, size_t hi) {
    double s = 0.0;
    size_t i = lo;
#ifdef __AVX512F__
    for (; i < hi && ((uintptr_t)(dst + i) & 63); i++) {
        dst[i] = src[i];
        s += (double)src[i] * src[i];
    }
    // four accumulators (one would wait on the previous add); fp32 within a 64-float block, summed
    // into double every block
    for (; i + 64 <= hi; i += 64) {
        __m512 x0 = _mm512_loadu_ps(src + i), x1 = _mm512_loadu_ps(src + i + 16);
        __m512 x2 = _mm512_loadu_ps(src + i + 32), x3 = _mm512_loadu_ps(src + i + 48);
        _mm512_stream_ps(dst + i, x0);
        _mm512_stream_ps(dst + i + 16, x1);
        _mm512_stream_ps(dst + i + 32, x2);
        _mm512_stream_ps(dst + i + 48, x3);
        __m512 a = _mm512_add_ps(_mm512_mul_ps(x0, x0), _mm512_mul_ps(x1, x1));
        __m512 b = _mm512_add_ps(_mm512_mul_ps(x2, x2), _mm512_mul_ps(x3, x3));
        s += _mm512_reduce_add_ps(_mm512_add_ps(a, b));
    }
    _mm_sfence();  // the streaming stores are visible before the pass ends
#endif
    for (; i < hi; i++) {
        dst[i] = src[i];
        s += (double)src[i] * src[i];
    }
    return s;
}

double tf_store_sumsq(float *dst, const float *src, size_t n) {
    double s = 0.0;
    // each thread one contiguous slice (cut at 16-float multiples); the per-thread sums are added in
    // a fixed order, so the result depends only on n and the thread count
    enum { MAX_THREADS = 256 };
    double part[MAX_THREADS] = {0};
    int used = 1;
#pragma omp parallel if (n >= 32768)
    {
        size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
        if (nt > MAX_THREADS) nt = MAX_THREADS;
        if (id < nt) {
            size_t lo = (n * id / nt) & ~(size_t)15, hi = id + 1 == nt ? n : (n * (id + 1) / nt) & ~(size_t)15;
            part[id] = copy_range(dst, src, lo, hi);
        }
#pragma omp single
        used = (int)nt;
    }
    for (int t = 0; t < used; t++) s += part[t];
    return s;
}

void tf_store_stream(float *dst, const float *src, size_t n) { (void)tf_store_sumsq(dst, src, n); }
