// test_adapter_file.c — LoRA adapters in PEFT's format (tf_adapter.h): the PEFT-layout fixtures of
// make_lora_fixtures.py load with PEFT's key names and shapes for GPT-2, GPT-J and NeoX, save -> load
// is bit-exact and writes what PEFT reads, targets match as PEFT matches them, F16/BF16 files read
// as their values, and each bad adapter (another base, an unknown module, r = 0, a missing, unknown
// or misshapen tensor, a corrupt file, an option the engine lacks) is refused with one error naming
// the file and the tensor or key.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline_util.h"
#include "tf_safetensors.h"
#include "toolformer.h"

#define FIX "tests/fixtures/"

static char tmp[64];

static void make_tmp(void) {
    tmp_dir_make(tmp, sizeof tmp, "adapter");
}

static void clean_tmp(void) { rm_rf_dir(tmp); }

TestSuite(adapter_file, .init = make_tmp, .fini = clean_tmp);

static tf_config base_cfg(const char *arch) {
    char dir[128];
    snprintf(dir, sizeof dir, FIX "%s-tiny", arch);
    tf_config c;
    tf_error err;
    cr_assert_eq(tf_config_load(dir, &c, &err), TF_OK, "%s", err.msg);
    return c;
}

static tf_adapter *load_ok(const char *dir, const tf_config *c) {
    tf_error err;
    tf_adapter *a = tf_adapter_load(dir, c, &err);
    cr_assert_not_null(a, "%s", err.msg);
    return a;
}

// Loading dir must fail with a one-line message containing each of the NULL-terminated needles.
static void load_fails(const char *dir, const tf_config *c, ...) {
    tf_error err = {0};
    tf_adapter *a = tf_adapter_load(dir, c, &err);
    cr_assert_null(a, "loading %s should fail", dir);
    cr_assert_neq(err.code, TF_OK);
    cr_assert_null(strchr(err.msg, '\n'), "one line: %s", err.msg);
    va_list ap;
    va_start(ap, c);
    for (const char *s; (s = va_arg(ap, const char *));)
        cr_assert(strstr(err.msg, s), "message lacks '%s': %s", s, err.msg);
    va_end(ap);
}

// Copies an adapter fixture's two files into tmp/name, the config with `from` replaced by `to`.
static char *copy_fixture(const char *arch, const char *name, const char *from, const char *to) {
    static char dst[256];
    snprintf(dst, sizeof dst, "%s/%s", tmp, name);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp " FIX "lora-%s/* '%s'/", dst, arch, dst);
    cr_assert_eq(system(cmd), 0);
    if (from) {
        char path[300];
        snprintf(path, sizeof path, "%s/adapter_config.json", dst);
        tf_error err;
        char *s = tf_read_file(path, NULL, &err);
        cr_assert_not_null(s, "%s", err.msg);
        char *p = strstr(s, from);
        cr_assert_not_null(p, "'%s' not in %s", from, path);
        size_t n = strlen(s) + strlen(to) + 1;
        char *o = malloc(n);
        snprintf(o, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
        cr_assert_eq(tf_write_file_atomic(path, o, strlen(o), &err), TF_OK, "%s", err.msg);
        free(o);
        free(s);
    }
    return dst;
}

// Rewrites dir/adapter_model.safetensors from the fixture's tensors: those whose name contains one
// of drop[] (NULL-terminated; drop may be NULL) left out, extra (may be NULL) added as a [1, 1] F32
// tensor, all stored as dtype.
static void rewrite_weights(const char *arch, const char *dir, const char *const *drop, const char *extra,
                            tf_st_dtype dtype) {
    char src[256], dst[300];
    snprintf(src, sizeof src, FIX "lora-%s/adapter_model.safetensors", arch);
    snprintf(dst, sizeof dst, "%s/adapter_model.safetensors", dir);
    tf_error err;
    tf_st_file *f = tf_st_open(src, &err);
    cr_assert_not_null(f, "%s", err.msg);
    int n = tf_st_count(f), k = 0;
    tf_st_entry *e = calloc((size_t)n + 1, sizeof *e);
    void **bufs = calloc((size_t)n, sizeof *bufs);
    static const float one = 1.0f;
    for (int i = 0; i < n; i++) {
        const tf_st_tensor *t = tf_st_at(f, i);
        int skip = 0;
        for (int d = 0; drop && drop[d]; d++) skip |= strstr(t->name, drop[d]) != NULL;
        if (skip) continue;
        float *v = malloc(t->numel * sizeof(float));
        cr_assert_eq(tf_st_to_f32(f, t, v, &err), TF_OK, "%s", err.msg);
        if (dtype != TF_ST_F32) {
            uint16_t *h = malloc(t->numel * 2);
            for (size_t j = 0; j < t->numel; j++) h[j] = dtype == TF_ST_BF16 ? tf_f32_to_bf16(v[j]) : tf_f32_to_f16(v[j]);
            free(v);
            v = (float *)h;
        }
        bufs[i] = v;
        e[k] = (tf_st_entry){.name = t->name, .dtype = dtype, .ndim = t->ndim, .data = v};
        memcpy(e[k].shape, t->shape, sizeof t->shape);
        k++;
    }
    if (extra) e[k++] = (tf_st_entry){.name = extra, .dtype = TF_ST_F32, .ndim = 2, .shape = {1, 1}, .data = &one};
    cr_assert_eq(tf_st_write(dst, e, k, &err), TF_OK, "%s", err.msg);
    for (int i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    free(e);
    tf_st_close(f);
}

// Every site's A and B equal the file's tensor of its PEFT key, and the file holds nothing else.
static void assert_matches_file(const tf_adapter *a, const char *path, int exact) {
    tf_error err;
    tf_st_file *f = tf_st_open(path, &err);
    cr_assert_not_null(f, "%s", err.msg);
    cr_assert_eq(tf_st_count(f), 2 * a->n_sites);
    for (int i = 0; i < a->n_sites; i++)
        for (int b = 0; b < 2; b++) {
            const tf_lora_site *s = &a->sites[i];
            char key[320];
            tf_lora_site_key(s, b ? 'B' : 'A', key, sizeof key);
            const tf_st_tensor *t = tf_st_find(f, key);
            cr_assert_not_null(t, "%s missing from %s", key, path);
            cr_assert_eq(t->shape[0], b ? s->out : a->r, "%s", key);
            cr_assert_eq(t->shape[1], b ? a->r : s->in, "%s", key);
            float *v = malloc(t->numel * sizeof(float));
            cr_assert_eq(tf_st_to_f32(f, t, v, &err), TF_OK, "%s", err.msg);
            const float *got = b ? s->B : s->A;
            for (size_t j = 0; j < t->numel; j++)
                if (exact) cr_assert_eq(memcmp(&got[j], &v[j], 4), 0, "%s[%zu]: %g vs %g", key, j, got[j], v[j]);
                else cr_assert_float_eq(got[j], v[j], 0, "%s[%zu]", key, j);
            free(v);
        }
    tf_st_close(f);
}

Test(adapter_file, loads_peft_fixtures_with_their_keys_and_shapes) {
    const char *arch[] = {"gpt2", "gptj", "neox"};
    const int sites[] = {6, 6, 4};
    for (int i = 0; i < 3; i++) {
        tf_config c = base_cfg(arch[i]);
        char dir[128], w[192];
        snprintf(dir, sizeof dir, FIX "lora-%s", arch[i]);
        snprintf(w, sizeof w, "%s/adapter_model.safetensors", dir);
        tf_adapter *a = load_ok(dir, &c);
        cr_assert_eq(a->r, 4);
        cr_assert_float_eq(a->alpha, 8.0f, 0);
        cr_assert_float_eq(a->scaling, 2.0f, 0);
        cr_assert_eq(a->n_sites, sites[i], "%s: %d sites", arch[i], a->n_sites);
        cr_assert_str_eq(a->base_model, i == 0 ? "gpt2-tiny" : i == 1 ? "gptj-tiny" : "neox-tiny");
        assert_matches_file(a, w, 1);
        tf_adapter_free(a);
    }
}

Test(adapter_file, gpt2_c_proj_matches_attention_and_mlp_by_suffix) {
    tf_config c = base_cfg("gpt2");
    tf_adapter *a = load_ok(FIX "lora-gpt2", &c);
    char key[320], base[320];
    tf_lora_site *s = tf_adapter_site(a, 1, 3);  // mlp.c_proj of layer 1: Conv1D [n_inner, n_embd]
    cr_assert_not_null(s);
    tf_lora_site_key(s, 'A', key, sizeof key);
    tf_lora_site_base_name(s, base, sizeof base);
    cr_assert_str_eq(key, "base_model.model.transformer.h.1.mlp.c_proj.lora_A.weight");
    cr_assert_str_eq(base, "transformer.h.1.mlp.c_proj.weight");
    cr_assert_eq(s->in, 4 * c.n_embd);
    cr_assert_eq(s->out, c.n_embd);
    cr_assert(s->mod->conv1d);
    cr_assert_not_null(tf_adapter_site(a, 0, 1));  // attn.c_proj
    cr_assert_null(tf_adapter_site(a, 0, 2));      // c_fc: not targeted
    tf_adapter_free(a);

    tf_error err;
    a = tf_adapter_new(&c, 2, 4, "attn.c_proj", 0, &err);
    cr_assert_not_null(a, "%s", err.msg);
    cr_assert_eq(a->n_sites, c.n_layer);
    cr_assert_not_null(tf_adapter_site(a, 1, 1));
    cr_assert_null(tf_adapter_site(a, 1, 3));
    tf_adapter_free(a);
}

Test(adapter_file, all_linear_and_default_targets) {
    tf_error err;
    const char *arch[] = {"gpt2", "gptj", "neox"};
    const int per_layer[] = {4, 6, 4}, dflt[] = {1, 2, 1};
    for (int i = 0; i < 3; i++) {
        tf_config c = base_cfg(arch[i]);
        tf_adapter *a = tf_adapter_new(&c, 2, 4, "all-linear", 0, &err);
        cr_assert_not_null(a, "%s", err.msg);
        cr_assert_eq(a->n_sites, per_layer[i] * c.n_layer, "%s", arch[i]);
        tf_adapter_free(a);
        a = tf_adapter_new(&c, 2, 4, NULL, 0, &err);  // PEFT's default targets for the model type
        cr_assert_not_null(a, "%s", err.msg);
        cr_assert_eq(a->n_sites, dflt[i] * c.n_layer, "%s", arch[i]);
        tf_adapter_free(a);
    }
}

Test(adapter_file, gptj_and_neox_module_shapes) {
    tf_config j = base_cfg("gptj"), n = base_cfg("neox");
    tf_error err;
    tf_adapter *a = tf_adapter_new(&j, 3, 6, "q_proj, fc_in", 0, &err);
    cr_assert_not_null(a, "%s", err.msg);
    cr_assert_eq(a->n_sites, 2 * j.n_layer);
    tf_lora_site *s = tf_adapter_site(a, 0, 2);  // q_proj
    cr_assert(s && s->in == j.n_embd && s->out == j.n_embd && s->mod->part == 0 && s->mod->param == TF_P_QKVW);
    s = tf_adapter_site(a, 1, 4);  // fc_in
    cr_assert(s && s->in == j.n_embd && s->out == j.n_inner && !s->mod->conv1d);
    tf_adapter_free(a);
    a = tf_adapter_new(&n, 3, 6, "query_key_value", 0, &err);
    cr_assert_not_null(a, "%s", err.msg);
    s = tf_adapter_site(a, 1, 0);
    cr_assert(s && s->in == n.n_embd && s->out == 3 * n.n_embd && s->mod->neox_fused);
    tf_adapter_free(a);
}

Test(adapter_file, save_then_load_is_bit_exact_and_peft_shaped) {
    tf_config c = base_cfg("gptj");
    tf_error err;
    tf_adapter *a = tf_adapter_new(&c, 3, 5.5f, "q_proj,v_proj,fc_out", 0.05f, &err);
    cr_assert_not_null(a, "%s", err.msg);
    tf_adapter_init(a, 42);
    // PEFT's init: A inside +-1/sqrt(in), not all zero; B zero
    float amax = 0;
    for (int i = 0; i < a->n_sites; i++)
        for (int k = 0; k < a->r * a->sites[i].in; k++) {
            float v = fabsf(a->sites[i].A[k]);
            cr_assert(v <= 1.0f / sqrtf((float)a->sites[i].in));
            amax = v > amax ? v : amax;
        }
    cr_assert_gt(amax, 0.1f / sqrtf((float)c.n_inner));
    for (int k = 0; k < a->r * a->sites[0].out; k++) cr_assert_eq(a->sites[0].B[k], 0.0f);
    tf_rng rng;
    tf_rng_seed(&rng, 7);
    for (int i = 0; i < a->n_sites; i++)
        for (int k = 0; k < a->r * a->sites[i].out; k++) a->sites[i].B[k] = tf_rng_normal(&rng);
    cr_assert_eq(tf_adapter_set_base_model(a, "EleutherAI/gpt-j-6b", &err), TF_OK);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/out/adapter", tmp);
    cr_assert_eq(tf_adapter_save(a, dir, &err), TF_OK, "%s", err.msg);

    tf_adapter *b = load_ok(dir, &c);
    cr_assert_eq(b->r, 3);
    cr_assert_float_eq(b->alpha, 5.5f, 0);
    cr_assert_float_eq(b->dropout, 0.05f, 1e-7);
    cr_assert_eq(b->n_sites, a->n_sites);
    cr_assert_str_eq(b->base_model, "EleutherAI/gpt-j-6b");
    cr_assert_eq(b->n_targets, 3);
    cr_assert_str_eq(b->targets[2], "fc_out");
    char w[200];
    snprintf(w, sizeof w, "%s/adapter_model.safetensors", dir);
    assert_matches_file(a, w, 1);
    for (int i = 0; i < a->n_sites; i++) {
        cr_assert_eq(memcmp(a->sites[i].A, b->sites[i].A, (size_t)a->r * a->sites[i].in * 4), 0);
        cr_assert_eq(memcmp(a->sites[i].B, b->sites[i].B, (size_t)a->r * a->sites[i].out * 4), 0);
    }
    // what PEFT's LoraConfig reads
    char cpath[200];
    snprintf(cpath, sizeof cpath, "%s/adapter_config.json", dir);
    char *s = tf_read_file(cpath, NULL, &err);
    cr_assert_not_null(s, "%s", err.msg);
    const char *want[] = {"\"peft_type\":\t\"LORA\"", "\"task_type\":\t\"CAUSAL_LM\"", "\"bias\":\t\"none\"",
                          "\"r\":\t3", "\"lora_alpha\":\t5.5", "\"fan_in_fan_out\":\tfalse"};
    for (int i = 0; i < 6; i++) cr_assert(strstr(s, want[i]), "%s lacks %s:\n%s", cpath, want[i], s);
    free(s);
    tf_adapter_free(a);
    tf_adapter_free(b);
}

Test(adapter_file, reads_bf16_and_f16_files_as_their_values) {
    tf_config c = base_cfg("neox");
    for (int k = 0; k < 2; k++) {
        tf_st_dtype dt = k ? TF_ST_F16 : TF_ST_BF16;
        char *dir = copy_fixture("neox", k ? "f16" : "bf16", NULL, NULL);
        rewrite_weights("neox", dir, NULL, NULL, dt);
        char w[300];
        snprintf(w, sizeof w, "%s/adapter_model.safetensors", dir);
        tf_adapter *a = load_ok(dir, &c);
        assert_matches_file(a, w, 1);  // the file's values widened, exactly
        tf_adapter *f = load_ok(FIX "lora-neox", &c);
        float tol = k ? 1e-3f : 8e-3f;
        for (int i = 0; i < a->n_sites; i++)
            for (int j = 0; j < a->r * a->sites[i].in; j++)
                cr_assert_float_eq(a->sites[i].A[j], f->sites[i].A[j], tol * fabsf(f->sites[i].A[j]) + 1e-6f);
        tf_adapter_free(a);
        tf_adapter_free(f);
    }
}

Test(adapter_file, regex_target_selects_modules_by_full_path) {
    tf_config c = base_cfg("gptj");
    char *dir = copy_fixture("gptj", "re", "[\n    \"q_proj\",\n    \"v_proj\",\n    \"fc_out\"\n  ]",
                             "\".*\\\\.h\\\\.1\\\\.attn\\\\.(q_proj|v_proj)\"");
    // the file still holds layer 0's and fc_out's tensors: modules the expression does not select
    load_fails(dir, &c, "adapter_model.safetensors", "transformer.h.0.attn.", "target_modules does not name", NULL);
    const char *const drop[] = {".h.0.", "fc_out", NULL};
    rewrite_weights("gptj", dir, drop, NULL, TF_ST_F32);
    tf_adapter *a = load_ok(dir, &c);
    cr_assert_eq(a->targets_regex, 1);
    cr_assert_eq(a->n_sites, 2);
    cr_assert_not_null(tf_adapter_site(a, 1, 1));  // v_proj
    cr_assert_not_null(tf_adapter_site(a, 1, 2));  // q_proj
    cr_assert_null(tf_adapter_site(a, 0, 2));
    char w[300];
    snprintf(w, sizeof w, "%s/adapter_model.safetensors", dir);
    assert_matches_file(a, w, 1);
    // saved back as the same expression
    char out[300];
    snprintf(out, sizeof out, "%s/re-saved", tmp);
    tf_error err;
    cr_assert_eq(tf_adapter_save(a, out, &err), TF_OK, "%s", err.msg);
    tf_adapter *b = load_ok(out, &c);
    cr_assert_eq(b->targets_regex, 1);
    cr_assert_str_eq(b->targets[0], a->targets[0]);
    cr_assert_eq(b->n_sites, 2);
    tf_adapter_free(a);
    tf_adapter_free(b);
}

// ---- bad input: one line naming the file and the tensor or key --------------------------------
Test(adapter_file, refuses_an_adapter_for_another_base) {
    // another architecture: GPT-2's c_attn is no module of GPT-J
    tf_config j = base_cfg("gptj");
    load_fails(FIX "lora-gpt2", &j, "lora-gpt2/adapter_config.json", "'c_attn'", "gptj", NULL);
    // the same architecture, another width: the tensor's shape says so
    tf_config wide = j;
    wide.n_embd = 32;
    wide.n_inner = 80;
    load_fails(FIX "lora-gptj", &wide, "lora-gptj/adapter_model.safetensors",
               "'base_model.model.transformer.h.0.attn.", "has shape [4, 16]", "imply [4, 32]", NULL);
    // fewer layers: a tensor for a layer the base lacks
    tf_config shallow = j;
    shallow.n_layer = 1;
    load_fails(FIX "lora-gptj", &shallow, "adapter_model.safetensors", "transformer.h.1.", "layer 1", NULL);
}

Test(adapter_file, refuses_an_unknown_target_module) {
    tf_config c = base_cfg("gpt2");
    tf_error err = {0};
    cr_assert_null(tf_adapter_new(&c, 4, 8, "c_attn,q_proj", 0, &err));
    cr_assert_eq(err.code, TF_EBADARG);
    cr_assert(strstr(err.msg, "'q_proj'") && strstr(err.msg, "c_attn, c_proj, c_fc"), "%s", err.msg);
    char *dir = copy_fixture("gpt2", "unknown", "\"c_attn\"", "\"c_atn\"");
    load_fails(dir, &c, "unknown/adapter_config.json", "'c_atn'", NULL);
}

Test(adapter_file, refuses_rank_zero) {
    tf_config c = base_cfg("gpt2");
    tf_error err = {0};
    cr_assert_null(tf_adapter_new(&c, 0, 8, "c_attn", 0, &err));
    cr_assert_eq(err.code, TF_EBADARG);
    cr_assert(strstr(err.msg, "rank"), "%s", err.msg);
    char *dir = copy_fixture("gpt2", "r0", "\"r\": 4", "\"r\": 0");
    load_fails(dir, &c, "r0/adapter_config.json", "\"r\"", NULL);
}

Test(adapter_file, refuses_a_missing_tensor) {
    tf_config c = base_cfg("neox");
    char *dir = copy_fixture("neox", "missing", NULL, NULL);
    const char *key = "base_model.model.gpt_neox.layers.1.mlp.dense_4h_to_h.lora_B.weight";
    const char *const drop[] = {key, NULL};
    rewrite_weights("neox", dir, drop, NULL, TF_ST_F32);
    load_fails(dir, &c, "missing/adapter_model.safetensors", "missing tensor", key, NULL);
    unlink(strcat(strcpy((char[400]){0}, dir), "/adapter_model.safetensors"));
    load_fails(dir, &c, "missing/adapter_model.safetensors", "not found", NULL);
}

Test(adapter_file, refuses_an_unknown_tensor) {
    tf_config c = base_cfg("neox");
    char *dir = copy_fixture("neox", "extra", NULL, NULL);
    rewrite_weights("neox", dir, NULL, "base_model.model.embed_out.lora_A.weight", TF_ST_F32);
    load_fails(dir, &c, "extra/adapter_model.safetensors", "'base_model.model.embed_out.lora_A.weight'", NULL);
}

Test(adapter_file, refuses_a_corrupt_safetensors_file) {
    tf_config c = base_cfg("gptj");
    char *dir = copy_fixture("gptj", "corrupt", NULL, NULL);
    char w[300];
    snprintf(w, sizeof w, "%s/adapter_model.safetensors", dir);
    // cut the data short: the last tensor ends past the end of the file
    struct stat st;
    cr_assert_eq(stat(w, &st), 0);
    cr_assert_eq(truncate(w, st.st_size - 8), 0);
    load_fails(dir, &c, "corrupt/adapter_model.safetensors", "tensor '", NULL);
    // garbage in the header
    FILE *f = fopen(w, "r+b");
    cr_assert_not_null(f);
    fseek(f, 9, SEEK_SET);
    fputs("}}}}", f);
    fclose(f);
    load_fails(dir, &c, "corrupt/adapter_model.safetensors", NULL);
}

Test(adapter_file, refuses_options_the_engine_lacks) {
    tf_config c = base_cfg("gpt2");
    char *dir = copy_fixture("gpt2", "dora", "\"bias\": \"none\"", "\"bias\": \"none\", \"use_dora\": true");
    load_fails(dir, &c, "dora/adapter_config.json", "\"use_dora\"", NULL);
    dir = copy_fixture("gpt2", "layers", "\"layers_to_transform\": null", "\"layers_to_transform\": [0]");
    load_fails(dir, &c, "layers/adapter_config.json", "\"layers_to_transform\"", NULL);
    dir = copy_fixture("gpt2", "bias", "\"bias\": \"none\"", "\"bias\": \"all\"");
    load_fails(dir, &c, "bias/adapter_config.json", "\"bias\"", NULL);
    dir = copy_fixture("gpt2", "prefix", "\"LORA\"", "\"PREFIX_TUNING\"");
    load_fails(dir, &c, "prefix/adapter_config.json", "\"peft_type\"", NULL);
    dir = copy_fixture("gpt2", "notjson", "{", "[");
    load_fails(dir, &c, "notjson/adapter_config.json", NULL);
}
