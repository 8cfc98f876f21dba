// engine_util.h — small helpers shared by the engine tests: tiny configs of each block shape.
#ifndef TF_TEST_ENGINE_UTIL_H
#define TF_TEST_ENGINE_UTIL_H

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

#endif
