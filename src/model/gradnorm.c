// gradnorm.c — the global gradient norm collected during a bf16 backward that writes every gradient
// afresh (the first after zero_grad), so that AdamW's clipping needs no pass over the arena: the
// weight-gradient products go into a cache-sized scratch (lowp.c's) and are stored with streaming stores
// that sum their squares on the way (tf_gemm_bf16_tn_stream); the backward adds the small tensors itself.
// fp32 keeps the plain stores and the pass: there the scratch's copy cost what the pass saved
// (docs/benchmarks.md, "Measurements behind the code's choices", gradnorm.c), and its results stay
// bit for bit.
#include <stdlib.h>

#include "model_internal.h"
#include "tf_kernels.h"

enum { NORM_NONE, NORM_COLLECTING, NORM_VALID };

struct tf_gradnorm {
    int state;       // NORM_*
    double sumsq;    // collected so far (COLLECTING) or of the whole arena (VALID)
    unsigned stored; // bit p: tensor p's gradient went through model_store_dw (its squares are in sumsq)
};

void model_norm_free(tf_gradnorm *g) { free(g); }

// Its one caller, tf_model_backward, has refused a mapped model already.
void model_norm_begin(tf_model *m) {
    if (m->dtype != TF_DTYPE_BF16) return;
    if (!m->gradnorm && !(m->gradnorm = calloc(1, sizeof *m->gradnorm))) return;  // not collected
    m->gradnorm->state = NORM_COLLECTING;
    m->gradnorm->sumsq = 0.0;
    m->gradnorm->stored = 0;
}

int model_norm_collecting(const tf_model *m) { return m->gradnorm && m->gradnorm->state == NORM_COLLECTING; }

void model_norm_add(tf_model *m, double sumsq) {
    if (model_norm_collecting(m)) m->gradnorm->sumsq += sumsq;
}

void model_norm_end(tf_model *m, int ok) {
    if (model_norm_collecting(m)) m->gradnorm->state = ok ? NORM_VALID : NORM_NONE;
}

void model_norm_forget(tf_model *m) {
    if (m->gradnorm) m->gradnorm->state = NORM_NONE;
}

int model_norm_get(const tf_model *m, double *sumsq) {
    if (!m->gradnorm || m->gradnorm->state != NORM_VALID) return 0;
    *sumsq = m->gradnorm->sumsq;
    return 1;
}

int model_norm_stored(const tf_model *m, int p) { return m->gradnorm && (m->gradnorm->stored >> p & 1u); }

int model_store_dw(tf_model *m, int p, float *dweight, const uint16_t *dout, const uint16_t *inp, int BT, int C,
                   int OC, float *scratch, size_t n) {
    if (!model_norm_collecting(m)) return 0;
    if (!scratch) {
        m->gradnorm->state = NORM_NONE;  // no memory for it: stored the plain way, AdamW sums the arena
        return 0;
    }
    double ss;
    int rc = tf_gemm_bf16_tn_stream(OC, C, BT, dout, OC, inp, C, dweight, scratch, n, &ss);
    if (rc) {
        m->gradnorm->state = NORM_NONE;
        return -1;
    }
    m->gradnorm->sumsq += ss;
    m->gradnorm->stored |= 1u << p;
    return 1;
}
