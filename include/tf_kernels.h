// tf_kernels.h — the engine's numerical kernels: plain functions on fp32 arrays with their shapes in
// the comment. Forward and backward sit side by side; backward kernels ACCUMULATE (+=) into their
// gradient outputs. Matmuls go through oneDNN (all oneDNN calls live in src/kernels/matmul.c) or, for bf16
// products of a few rows or a few dozen without AMX, this project's AVX512-BF16 kernels; every
// other kernel is plain C with OpenMP.
#ifndef TF_KERNELS_H
#define TF_KERNELS_H

#include <stddef.h>
#include <stdint.h>

// C[M,N] = alpha * op(A) @ op(B) + beta * C, row-major; op(X) = X or X^T when trans_x.
// lda/ldb/ldc are row strides of A, B, C as stored.
void tf_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);

// ---- bf16 (mixed precision): bf16 operands as raw uint16_t bit patterns, fp32 accumulation ----
// C[M,N] = alpha * op(A) @ op(B) (+ bias[N] per row, may be NULL) + beta * C with A and B in bf16
// and C fp32 (oneDNN's matmul primitive: AMX or AVX512-BF16 where present; without AMX, A @ B^T of
// 32-128 rows takes tf_gemm_bf16_avx512, unless TF_GEMM_ONEDNN=1). Call it outside OpenMP
// regions for speed (inside one it widens to fp32 and uses sgemm). 0, or -1 when out of memory.
int tf_gemm_bf16(int trans_a, int trans_b, int M, int N, int K, float alpha, const uint16_t *A, int lda,
                 const uint16_t *B, int ldb, const float *bias, float beta, float *C, int ldc);
// The same product on oneDNN's matmul primitive alone (tf_gemm_bf16 may take tf_gemm_bf16_avx512
// instead): the machine's reference GEMM in the benchmarks.
int tf_gemm_bf16_onednn(int trans_a, int trans_b, int M, int N, int K, float alpha, const uint16_t *A, int lda,
                        const uint16_t *B, int ldb, const float *bias, float beta, float *C, int ldc);
// C[M, N] (row stride ldc) = alpha * A[M, K] @ op(B) (+ bias[N] per row, may be NULL) + beta * C, with
// A bf16 row-major (row stride lda) and B bf16 stored [N, K] (trans_b = 1: op(B) = B^T, a Linear's
// weight) or [K, N] (trans_b = 0), ldb its row stride; fp32 accumulation, beta 0 does not read C.
// AVX512-BF16's vdpbf16ps on 12 x 32 register tiles, B packed 32 columns at a time by each thread
// (src/kernels/gemm_bf16.c). Parallel over N unless called inside an OpenMP region. Returns 0, or -1
// without touching C where this CPU/OS lacks AVX512-BF16 (or TF_NO_AVX512BF16 is set) or memory ran out.
int tf_gemm_bf16_avx512(int trans_b, int M, int N, int K, float alpha, const uint16_t *A, int lda,
                        const uint16_t *B, int ldb, const float *bias, float beta, float *C, int ldc);
// C[M, N] = A^T @ B (A stored [K, M] with row stride lda, B [K, N] with row stride ldb, both bf16;
// C fp32 with row stride N, overwritten) computed whole or a block of rows at a time into
// scratch[scratch_n] (fp32; at least N elements) and stored with tf_store_sumsq; *sumsq = the sum of
// squares of C.
// For weight gradients (dW = dout^T @ inp): the arena's lines are not read before being written and
// the gradient norm gets its share without another pass. 0, or -1 when out of memory.
int tf_gemm_bf16_tn_stream(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *B, int ldb, float *C,
                           float *scratch, size_t scratch_n, double *sumsq);
// dst[n] = src[n] (streaming stores where the CPU has them); returns the sum of squares of src in
// double (fp32 within blocks of 64). Parallel.
double tf_store_sumsq(float *dst, const float *src, size_t n);
// dst[n] = src[n] with streaming stores where the CPU has them (tf_store_sumsq without the sum). Parallel.
void tf_store_stream(float *dst, const float *src, size_t n);
// Rows of C per block in tf_gemm_bf16_tn_stream for an [M, N] product (scratch needs rows * N).
int tf_gemm_tn_stream_rows(int M, int N);
// Decode-size products: out[M, N] (row stride ldo) = bf16(inp[M, K]) @ W[N, K]^T (+ bias[N], may be
// NULL), with 1 <= M <= TF_FEW_ROWS_MAX, inp fp32 (row stride ldi) rounded to bf16 as tf_to_bf16, W
// bf16 in its stored layout (row stride ldw), fp32 accumulation; out is overwritten. On AMX-BF16
// (Intel) where usable, else on AVX512-BF16 (AMD Zen 4 and later). scratch holds
// tf_few_rows_scratch(M, K) elements. Returns 0, or -1 without touching out when this CPU/OS has
// neither (TF_NO_AMX and TF_NO_AVX512BF16 in the environment turn each off): the caller then uses
// tf_gemm_bf16. Parallel over N when the weights are big enough.
#define TF_FEW_ROWS_MAX 16
int tf_matmul_bf16_few_rows(float *out, int ldo, const float *inp, int ldi, const uint16_t *W, int ldw,
                            const float *bias, int M, int K, int N, uint16_t *scratch);
// Elements of the scratch tf_matmul_bf16_few_rows needs for M rows of K.
size_t tf_few_rows_scratch(int M, int K);
// Whether tf_matmul_bf16_few_rows runs here on AMX (probed once: CPUID, OS tile permission, TF_NO_AMX).
int tf_have_amx_bf16(void);
// Whether its AVX512-BF16 path can run here (probed once: CPUID, OS AVX-512 state, TF_NO_AVX512BF16).
int tf_have_avx512_bf16(void);
// Scalar conversions (convert.c): exact widening, and round-to-nearest-even narrowing (NaN stays
// NaN, overflow goes to infinity).
float tf_f16_to_f32(uint16_t h);
float tf_bf16_to_f32(uint16_t b);
uint16_t tf_f32_to_f16(float x);
uint16_t tf_f32_to_bf16(float x);
// out[n] = bf16(in[n]), round to nearest even (NaN stays NaN). Parallel.
void tf_to_bf16(uint16_t *out, const float *in, size_t n);
// out[R, N] = bf16(in[R, N]) (as tf_to_bf16) and colsum[N] (+)= the sum over rows of in (rows in order,
// fp32: the same sums as tf_matmul_backward_acc's dbias), in one pass. Parallel over columns.
void tf_to_bf16_colsum(uint16_t *out, float *colsum, const float *in, int R, int N, int accumulate);
// out[K, R] = bf16(in[R, K])^T, rounded as tf_to_bf16. Parallel.
void tf_to_bf16_transposed(uint16_t *out, const float *in, int R, int K);

// out[BT, OC] = inp[BT, C] @ weight[OC, C]^T + bias[OC]   (bias may be NULL)
void tf_matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int BT,
                       int C, int OC);
// given dout[BT, OC]: dinp[BT, C] += dout @ weight; dweight[OC, C] += dout^T @ inp;
// dbias[OC] += sum over rows of dout. Any of dinp, dweight, dbias may be NULL (not wanted).
void tf_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, int BT, int C, int OC);
// Which outputs of a *_acc backward accumulate (+=); the others are overwritten (=), which spares
// the first writer of a gradient a clearing pass. TF_ACC_DW covers dweight and dbias.
enum { TF_ACC_DINP = 1, TF_ACC_DW = 2 };
// tf_matmul_backward with acc (TF_ACC_* bits) choosing accumulate or overwrite per output.
void tf_matmul_backward_acc(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, int BT, int C, int OC, int acc);

// out[N, C] = (inp - mean) * rstd * weight + bias per row; mean[N], rstd[N] saved for backward
// (either may be NULL for inference). Biased variance, as PyTorch.
void tf_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                          const float *bias, int N, int C, float eps);
// dinp[N, C] += ...; dweight[C] += ...; dbias[C] += ... given dout[N, C], inp, mean, rstd.
void tf_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean, const float *rstd,
                           int N, int C);
// The same; dweight and dbias are overwritten instead when acc_dw is 0 (dinp always accumulates).
void tf_layernorm_backward_acc(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, const float *mean, const float *rstd,
                               int N, int C, int acc_dw);

// GELU. exact = 0: tanh approximation (HF "gelu_new"):
//   out[N] = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)));  exact = 1: 0.5 x (1 + erf(x / sqrt 2)).
void tf_gelu_forward(float *out, const float *inp, size_t N, int exact);
// out[N] = bf16(gelu(inp)): tf_gelu_forward's values rounded as tf_to_bf16, without an fp32 output
// (mixed precision, where the GELU's output only feeds a bf16 matmul).
void tf_gelu_forward_bf16(uint16_t *out, const float *inp, size_t N, int exact);
// dinp[N] (+)= gelu'(inp) * dout: accumulates when accumulate, else overwrites (dinp may alias dout).
void tf_gelu_backward(float *dinp, const float *inp, const float *dout, size_t N, int exact, int accumulate);
// The bf16 backward's GELU and what the next product needs in one pass, for rows R x columns N:
// out[R, N] = bf16(gelu'(inp) * dout) (rounded as tf_to_bf16) and colsum[N] (+)= the column sums of the
// unrounded values (the bias gradient; accumulates when accumulate, as tf_to_bf16_colsum).
void tf_gelu_backward_bf16_colsum(uint16_t *out, float *colsum, const float *inp, const float *dout, int R, int N,
                                  int exact, int accumulate);

// Rotary position embedding on the first rd dims of each head of q and k inside qkv[N, 3C]
// (rows q | k | v, heads of size hs). pos[N] is each row's position. interleaved: GPT-J pairs
// (2i, 2i+1); else NeoX rotate-half pairs (i, i + rd/2). theta_i = pos * base^(-2i/rd).
// inverse = 1 rotates by -theta (the backward of the forward rotation).
void tf_rotary(float *qkv, const int *pos, int N, int C, int NH, int rd, int interleaved, float base,
               int inverse);

// The scratch the attention kernels need, in floats, for sequences of T at width C with NH heads when
// nthreads threads run them (omp_get_max_threads()). The caller allocates it (64-byte aligned,
// tf_alloc) and checks the allocation before calling: the kernels allocate nothing. The forward and
// the backward may share one workspace.
size_t tf_attention_workspace_floats(int T, int C, int NH, int nthreads);
// Causal self-attention over a padded batch. qkv[B, T, 3C] (q | k | v rows), out[B, T, C],
// att[B, NH, T, T] probabilities (row t uses columns 0..t; saved for backward; may be NULL).
// work[work_floats]: at least tf_attention_workspace_floats(T, C, NH, 1); the kernel runs on as many
// threads as it holds (at most omp_get_max_threads()). The results do not depend on that number.
void tf_attention_forward(float *out, float *att, const float *qkv, float *work, size_t work_floats, int B, int T,
                          int C, int NH);
// dqkv[B, T, 3C] = ... (accumulate 0; every element written) or += ... (1), given dout[B, T, C], qkv
// and att from the forward; work as for tf_attention_forward.
void tf_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att, float *work,
                           size_t work_floats, int B, int T, int C, int NH, int accumulate);

// Per-row softmax cross-entropy from logits[N, V]: nll[r] = -log softmax(logits[r])[targets[r]]
// (0 where targets[r] < 0). Computed with a max-shift in fp32; the exponentials summed in fp32 over
// blocks of 1,024, the blocks in double.
void tf_crossentropy_forward(float *nll, const float *logits, const int *targets, int N, int V);
// tf_crossentropy_forward that also keeps each row's max and 1 / sum_i exp(x_i - max) in rowmax[N] and
// rowinv[N] (both NULL: not kept; 0 in rows with target < 0), for tf_crossentropy_backward_bf16.
void tf_crossentropy_forward_keep(float *nll, float *rowmax, float *rowinv, const float *logits, const int *targets,
                                  int N, int V);
// The backward of mixed precision, fused with the rounding of its result: dout[N, V] =
// bf16((softmax(logits[r]) - onehot(targets[r])) * dnll[r]) (rounded as tf_to_bf16), the softmax taken
// in one pass from the forward's rowmax and rowinv (tf_crossentropy_forward_keep); rows with target < 0
// or dnll == 0 become zero. logits are left unchanged.
void tf_crossentropy_backward_bf16(uint16_t *dout, const float *logits, const float *rowmax, const float *rowinv,
                                   const int *targets, const float *dnll, int N, int V);
// logits[N, V] becomes dlogits in place: (softmax(logits) - onehot(target)) * dnll[r]; rows with
// target < 0 or dnll == 0 become zero.
void tf_crossentropy_backward_inplace(float *logits, const int *targets, const float *dnll, int N, int V);

// AdamW (Loshchilov & Hutter) on n parameters with bias correction at step t (1-based):
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (mhat / (sqrt(vhat) + eps) + wd p).
// grad_scale multiplies g first (gradient clipping).
void tf_adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                     float b2, float eps, float wd, float grad_scale, long t);
// tf_adamw_update that also writes the updated parameters rounded to bf16 into pb[n] (the weight
// copy of mixed precision, made in the same pass instead of a second one over p).
void tf_adamw_update_bf16(float *p, const float *g, float *m, float *v, uint16_t *pb, size_t n, float lr,
                          float b1, float b2, float eps, float wd, float grad_scale, long t);
// The same update over an arena of nseg tensors laid end to end (segment s: the next sizes[s]
// elements, weight decay wd[s]) in one parallel pass; pb (NULL: none) receives the bf16 rounding of
// the updated parameters, as tf_adamw_update_bf16.
void tf_adamw_update_segments(float *p, const float *g, float *m, float *v, uint16_t *pb, const size_t *sizes,
                              const float *wd, int nseg, float lr, float b1, float b2, float eps,
                              float grad_scale, long t);

#endif
