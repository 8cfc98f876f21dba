// test_model_io.c — Hugging Face directories in and out: the PyTorch fixtures (tests/fixtures/,
// written by make_fixtures.py with HF names and layouts) load into the engine's layout, F16/BF16
// load as the rounded values, save -> load is bit-exact and writes HF's names, shapes and bytes,
// and each kind of bad directory gets one error naming the file and tensor (or key).
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "engine_util.h"
#include "tmp_util.h"

#define FIX "tests/fixtures/"

static char tmp[64];

static void make_tmp(void) {
    tmp_dir_make(tmp, sizeof tmp, "io");
}

static void clean_tmp(void) { rm_rf_dir(tmp); }

static char *tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    char *b = buf[k++ & 3];
    snprintf(b, 256, "%s/%s", tmp, name);
    return b;
}

static void write_text(const char *path, const char *text) {
    tf_error err;
    cr_assert_eq(tf_write_file_atomic(path, text, strlen(text), &err), TF_OK, "%s", err.msg);
}

static char *read_text(const char *path) {
    tf_error err;
    char *s = tf_read_file(path, NULL, &err);
    cr_assert_not_null(s, "%s", err.msg);
    return s;
}

// Copies config.json of fixture fix into tmp, replacing the first occurrence of from by to.
static void copy_config(const char *fix, const char *from, const char *to) {
    char src[256];
    snprintf(src, sizeof src, FIX "%s/config.json", fix);
    char *s = read_text(src);
    char out[8192];
    char *at = from ? strstr(s, from) : NULL;
    if (from) cr_assert_not_null(at, "'%s' not in %s", from, src);
    if (at) snprintf(out, sizeof out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    else snprintf(out, sizeof out, "%s", s);
    write_text(tmp_path("config.json"), out);
    free(s);
}

// Rewrites a fixture's tensors into dst. edit (may be NULL) may change the entry (name, shape,
// dtype) and returns 0 to keep it, 1 to drop it. extra[n_extra] are appended.
typedef int (*edit_fn)(const tf_st_tensor *t, tf_st_entry *e, char *name_buf);

static void write_variant(const char *src, const char *dst, edit_fn edit, const tf_st_entry *extra,
                          int n_extra) {
    tf_error err;
    tf_st_file *f = tf_st_open(src, &err);
    cr_assert_not_null(f, "%s", err.msg);
    int n = tf_st_count(f);
    tf_st_entry *e = calloc((size_t)(n + n_extra), sizeof *e);
    char (*names)[160] = calloc((size_t)n, sizeof *names);
    int k = 0;
    for (int i = 0; i < n; i++) {
        const tf_st_tensor *t = tf_st_at(f, i);
        snprintf(names[i], sizeof names[i], "%s", t->name);
        tf_st_entry x = {.name = names[i], .dtype = t->dtype, .ndim = t->ndim, .data = t->data};
        memcpy(x.shape, t->shape, sizeof x.shape);
        if (edit && edit(t, &x, names[i])) continue;
        e[k++] = x;
    }
    for (int i = 0; i < n_extra; i++) e[k++] = extra[i];
    cr_assert_eq(tf_st_write(dst, e, k, &err), TF_OK, "%s", err.msg);
    free(e);
    free(names);
    tf_st_close(f);
}

static tf_model *load_ok(const char *dir) {
    tf_error err;
    tf_error_clear(&err);
    tf_model *m = tf_model_load(dir, &err);
    cr_assert_not_null(m, "loading %s: %s", dir, err.msg);
    return m;
}

// Loading dir must fail with code, and the message must contain each non-NULL word.
static void expect_load_error(const char *dir, int code, const char *w1, const char *w2) {
    tf_error err;
    tf_error_clear(&err);
    tf_model *m = tf_model_load(dir, &err);
    cr_assert_null(m, "loaded a bad directory");
    cr_assert_eq(err.code, code, "code %d, message: %s", err.code, err.msg);
    if (w1) cr_assert(strstr(err.msg, w1) != NULL, "message lacks '%s': %s", w1, err.msg);
    if (w2) cr_assert(strstr(err.msg, w2) != NULL, "message lacks '%s': %s", w2, err.msg);
}

static const float *slice(const tf_model *m, int p, int layer) {
    size_t per = m->sizes[p] / (layer < 0 ? 1 : (size_t)m->cfg.n_layer);
    return m->param[p] + (layer < 0 ? 0 : per * (size_t)layer);
}

// engine slice == HF tensor, element for element
static void check_same(tf_st_file *f, const tf_model *m, int p, int layer, const char *name) {
    size_t n;
    float *hf = fixture_f32(f, name, &n);
    size_t per = m->sizes[p] / (layer < 0 ? 1 : (size_t)m->cfg.n_layer);
    cr_assert_eq(n, per, "%s: %zu elements, engine slice %zu", name, n, per);
    cr_assert_eq(memcmp(hf, slice(m, p, layer), n * sizeof(float)), 0, "%s differs", name);
    free(hf);
}

// engine [out, in] == transpose of HF Conv1D [in, out]
static void check_transposed(tf_st_file *f, const tf_model *m, int p, int layer, const char *name) {
    const tf_st_tensor *t = tf_st_find(f, name);
    cr_assert_not_null(t, "%s", name);
    size_t in = (size_t)t->shape[0], out = (size_t)t->shape[1];
    float *hf = fixture_f32(f, name, NULL);
    const float *e = slice(m, p, layer);
    for (size_t o = 0; o < out; o++)
        for (size_t i = 0; i < in; i++)
            cr_assert_eq(e[o * in + i], hf[i * out + o], "%s[%zu][%zu]", name, i, o);
    free(hf);
}

static void expect_same_params(const tf_model *a, const tf_model *b) {
    cr_assert_eq(memcmp(&a->cfg, &b->cfg, sizeof a->cfg), 0, "configs differ");
    cr_assert_eq(a->num_params, b->num_params);
    cr_assert_eq(memcmp(a->params, b->params, a->num_params * sizeof(float)), 0, "parameters differ");
}

TestSuite(model_io, .init = make_tmp, .fini = clean_tmp);

// ---- loading the fixtures ----------------------------------------------------------------------
Test(model_io, gpt2_fixture_loads_with_conv1d_weights_transposed) {
    tf_model *m = load_ok(FIX "gpt2-tiny");
    const tf_config *c = &m->cfg;
    cr_assert_eq(c->arch, TF_ARCH_GPT2);
    cr_assert(c->n_layer == 2 && c->n_embd == 32 && c->n_head == 4 && c->n_inner == 128);
    cr_assert(c->vocab_size == 64 && c->n_positions == 32 && c->tied_head && c->qkv_bias);
    cr_assert_eq(c->rotary_dim, 0);
    cr_assert_eq(c->gelu_exact, 0, "GPT-2's gelu_new is the tanh form");
    cr_assert_eq(c->bos_token_id, 63);
    cr_assert_float_eq(c->layer_norm_eps, 1e-5f, 1e-12);
    tf_error err;
    tf_st_file *f = tf_st_open(FIX "gpt2-tiny/model.safetensors", &err);
    cr_assert_not_null(f, "%s", err.msg);
    check_same(f, m, TF_P_WTE, -1, "transformer.wte.weight");
    check_same(f, m, TF_P_WPE, -1, "transformer.wpe.weight");
    check_same(f, m, TF_P_LNFW, -1, "transformer.ln_f.weight");
    check_same(f, m, TF_P_LNFB, -1, "transformer.ln_f.bias");
    for (int l = 0; l < 2; l++) {
        char n[128];
#define H(s) (snprintf(n, sizeof n, "transformer.h.%d.%s", l, s), n)
        check_same(f, m, TF_P_LN1W, l, H("ln_1.weight"));
        check_same(f, m, TF_P_LN1B, l, H("ln_1.bias"));
        check_transposed(f, m, TF_P_QKVW, l, H("attn.c_attn.weight"));
        check_same(f, m, TF_P_QKVB, l, H("attn.c_attn.bias"));
        check_transposed(f, m, TF_P_ATTPROJW, l, H("attn.c_proj.weight"));
        check_same(f, m, TF_P_ATTPROJB, l, H("attn.c_proj.bias"));
        check_same(f, m, TF_P_LN2W, l, H("ln_2.weight"));
        check_same(f, m, TF_P_LN2B, l, H("ln_2.bias"));
        check_transposed(f, m, TF_P_FCW, l, H("mlp.c_fc.weight"));
        check_same(f, m, TF_P_FCB, l, H("mlp.c_fc.bias"));
        check_transposed(f, m, TF_P_FCPROJW, l, H("mlp.c_proj.weight"));
        check_same(f, m, TF_P_FCPROJB, l, H("mlp.c_proj.bias"));
#undef H
    }
    cr_assert_eq(m->sizes[TF_P_LMW], 0);
    tf_st_close(f);
    tf_model_free(m);
}

Test(model_io, gptj_fixture_concatenates_q_k_v_and_keeps_head_bias) {
    tf_model *m = load_ok(FIX "gptj-tiny");
    const tf_config *c = &m->cfg;
    cr_assert_eq(c->arch, TF_ARCH_GPTJ);
    cr_assert(c->n_layer == 2 && c->n_embd == 16 && c->n_head == 2 && c->n_inner == 40);
    cr_assert(c->rotary_dim == 4 && c->rotary_interleaved == 1 && c->parallel_residual && c->shared_ln);
    cr_assert(!c->qkv_bias && !c->attn_out_bias && !c->tied_head && c->head_bias);
    cr_assert(m->sizes[TF_P_WPE] == 0 && m->sizes[TF_P_LN2W] == 0 && m->sizes[TF_P_QKVB] == 0);
    tf_error err;
    tf_st_file *f = tf_st_open(FIX "gptj-tiny/model.safetensors", &err);
    cr_assert_not_null(f, "%s", err.msg);
    size_t C = 16;
    check_same(f, m, TF_P_WTE, -1, "transformer.wte.weight");
    check_same(f, m, TF_P_LMW, -1, "lm_head.weight");
    check_same(f, m, TF_P_LMB, -1, "lm_head.bias");
    check_same(f, m, TF_P_LNFW, -1, "transformer.ln_f.weight");
    for (int l = 0; l < 2; l++) {
        char n[128];
#define H(s) (snprintf(n, sizeof n, "transformer.h.%d.%s", l, s), n)
        const char *parts[3] = {"attn.q_proj.weight", "attn.k_proj.weight", "attn.v_proj.weight"};
        for (int j = 0; j < 3; j++) {
            float *hf = fixture_f32(f, H(parts[j]), NULL);
            cr_assert_eq(memcmp(slice(m, TF_P_QKVW, l) + j * C * C, hf, C * C * sizeof(float)), 0, "%s", n);
            free(hf);
        }
        check_same(f, m, TF_P_LN1W, l, H("ln_1.weight"));
        check_same(f, m, TF_P_LN1B, l, H("ln_1.bias"));
        check_same(f, m, TF_P_ATTPROJW, l, H("attn.out_proj.weight"));
        check_same(f, m, TF_P_FCW, l, H("mlp.fc_in.weight"));
        check_same(f, m, TF_P_FCB, l, H("mlp.fc_in.bias"));
        check_same(f, m, TF_P_FCPROJW, l, H("mlp.fc_out.weight"));
        check_same(f, m, TF_P_FCPROJB, l, H("mlp.fc_out.bias"));
#undef H
    }
    tf_st_close(f);
    tf_model_free(m);
}

Test(model_io, neox_fixture_unpermutes_fused_qkv_per_head) {
    tf_model *m = load_ok(FIX "neox-tiny");
    const tf_config *c = &m->cfg;
    cr_assert_eq(c->arch, TF_ARCH_NEOX);
    cr_assert(c->n_layer == 2 && c->n_embd == 16 && c->n_head == 2 && c->n_inner == 48);
    cr_assert(c->rotary_dim == 4 && c->rotary_interleaved == 0 && c->parallel_residual && !c->shared_ln);
    cr_assert(c->qkv_bias && c->attn_out_bias && !c->tied_head && !c->head_bias);
    cr_assert_eq(c->gelu_exact, 1, "NeoX's hidden_act gelu is the exact erf form");
    cr_assert_float_eq(c->rotary_base, 10000.0f, 0);
    tf_error err;
    tf_st_file *f = tf_st_open(FIX "neox-tiny/model.safetensors", &err);
    cr_assert_not_null(f, "%s", err.msg);
    size_t C = 16, H = 2, D = 8;
    check_same(f, m, TF_P_WTE, -1, "gpt_neox.embed_in.weight");
    check_same(f, m, TF_P_LMW, -1, "embed_out.weight");
    check_same(f, m, TF_P_LNFB, -1, "gpt_neox.final_layer_norm.bias");
    for (int l = 0; l < 2; l++) {
        char n[128];
#define H(s) (snprintf(n, sizeof n, "gpt_neox.layers.%d.%s", l, s), n)
        // transformers views the fused output as [head][q|k|v][head_size]
        float *w = fixture_f32(f, H("attention.query_key_value.weight"), NULL);
        float *b = fixture_f32(f, H("attention.query_key_value.bias"), NULL);
        const float *ew = slice(m, TF_P_QKVW, l), *eb = slice(m, TF_P_QKVB, l);
        for (size_t h = 0; h < H; h++)
            for (size_t j = 0; j < 3; j++)
                for (size_t d = 0; d < D; d++) {
                    size_t er = j * C + h * D + d, hr = (h * 3 + j) * D + d;
                    cr_assert_eq(eb[er], b[hr], "bias head %zu part %zu dim %zu", h, j, d);
                    for (size_t k = 0; k < C; k++)
                        cr_assert_eq(ew[er * C + k], w[hr * C + k], "weight head %zu part %zu", h, j);
                }
        free(w);
        free(b);
        check_same(f, m, TF_P_LN1W, l, H("input_layernorm.weight"));
        check_same(f, m, TF_P_LN2W, l, H("post_attention_layernorm.weight"));
        check_same(f, m, TF_P_LN2B, l, H("post_attention_layernorm.bias"));
        check_same(f, m, TF_P_ATTPROJW, l, H("attention.dense.weight"));
        check_same(f, m, TF_P_ATTPROJB, l, H("attention.dense.bias"));
        check_same(f, m, TF_P_FCW, l, H("mlp.dense_h_to_4h.weight"));
        check_same(f, m, TF_P_FCPROJW, l, H("mlp.dense_4h_to_h.weight"));
        check_same(f, m, TF_P_FCPROJB, l, H("mlp.dense_4h_to_h.bias"));
#undef H
    }
    tf_st_close(f);
    tf_model_free(m);
}

// bf16 rounding of an fp32 value, round to nearest even (an independent statement of it)
static float round_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    uint32_t lsb = (u >> 16) & 1;
    u = (u + 0x7fff + lsb) & 0xffff0000u;
    memcpy(&x, &u, 4);
    return x;
}

Test(model_io, f16_and_bf16_directories_load_as_the_rounded_weights) {
    tf_model *m = load_ok(FIX "gpt2-tiny");
    tf_model *h = load_ok(FIX "gpt2-tiny-f16");
    tf_model *b = load_ok(FIX "gpt2-tiny-bf16");
    cr_assert_eq(h->num_params, m->num_params);
    cr_assert_eq(b->num_params, m->num_params);
    size_t changed = 0;
    for (size_t i = 0; i < m->num_params; i++) {
        float x = m->params[i];
        cr_assert_eq(h->params[i], (float)(_Float16)x, "f16 param %zu: %g vs %g", i, h->params[i], x);
        cr_assert_eq(b->params[i], round_bf16(x), "bf16 param %zu: %g vs %g", i, b->params[i], x);
        changed += b->params[i] != x;
    }
    cr_assert_gt(changed, m->num_params / 2, "bf16 copy is not actually rounded");
    tf_model_free(m);
    tf_model_free(h);
    tf_model_free(b);
}

// ---- saving ------------------------------------------------------------------------------------
static void save_round_trip(const char *fixture) {
    tf_model *m = load_ok(fixture);
    tf_error err;
    cr_assert_eq(tf_model_save(m, tmp_path("out"), &err), TF_OK, "%s", err.msg);
    tf_model *r = load_ok(tmp_path("out"));
    expect_same_params(m, r);
    tf_model_free(m);
    tf_model_free(r);
}

Test(model_io, gpt2_save_then_load_is_bit_exact) { save_round_trip(FIX "gpt2-tiny"); }
Test(model_io, gptj_save_then_load_is_bit_exact) { save_round_trip(FIX "gptj-tiny"); }
Test(model_io, neox_save_then_load_is_bit_exact) { save_round_trip(FIX "neox-tiny"); }

Test(model_io, fresh_model_save_then_load_is_bit_exact) {
    tf_config c;
    tf_config_gpt2(&c, 3, 24, 3, 50, 20);
    tf_error err;
    tf_model *m = tf_model_new(&c, 9, &err);
    cr_assert_not_null(m, "%s", err.msg);
    cr_assert_eq(tf_model_save(m, tmp_path("fresh"), &err), TF_OK, "%s", err.msg);
    tf_model *r = load_ok(tmp_path("fresh"));
    expect_same_params(m, r);
    tf_model_free(m);
    tf_model_free(r);
}

Test(model_io, untied_gpt2_saves_lm_head_and_reloads_bit_exact) {
    tf_config c;
    tf_config_gpt2(&c, 1, 16, 2, 30, 8);
    c.tied_head = 0;
    tf_error err;
    tf_model *m = tf_model_new(&c, 5, &err);
    cr_assert_not_null(m, "%s", err.msg);
    for (size_t i = 0; i < m->sizes[TF_P_LMW]; i++) m->param[TF_P_LMW][i] = 0.001f * (float)i;
    cr_assert_eq(tf_model_save(m, tmp, &err), TF_OK, "%s", err.msg);
    tf_st_file *f = tf_st_open(tmp_path("model.safetensors"), &err);
    cr_assert_not_null(f, "%s", err.msg);
    const tf_st_tensor *t = tf_st_find(f, "lm_head.weight");
    cr_assert(t && t->ndim == 2 && t->shape[0] == 30 && t->shape[1] == 16, "lm_head.weight missing or misshapen");
    tf_st_close(f);
    char *js = read_text(tmp_path("config.json"));
    cJSON *j = cJSON_Parse(js);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "tie_word_embeddings")), "%s", js);
    cJSON_Delete(j);
    free(js);
    tf_model *r = load_ok(tmp);
    expect_same_params(m, r);
    tf_model_free(m);
    tf_model_free(r);
}

// The saved file must hold exactly the fixture's tensors (HF's names, F32, shapes and bytes): the
// fixture was written by PyTorch modules with transformers' names and layouts.
static void saved_file_matches_fixture(const char *fixture) {
    char src[256];
    snprintf(src, sizeof src, FIX "%s/model.safetensors", fixture);
    char dir[256];
    snprintf(dir, sizeof dir, FIX "%s", fixture);
    tf_model *m = load_ok(dir);
    tf_error err;
    cr_assert_eq(tf_model_save(m, tmp, &err), TF_OK, "%s", err.msg);
    tf_st_file *a = tf_st_open(src, &err), *b = tf_st_open(tmp_path("model.safetensors"), &err);
    cr_assert(a && b, "%s", err.msg);
    cr_assert_eq(tf_st_count(b), tf_st_count(a), "saved %d tensors, HF has %d", tf_st_count(b),
                 tf_st_count(a));
    cr_assert_str_eq(tf_st_metadata(b, "format"), "pt");
    for (int i = 0; i < tf_st_count(a); i++) {
        const tf_st_tensor *x = tf_st_at(a, i), *y = tf_st_find(b, x->name);
        cr_assert_not_null(y, "saved file lacks '%s'", x->name);
        cr_assert_eq(y->dtype, TF_ST_F32);
        cr_assert_eq(y->ndim, x->ndim, "%s", x->name);
        cr_assert_eq(memcmp(y->shape, x->shape, sizeof(int64_t) * (size_t)x->ndim), 0, "%s shape", x->name);
        cr_assert_eq(memcmp(y->data, x->data, x->nbytes), 0, "%s bytes", x->name);
    }
    tf_st_close(a);
    tf_st_close(b);
    tf_model_free(m);
}

Test(model_io, gpt2_saved_file_has_hf_names_layouts_and_no_tied_head) { saved_file_matches_fixture("gpt2-tiny"); }
Test(model_io, gptj_saved_file_has_hf_names_and_layouts) { saved_file_matches_fixture("gptj-tiny"); }
Test(model_io, neox_saved_file_has_hf_names_and_fused_qkv) { saved_file_matches_fixture("neox-tiny"); }

Test(model_io, saved_config_json_is_what_transformers_reads) {
    const char *fx[3] = {FIX "gpt2-tiny", FIX "gptj-tiny", FIX "neox-tiny"};
    const char *type[3] = {"gpt2", "gptj", "gpt_neox"};
    const char *archn[3] = {"GPT2LMHeadModel", "GPTJForCausalLM", "GPTNeoXForCausalLM"};
    for (int k = 0; k < 3; k++) {
        tf_model *m = load_ok(fx[k]);
        tf_error err;
        cr_assert_eq(tf_model_save(m, tmp, &err), TF_OK, "%s", err.msg);
        char *s = read_text(tmp_path("config.json"));
        cJSON *j = cJSON_Parse(s);
        cr_assert_not_null(j);
        cr_assert_str_eq(cJSON_GetObjectItem(j, "model_type")->valuestring, type[k]);
        cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "architectures"), 0)->valuestring, archn[k]);
        // every key the fixture's (transformers-style) config sets to a size is written identically
        char src[256];
        snprintf(src, sizeof src, "%s/config.json", fx[k]);
        char *fs = read_text(src);
        cJSON *fj = cJSON_Parse(fs);
        const char *keys[] = {"n_layer", "n_embd", "n_head", "n_inner", "rotary_dim", "vocab_size",
                              "n_positions", "layer_norm_epsilon", "activation_function",
                              "num_hidden_layers", "hidden_size", "num_attention_heads",
                              "intermediate_size", "rotary_pct", "rotary_emb_base",
                              "max_position_embeddings", "layer_norm_eps", "hidden_act",
                              "use_parallel_residual", "tie_word_embeddings", "bos_token_id",
                              "eos_token_id", NULL};
        for (int i = 0; keys[i]; i++) {
            cJSON *want = cJSON_GetObjectItem(fj, keys[i]);
            if (!want) continue;
            cJSON *got = cJSON_GetObjectItem(j, keys[i]);
            cr_assert_not_null(got, "%s: saved config lacks %s", type[k], keys[i]);
            cr_assert(cJSON_Compare(want, got, 1), "%s: %s differs", type[k], keys[i]);
        }
        cJSON_Delete(fj);
        free(fs);
        cJSON_Delete(j);
        free(s);
        tf_model_free(m);
    }
}

Test(model_io, save_replaces_an_existing_model_directory) {
    tf_model *a = load_ok(FIX "gpt2-tiny");
    tf_model *b = load_ok(FIX "neox-tiny");
    tf_error err;
    cr_assert_eq(tf_model_save(a, tmp, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(tf_model_save(b, tmp, &err), TF_OK, "%s", err.msg);
    tf_model *r = load_ok(tmp);
    expect_same_params(b, r);
    tf_model_free(a);
    tf_model_free(b);
    tf_model_free(r);
}

// ---- name variants, buffers, shards ------------------------------------------------------------
static int strip_transformer(const tf_st_tensor *t, tf_st_entry *e, char *buf) {
    if (strncmp(t->name, "transformer.", 12) == 0) memmove(buf, buf + 12, strlen(buf + 12) + 1);
    (void)e;
    return 0;
}

Test(model_io, gpt2_accepts_unprefixed_names_and_ignores_mask_buffers) {
    copy_config("gpt2-tiny", NULL, NULL);
    static float mask[32 * 32], masked_bias = -1e4f;
    for (int i = 0; i < 32 * 32; i++) mask[i] = (i % 32) <= (i / 32);
    tf_model *m = load_ok(FIX "gpt2-tiny");
    tf_st_entry extra[4] = {
        {.name = "h.0.attn.bias", .dtype = TF_ST_F32, .ndim = 4, .shape = {1, 1, 32, 32}, .data = mask},
        {.name = "h.1.attn.bias", .dtype = TF_ST_F32, .ndim = 4, .shape = {1, 1, 32, 32}, .data = mask},
        {.name = "h.0.attn.masked_bias", .dtype = TF_ST_F32, .ndim = 0, .data = &masked_bias},
        // a tied checkpoint may carry the head anyway; transformers ties it to wte
        {.name = "lm_head.weight", .dtype = TF_ST_F32, .ndim = 2, .shape = {64, 32}, .data = m->param[TF_P_WTE]},
    };
    write_variant(FIX "gpt2-tiny/model.safetensors", tmp_path("model.safetensors"), strip_transformer,
                  extra, 4);
    tf_model *r = load_ok(tmp);
    expect_same_params(m, r);
    tf_model_free(m);
    tf_model_free(r);
}

Test(model_io, neox_ignores_rotary_and_mask_buffers) {
    copy_config("neox-tiny", NULL, NULL);
    static float inv_freq[2] = {1.0f, 0.01f}, masked_bias = -1e9f;
    static uint8_t mask[32 * 32];
    tf_st_entry extra[3] = {
        {.name = "gpt_neox.layers.0.attention.rotary_emb.inv_freq", .dtype = TF_ST_F32, .ndim = 1, .shape = {2}, .data = inv_freq},
        {.name = "gpt_neox.layers.1.attention.masked_bias", .dtype = TF_ST_F32, .ndim = 0, .data = &masked_bias},
        {.name = "gpt_neox.layers.1.attention.bias", .dtype = TF_ST_BOOL, .ndim = 4, .shape = {1, 1, 32, 32}, .data = mask},
    };
    write_variant(FIX "neox-tiny/model.safetensors", tmp_path("model.safetensors"), NULL, extra, 3);
    tf_model *m = load_ok(FIX "neox-tiny");
    tf_model *r = load_ok(tmp);
    expect_same_params(m, r);
    tf_model_free(m);
    tf_model_free(r);
}

static int only_layer1(const tf_st_tensor *t, tf_st_entry *e, char *buf) {
    (void)e; (void)buf;
    return strstr(t->name, ".h.1.") == NULL;
}
static int all_but_layer1(const tf_st_tensor *t, tf_st_entry *e, char *buf) {
    return !only_layer1(t, e, buf);
}

// Two shards and an index naming, for each tensor, the shard that holds it.
static void write_sharded(const char *missing_shard_for) {
    copy_config("gpt2-tiny", NULL, NULL);
    write_variant(FIX "gpt2-tiny/model.safetensors", tmp_path("model-00001-of-00002.safetensors"),
                  all_but_layer1, NULL, 0);
    write_variant(FIX "gpt2-tiny/model.safetensors", tmp_path("model-00002-of-00002.safetensors"),
                  only_layer1, NULL, 0);
    tf_error err;
    tf_st_file *f = tf_st_open(FIX "gpt2-tiny/model.safetensors", &err);
    cJSON *root = cJSON_CreateObject(), *map = cJSON_AddObjectToObject(root, "weight_map");
    cJSON_AddObjectToObject(root, "metadata");
    for (int i = 0; i < tf_st_count(f); i++) {
        const char *n = tf_st_at(f, i)->name;
        const char *shard = strstr(n, ".h.1.") ? "model-00002-of-00002.safetensors"
                                               : "model-00001-of-00002.safetensors";
        if (missing_shard_for && strcmp(n, missing_shard_for) == 0) shard = "model-00003-of-00002.safetensors";
        cJSON_AddStringToObject(map, n, shard);
    }
    char *s = cJSON_Print(root);
    write_text(tmp_path("model.safetensors.index.json"), s);
    free(s);
    cJSON_Delete(root);
    tf_st_close(f);
}

Test(model_io, sharded_checkpoint_loads_like_the_single_file) {
    write_sharded(NULL);
    tf_model *m = load_ok(FIX "gpt2-tiny");
    tf_model *r = load_ok(tmp);
    expect_same_params(m, r);
    tf_model_free(m);
    tf_model_free(r);
}

Test(model_io, sharded_index_naming_a_missing_shard_is_an_error) {
    write_sharded("transformer.h.0.mlp.c_fc.bias");
    expect_load_error(tmp, TF_EIO, "model.safetensors.index.json", "model-00003-of-00002.safetensors");
    expect_load_error(tmp, TF_EIO, "'transformer.h.0.mlp.c_fc.bias'", NULL);
}

Test(model_io, sharded_index_naming_the_wrong_shard_is_an_error) {
    write_sharded(NULL);
    char *s = read_text(tmp_path("model.safetensors.index.json"));
    // claim ln_f lives in the second shard, which does not hold it
    char *at = strstr(s, "\"transformer.ln_f.weight\":");
    cr_assert_not_null(at);
    char *one = strstr(at, "00001-of");
    memcpy(one, "00002", 5);
    write_text(tmp_path("model.safetensors.index.json"), s);
    free(s);
    expect_load_error(tmp, TF_EBADFILE, "'transformer.ln_f.weight'", "model-00002-of-00002.safetensors");
}

// ---- bad directories ---------------------------------------------------------------------------
Test(model_io, truncated_weights_file_names_file_and_tensor) {
    copy_config("gpt2-tiny", NULL, NULL);
    size_t n;
    tf_error err;
    char *bytes = tf_read_file(FIX "gpt2-tiny/model.safetensors", &n, &err);
    cr_assert_not_null(bytes);
    cr_assert_eq(tf_write_file_atomic(tmp_path("model.safetensors"), bytes, n - 100, &err), TF_OK);
    free(bytes);
    expect_load_error(tmp, TF_EBADFILE, tmp_path("model.safetensors"), "tensor '");
}

Test(model_io, missing_weights_file_is_an_io_error_naming_it) {
    copy_config("gpt2-tiny", NULL, NULL);
    expect_load_error(tmp, TF_EIO, tmp_path("model.safetensors"), NULL);
}

Test(model_io, pickle_weights_get_a_hint_to_convert) {
    copy_config("gpt2-tiny", NULL, NULL);
    write_text(tmp_path("pytorch_model.bin"), "PK not really a zip");
    expect_load_error(tmp, TF_EIO, tmp_path("model.safetensors"), "safe_serialization");
}

static int drop_fc_bias(const tf_st_tensor *t, tf_st_entry *e, char *buf) {
    (void)e; (void)buf;
    return strcmp(t->name, "transformer.h.1.mlp.c_fc.bias") == 0;
}

Test(model_io, missing_tensor_names_file_and_tensor) {
    copy_config("gpt2-tiny", NULL, NULL);
    write_variant(FIX "gpt2-tiny/model.safetensors", tmp_path("model.safetensors"), drop_fc_bias, NULL, 0);
    expect_load_error(tmp, TF_EBADFILE, tmp_path("model.safetensors"), "missing tensor 'transformer.h.1.mlp.c_fc.bias'");
}

static int shrink_ln_f(const tf_st_tensor *t, tf_st_entry *e, char *buf) {
    (void)buf;
    if (strcmp(t->name, "transformer.ln_f.weight") == 0) e->shape[0] = 31;
    return 0;
}

Test(model_io, misshapen_tensor_names_file_tensor_and_shapes) {
    copy_config("gpt2-tiny", NULL, NULL);
    write_variant(FIX "gpt2-tiny/model.safetensors", tmp_path("model.safetensors"), shrink_ln_f, NULL, 0);
    expect_load_error(tmp, TF_EBADFILE, "'transformer.ln_f.weight'", "[31]");
    expect_load_error(tmp, TF_EBADFILE, tmp_path("model.safetensors"), "[32]");
}

static int transpose_c_attn(const tf_st_tensor *t, tf_st_entry *e, char *buf) {
    (void)buf;
    if (strcmp(t->name, "transformer.h.0.attn.c_attn.weight") == 0) {
        e->shape[0] = t->shape[1];
        e->shape[1] = t->shape[0];
    }
    return 0;
}

Test(model_io, linear_layout_where_conv1d_expected_is_an_error) {
    copy_config("gpt2-tiny", NULL, NULL);
    write_variant(FIX "gpt2-tiny/model.safetensors", tmp_path("model.safetensors"), transpose_c_attn, NULL, 0);
    expect_load_error(tmp, TF_EBADFILE, "'transformer.h.0.attn.c_attn.weight'", "[96, 32]");
}

Test(model_io, config_contradicting_weights_names_tensor_and_config) {
    copy_config("gpt2-tiny", "\"vocab_size\": 64", "\"vocab_size\": 65");
    write_variant(FIX "gpt2-tiny/model.safetensors", tmp_path("model.safetensors"), NULL, NULL, 0);
    expect_load_error(tmp, TF_EBADFILE, "'transformer.wte.weight'", "vocab_size 65");
    expect_load_error(tmp, TF_EBADFILE, "config.json", "[64, 32]");
}

Test(model_io, config_with_fewer_layers_than_weights_is_an_error) {
    copy_config("gpt2-tiny", "\"n_layer\": 2", "\"n_layer\": 1");
    write_variant(FIX "gpt2-tiny/model.safetensors", tmp_path("model.safetensors"), NULL, NULL, 0);
    expect_load_error(tmp, TF_EBADFILE, "'transformer.h.1.", "n_layer 1");
}

Test(model_io, unknown_extra_tensor_names_it) {
    copy_config("gpt2-tiny", NULL, NULL);
    static float x[4];
    tf_st_entry extra = {.name = "transformer.h.0.attn.rotary.weight", .dtype = TF_ST_F32, .ndim = 1,
                         .shape = {4}, .data = x};
    write_variant(FIX "gpt2-tiny/model.safetensors", tmp_path("model.safetensors"), NULL, &extra, 1);
    expect_load_error(tmp, TF_EBADFILE, tmp_path("model.safetensors"), "'transformer.h.0.attn.rotary.weight'");
}

static int add_prefix_copy_wte(const tf_st_tensor *t, tf_st_entry *e, char *buf) {
    (void)t; (void)e; (void)buf;
    return 0;
}

Test(model_io, tensor_given_twice_with_and_without_prefix_is_an_error) {
    copy_config("gpt2-tiny", NULL, NULL);
    tf_model *m = load_ok(FIX "gpt2-tiny");
    tf_st_entry extra = {.name = "wte.weight", .dtype = TF_ST_F32, .ndim = 2, .shape = {64, 32},
                         .data = m->param[TF_P_WTE]};
    write_variant(FIX "gpt2-tiny/model.safetensors", tmp_path("model.safetensors"), add_prefix_copy_wte,
                  &extra, 1);
    expect_load_error(tmp, TF_EBADFILE, "wte.weight'", "twice");
    tf_model_free(m);
}

static int int_ln_f_bias(const tf_st_tensor *t, tf_st_entry *e, char *buf) {
    (void)buf;
    if (strcmp(t->name, "transformer.ln_f.bias") == 0) e->dtype = TF_ST_I32;
    return 0;
}

Test(model_io, integer_weights_are_refused_naming_the_tensor) {
    copy_config("gpt2-tiny", NULL, NULL);
    write_variant(FIX "gpt2-tiny/model.safetensors", tmp_path("model.safetensors"), int_ln_f_bias, NULL, 0);
    expect_load_error(tmp, TF_EBADFILE, "'transformer.ln_f.bias'", "I32");
}

Test(model_io, unknown_dtype_in_weights_names_file_and_tensor) {
    copy_config("gpt2-tiny", NULL, NULL);
    size_t n;
    tf_error err;
    char *bytes = tf_read_file(FIX "gpt2-tiny/model.safetensors", &n, &err);
    cr_assert_not_null(bytes);
    char *at = strstr(bytes + 8, "\"transformer.wpe.weight\":{\"dtype\":\"F32\"");
    cr_assert_not_null(at);
    memcpy(strstr(at, "F32"), "Q32", 3);
    cr_assert_eq(tf_write_file_atomic(tmp_path("model.safetensors"), bytes, n, &err), TF_OK);
    free(bytes);
    expect_load_error(tmp, TF_EBADFILE, "'transformer.wpe.weight'", "Q32");
}

Test(model_io, malformed_config_json_names_it) {
    write_text(tmp_path("config.json"), "{\"model_type\": \"gpt2\", \"n_layer\": 2,,}");
    expect_load_error(tmp, TF_EBADFILE, tmp_path("config.json"), "JSON");
}

Test(model_io, missing_config_json_names_it) {
    write_variant(FIX "gpt2-tiny/model.safetensors", tmp_path("model.safetensors"), NULL, NULL, 0);
    expect_load_error(tmp, TF_EIO, tmp_path("config.json"), NULL);
}

Test(model_io, config_missing_a_size_names_the_key) {
    copy_config("gpt2-tiny", "\"n_embd\": 32,", "");
    expect_load_error(tmp, TF_EBADFILE, "config.json", "\"n_embd\"");
}

Test(model_io, config_with_unsupported_activation_names_the_key) {
    copy_config("neox-tiny", "\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\"");
    expect_load_error(tmp, TF_EBADFILE, "config.json", "\"hidden_act\"");
}

Test(model_io, config_with_unknown_model_type_names_it) {
    copy_config("gpt2-tiny", "\"model_type\": \"gpt2\"", "\"model_type\": \"llama\"");
    expect_load_error(tmp, TF_EBADFILE, "config.json", "llama");
}

// ---- config parsing ----------------------------------------------------------------------------
Test(config, gpt2_defaults_follow_transformers) {
    tf_config c;
    tf_error err;
    cr_assert_eq(tf_config_parse("{\"model_type\":\"gpt2\",\"n_layer\":12,\"n_embd\":768,\"n_head\":12,"
                                 "\"vocab_size\":50257,\"n_positions\":1024,\"n_inner\":null}",
                                 "x/config.json", &c, &err), TF_OK, "%s", err.msg);
    cr_assert(c.n_inner == 3072 && c.tied_head && c.bos_token_id == 50256 && c.eos_token_id == 50256);
    cr_assert_float_eq(c.layer_norm_eps, 1e-5f, 0);
}

Test(config, neox_rotary_pct_truncates_like_transformers) {
    tf_config c;
    tf_error err;
    // Pythia-70m: head size 64, rotary_pct 0.25 -> 16 rotary dims
    cr_assert_eq(tf_config_parse("{\"model_type\":\"gpt_neox\",\"num_hidden_layers\":6,\"hidden_size\":512,"
                                 "\"num_attention_heads\":8,\"intermediate_size\":2048,\"vocab_size\":50304,"
                                 "\"max_position_embeddings\":2048,\"rotary_pct\":0.25}",
                                 "p/config.json", &c, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(c.rotary_dim, 16);
    cr_assert(c.parallel_residual && !c.tied_head && c.bos_token_id == 0 && c.eos_token_id == 2);
    // newer name for the same key
    cr_assert_eq(tf_config_parse("{\"model_type\":\"gpt_neox\",\"num_hidden_layers\":1,\"hidden_size\":48,"
                                 "\"num_attention_heads\":4,\"intermediate_size\":96,\"vocab_size\":10,"
                                 "\"partial_rotary_factor\":0.5,\"rope_theta\":500.0}",
                                 "p/config.json", &c, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(c.rotary_dim, 6);
    cr_assert_float_eq(c.rotary_base, 500.0f, 0);
}

Test(config, to_json_round_trips_every_architecture) {
    tf_config a;
    tf_config_gpt2(&a, 2, 24, 3, 100, 40);
    tf_config cs[4] = {a, a, a, a};
    cs[1].arch = TF_ARCH_GPTJ; cs[1].parallel_residual = cs[1].shared_ln = 1; cs[1].rotary_dim = 6;
    cs[1].rotary_interleaved = 1; cs[1].qkv_bias = cs[1].attn_out_bias = 0; cs[1].tied_head = 0;
    cs[1].head_bias = 1; cs[1].n_inner = 50;
    cs[2].arch = TF_ARCH_NEOX; cs[2].parallel_residual = 1; cs[2].rotary_dim = 2; cs[2].tied_head = 0;
    cs[2].n_inner = 70; cs[2].bos_token_id = 0; cs[2].eos_token_id = 2; cs[2].gelu_exact = 1;
    cs[3] = cs[2]; cs[3].parallel_residual = 0; cs[3].rotary_dim = 8; cs[3].layer_norm_eps = 1e-6f;
    cs[3].rotary_base = 12345.0f;
    cs[3].gelu_exact = 0;  // a NeoX with gelu_new
    cs[0].gelu_exact = 1;  // a GPT-2 with exact gelu
    for (int k = 0; k < 4; k++) {
        char *s = tf_config_to_json(&cs[k]);
        cr_assert_not_null(s);
        tf_config back;
        tf_error err;
        cr_assert_eq(tf_config_parse(s, "saved/config.json", &back, &err), TF_OK, "%s\n%s", err.msg, s);
        cr_assert_eq(memcmp(&back, &cs[k], sizeof back), 0, "config %d differs after round trip:\n%s", k, s);
        free(s);
    }
}

Test(config, invalid_values_name_the_key) {
    tf_config c;
    tf_error err;
    cr_assert_eq(tf_config_parse("{\"model_type\":\"gpt2\",\"n_layer\":\"two\"}", "d/config.json", &c, &err),
                 TF_EBADFILE);
    cr_assert(strstr(err.msg, "d/config.json") && strstr(err.msg, "\"n_layer\""), "%s", err.msg);
    cr_assert_eq(tf_config_parse("{\"model_type\":\"gptj\",\"n_layer\":2,\"n_embd\":16,\"n_head\":2,"
                                 "\"vocab_size\":10,\"n_positions\":8,\"rotary_dim\":3}",
                                 "d/config.json", &c, &err), TF_EBADFILE);
    cr_assert(strstr(err.msg, "rotary_dim"), "%s", err.msg);
    cr_assert_eq(tf_config_parse("{\"model_type\":\"gpt2\",\"n_layer\":2,\"n_embd\":30,\"n_head\":4,"
                                 "\"vocab_size\":10,\"n_positions\":8}", "d/config.json", &c, &err),
                 TF_EBADFILE);
    cr_assert(strstr(err.msg, "n_head"), "%s", err.msg);
    cr_assert_eq(tf_config_parse("[1, 2]", "d/config.json", &c, &err), TF_EBADFILE);
    cr_assert(strstr(err.msg, "d/config.json"), "%s", err.msg);
    cr_assert_eq(tf_config_parse("{\"model_type\":\"gpt_neox\",\"num_hidden_layers\":1,\"hidden_size\":16,"
                                 "\"num_attention_heads\":2,\"intermediate_size\":8,\"vocab_size\":10,"
                                 "\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0}}",
                                 "d/config.json", &c, &err), TF_EBADFILE);
    cr_assert(strstr(err.msg, "rope_scaling"), "%s", err.msg);
}
