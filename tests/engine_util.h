// engine_util.h — small helpers shared by the engine tests: tiny configs of each block shape, and the
// PyTorch fixtures (tests/fixtures/make_fixtures.py, make_lora_fixtures.py) opened and closed.
#ifndef TF_TEST_ENGINE_UTIL_H
#define TF_TEST_ENGINE_UTIL_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tf_safetensors.h"
#include "toolformer.h"

// The three block shapes on tiny sizes: 0 = GPT-2, 1 = GPT-J-like, 2 = NeoX-like.
static inline void tiny_config(tf_config *c, int kind) {
    tf_config_gpt2(c, 2, 16, 2, 23, 16);
    if (kind == 1) {
        c->arch = TF_ARCH_GPTJ;
        c->parallel_residual = 1;
        c->shared_ln = 1;
        c->rotary_dim = 4;
        c->rotary_interleaved = 1;
        c->qkv_bias = 0;
        c->attn_out_bias = 0;
        c->tied_head = 0;
        c->head_bias = 1;
    } else if (kind == 2) {
        c->arch = TF_ARCH_NEOX;
        c->parallel_residual = 1;
        c->rotary_dim = 4;
        c->tied_head = 0;
        c->gelu_exact = 1;
    }
}

// A tiny model with every parameter randomised (biases and LayerNorm too), so that every gradient
// path is exercised.
static inline tf_model *tiny_model(int kind, uint64_t seed) {
    tf_config c;
    tiny_config(&c, kind);
    tf_error err;
    tf_model *m = tf_model_new(&c, seed, &err);
    tf_rng r;
    tf_rng_seed(&r, seed + 1);
    for (size_t i = 0; i < m->num_params; i++) m->params[i] += 0.1f * tf_rng_normal(&r);
    return m;
}

// x[n] = standard normal draws from seed.
static inline void fill_normal(float *x, size_t n, uint64_t seed) {
    tf_rng r;
    tf_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = tf_rng_normal(&r);
}

// n random input ids and n random targets below V, from seed.
static inline void random_batch(int *in, int *tg, int n, int V, uint64_t seed) {
    tf_rng r;
    tf_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        in[i] = (int)(tf_rng_u64(&r) % V);
        tg[i] = (int)(tf_rng_u64(&r) % V);
    }
}

// A model under test and its PyTorch fixture: the reference tensors (ref) and the batch they were made
// from (batch, tests/fixtures/<arch>-tiny-ref.safetensors: inputs and targets [B, T] as I32, weights
// [B, T]); for the engine's own fixtures the two are one file.
typedef struct {
    tf_model *m;
    tf_st_file *ref, *batch;
    int B, T, V;
    int *inputs, *targets;
    float *weights;
} ref_fixture;

// Fixture tensor `name` converted to fp32 (freed by the caller); its element count in *n (n may be NULL).
static inline float *fixture_f32(tf_st_file *f, const char *name, size_t *n) {
    const tf_st_tensor *t = tf_st_find(f, name);
    cr_assert_not_null(t, "fixture tensor %s missing", name);
    float *out = malloc(t->numel * sizeof(float));
    tf_error err;
    cr_assert_eq(tf_st_to_f32(f, t, out, &err), TF_OK, "%s", err.msg);
    if (n) *n = t->numel;
    return out;
}

// Fixture tensor `name`, which must be I32 (freed by the caller).
static inline int *fixture_i32(tf_st_file *f, const char *name) {
    const tf_st_tensor *t = tf_st_find(f, name);
    cr_assert(t && t->dtype == TF_ST_I32, "fixture tensor %s missing or not I32", name);
    int *out = malloc(t->nbytes);
    memcpy(out, t->data, t->nbytes);
    return out;
}

// Opens arch's batch file into f->batch and reads B, T, the inputs, targets and weights; V from f->m,
// which the caller has loaded. f->ref is left to the caller (f->batch itself for the engine fixtures).
static inline void fixture_open_batch(ref_fixture *f, const char *arch) {
    char p[256];
    tf_error err;
    snprintf(p, sizeof p, "tests/fixtures/%s-tiny-ref.safetensors", arch);
    f->batch = tf_st_open(p, &err);
    cr_assert_not_null(f->batch, "%s", err.msg);
    const tf_st_tensor *in = tf_st_find(f->batch, "inputs");
    cr_assert_not_null(in, "%s: no inputs", p);
    f->B = (int)in->shape[0];
    f->T = (int)in->shape[1];
    f->V = f->m->cfg.vocab_size;
    f->inputs = fixture_i32(f->batch, "inputs");
    f->targets = fixture_i32(f->batch, "targets");
    f->weights = fixture_f32(f->batch, "weights", NULL);
}

// Frees the batch, the reference file (when it is another file) and the model.
static inline void fixture_close(ref_fixture *f) {
    free(f->inputs);
    free(f->targets);
    free(f->weights);
    if (f->ref != f->batch) tf_st_close(f->ref);
    tf_st_close(f->batch);
    tf_model_free(f->m);
}

// |got - want| <= atol + rtol |want| elementwise, the first failure named with its index.
static inline void assert_close_to_ref(const float *got, const float *want, size_t n, float atol, float rtol,
                                       const char *what) {
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(got[i] - want[i]) <= atol + rtol * fabsf(want[i]), "%s[%zu]: got %.8g, PyTorch %.8g", what,
                  i, got[i], want[i]);
}

#endif
