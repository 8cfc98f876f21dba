// test_convert.c — `toolformer convert` and `toolformer merge-adapter` (tf_convert.h): F32 -> BF16 /
// F16 gives PyTorch's rounding bit for bit (the gpt2-tiny-bf16/-f16 fixtures were written by
// tensor.to(dtype)), BF16 -> F32 -> BF16 is bit-exact, sharded inputs and outputs load in the engine
// with the same logits, a merged adapter gives the logits PyTorch computed for base + adapter
// (make_lora_fixtures.py: logits, merged.logits) on GPT-2 (Conv1D), GPT-J and NeoX (fused rows), and
// bad requests are refused with one line and no output left behind.
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_run.h"
#include "pipeline_util.h"
#include "tf_safetensors.h"
#include "toolformer.h"

#define FIX "tests/fixtures/"

static char tmp[64];
static char out[8192];

static void make_tmp(void) {
    tmp_dir_make(tmp, sizeof tmp, "convert");
}

static void clean_tmp(void) { rm_rf_dir(tmp); }

TestSuite(convert, .init = make_tmp, .fini = clean_tmp);

static char *tpath(const char *name) {
    static char buf[4][300];
    static int k;
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", tmp, name);
    return b;
}

static void run_ok(const char *fmt, const char *a, const char *b, const char *c) {
    int rc = cli_run(out, sizeof out, fmt, a, b, c);
    cr_assert_eq(rc, 0, "%s: exit %d: %s", fmt, rc, cli_run_stderr);
}

// Every tensor of file a equals b's tensor of the same name in dtype, shape and bytes.
static void assert_same_tensors(const char *a, const char *b) {
    tf_error err;
    tf_st_file *fa = tf_st_open(a, &err), *fb = tf_st_open(b, &err);
    cr_assert(fa && fb, "%s", err.msg);
    cr_assert_eq(tf_st_count(fa), tf_st_count(fb), "%s vs %s", a, b);
    for (int i = 0; i < tf_st_count(fa); i++) {
        const tf_st_tensor *t = tf_st_at(fa, i), *u = tf_st_find(fb, t->name);
        cr_assert_not_null(u, "%s: %s missing", b, t->name);
        cr_assert_eq(t->dtype, u->dtype, "%s dtype", t->name);
        cr_assert_eq(t->ndim, u->ndim, "%s rank", t->name);
        for (int d = 0; d < t->ndim; d++) cr_assert_eq(t->shape[d], u->shape[d], "%s shape", t->name);
        cr_assert_eq(memcmp(t->data, u->data, t->nbytes), 0, "%s: bytes differ between %s and %s", t->name, a, b);
    }
    tf_st_close(fa);
    tf_st_close(fb);
}

static char *file_in(const char *dir, const char *name) {
    static char b[2][400];
    static int k;
    char *p = b[k++ & 1];
    snprintf(p, sizeof b[0], "%s/%s", dir, name);
    return p;
}

Test(convert, f32_to_bf16_and_f16_round_as_pytorch) {
    run_ok("convert --model %s --out %s --dtype %s", FIX "gpt2-tiny", tpath("bf16"), "bf16");
    assert_same_tensors(file_in(tpath("bf16"), "model.safetensors"), FIX "gpt2-tiny-bf16/model.safetensors");
    run_ok("convert --model %s --out %s --dtype %s", FIX "gpt2-tiny", tpath("f16"), "f16");
    assert_same_tensors(file_in(tpath("f16"), "model.safetensors"), FIX "gpt2-tiny-f16/model.safetensors");
    tf_error err;
    char *cfg = tf_read_file(file_in(tpath("bf16"), "config.json"), NULL, &err);
    cr_assert_not_null(cfg, "%s", err.msg);
    cr_assert(strstr(cfg, "\"torch_dtype\":\t\"bfloat16\""), "%s", cfg);
    cr_assert(strstr(cfg, "\"n_embd\":\t32"), "the rest of config.json is kept: %s", cfg);
    free(cfg);
}

Test(convert, bf16_to_f32_to_bf16_is_bit_exact) {
    run_ok("convert --model %s --out %s --dtype %s", FIX "gpt2-tiny-bf16", tpath("f32"), "f32");
    run_ok("convert --model %s --out %s --dtype %s", tpath("f32"), tpath("back"), "bf16");
    assert_same_tensors(file_in(tpath("back"), "model.safetensors"), FIX "gpt2-tiny-bf16/model.safetensors");
    // the widening is exact: the F32 values are the bf16 values
    tf_error err;
    tf_st_file *a = tf_st_open(file_in(tpath("f32"), "model.safetensors"), &err),
               *b = tf_st_open(FIX "gpt2-tiny-bf16/model.safetensors", &err);
    cr_assert(a && b, "%s", err.msg);
    const tf_st_tensor *t = tf_st_find(a, "transformer.wte.weight"), *u = tf_st_find(b, "transformer.wte.weight");
    cr_assert(t && u && t->dtype == TF_ST_F32);
    for (size_t i = 0; i < u->numel; i++) {
        float x;
        memcpy(&x, (const char *)t->data + 4 * i, 4);
        uint16_t h;
        memcpy(&h, (const char *)u->data + 2 * i, 2);
        cr_assert_eq(x, tf_bf16_to_f32(h), "wte[%zu]", i);
    }
    tf_st_close(a);
    tf_st_close(b);
}

// Logits of the model in dir on the fixture batch of arch (tf_model_forward), malloc'd; *n values.
static float *logits_of(const char *dir, const char *arch, size_t *n) {
    char ref[128];
    snprintf(ref, sizeof ref, FIX "%s-tiny-ref.safetensors", arch);
    tf_error err;
    tf_st_file *f = tf_st_open(ref, &err);
    cr_assert_not_null(f, "%s", err.msg);
    const tf_st_tensor *in = tf_st_find(f, "inputs");
    int B = (int)in->shape[0], T = (int)in->shape[1];
    tf_model *m = tf_model_load(dir, &err);
    cr_assert_not_null(m, "%s: %s", dir, err.msg);
    cr_assert_eq(tf_model_forward(m, in->data, NULL, NULL, B, T, &err), TF_OK, "%s", err.msg);
    *n = (size_t)B * T * m->cfg.vocab_size;
    float *l = malloc(*n * sizeof(float));
    memcpy(l, tf_model_logits(m), *n * sizeof(float));
    tf_model_free(m);
    tf_st_close(f);
    return l;
}

static float *ref_tensor(const char *file, const char *name, size_t *n) {
    tf_error err;
    tf_st_file *f = tf_st_open(file, &err);
    cr_assert_not_null(f, "%s", err.msg);
    const tf_st_tensor *t = tf_st_find(f, name);
    cr_assert_not_null(t, "%s: %s missing", file, name);
    float *v = malloc(t->numel * sizeof(float));
    cr_assert_eq(tf_st_to_f32(f, t, v, &err), TF_OK, "%s", err.msg);
    *n = t->numel;
    tf_st_close(f);
    return v;
}

static void assert_close(const float *got, const float *want, size_t n, float atol, float rtol, const char *what) {
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(got[i] - want[i]) <= atol + rtol * fabsf(want[i]), "%s[%zu]: got %.8g, PyTorch %.8g", what, i,
                  got[i], want[i]);
}

Test(convert, sharded_output_and_input_keep_the_model) {
    run_ok("convert --model %s --out %s --dtype f32 --shard-size %s", FIX "neox-tiny", tpath("sh"), "10KB");
    cr_assert_eq(access(file_in(tpath("sh"), "model.safetensors.index.json"), F_OK), 0);
    cr_assert_eq(access(file_in(tpath("sh"), "model-00004-of-00004.safetensors"), F_OK), 0,
                 "30 KB of F32 in shards of at most 10 KB: 4 files");
    cr_assert_neq(access(file_in(tpath("sh"), "model.safetensors"), F_OK), 0);
    size_t n, m;
    float *a = logits_of(FIX "neox-tiny", "neox", &n), *b = logits_of(tpath("sh"), "neox", &m);
    cr_assert_eq(n, m);
    cr_assert_eq(memcmp(a, b, n * sizeof(float)), 0, "sharded F32 copy: the same logits bit for bit");
    // sharded in, one file out: the original bytes
    run_ok("convert --model %s --out %s --dtype f32 --shard-size %s", tpath("sh"), tpath("one"), "0");
    assert_same_tensors(file_in(tpath("one"), "model.safetensors"), FIX "neox-tiny/model.safetensors");
    free(a);
    free(b);
}

// merge-adapter on arch's tiny base: the merged model's logits are PyTorch's base + adapter logits.
static void check_merge(const char *arch, const char *base) {
    char adapter[128], ref[128], outdir[64];
    snprintf(adapter, sizeof adapter, FIX "lora-%s", arch);
    snprintf(ref, sizeof ref, FIX "lora-%s-ref.safetensors", arch);
    snprintf(outdir, sizeof outdir, "merged-%s", arch);
    int rc = cli_run(out, sizeof out, "merge-adapter --model %s --adapter %s --out %s --json", base, adapter,
                     tpath(outdir));
    cr_assert_eq(rc, 0, "exit %d: %s", rc, cli_run_stderr);
    cr_assert(strstr(out, "\"merged\": "), "%s", out);
    size_t n, nm, nl;
    float *got = logits_of(tpath(outdir), arch, &n);
    float *merged = ref_tensor(ref, "merged.logits", &nm), *with = ref_tensor(ref, "logits", &nl);
    cr_assert(n == nm && n == nl);
    assert_close(got, merged, n, 1e-5f, 1e-4f, "merged logits");
    assert_close(got, with, n, 1e-5f, 1e-4f, "base + adapter logits");
    // and the adapter does change them: the base alone is far from these
    char tiny[64];
    snprintf(tiny, sizeof tiny, FIX "%s-tiny", arch);
    float *plain = logits_of(tiny, arch, &nm), dmax = 0;
    for (size_t i = 0; i < n; i++) dmax = fmaxf(dmax, fabsf(plain[i] - got[i]));
    cr_assert_gt(dmax, 1e-2f, "%s: the merge changed nothing", arch);
    free(plain);
    free(got);
    free(merged);
    free(with);
}

Test(convert, merged_adapter_gives_pytorchs_logits) {
    check_merge("gpt2", FIX "gpt2-tiny");
    check_merge("gptj", FIX "gptj-tiny");
    check_merge("neox", FIX "neox-tiny");
}

Test(convert, merges_into_a_sharded_base) {
    run_ok("convert --model %s --out %s --dtype f32 --shard-size %s", FIX "gptj-tiny", tpath("gptj-sh"), "8KB");
    cr_assert_eq(access(file_in(tpath("gptj-sh"), "model.safetensors.index.json"), F_OK), 0);
    check_merge("gptj", tpath("gptj-sh"));
}

Test(convert, merge_to_bf16_is_the_rounded_merge) {
    run_ok("merge-adapter --model %s --adapter %s --out %s --dtype bf16 --shard-size 0", FIX "gptj-tiny",
           FIX "lora-gptj", tpath("mb"));
    run_ok("merge-adapter --model %s --adapter %s --out %s", FIX "gptj-tiny", FIX "lora-gptj", tpath("mf"));
    run_ok("convert --model %s --out %s --dtype %s", tpath("mf"), tpath("mf-bf16"), "bf16");
    assert_same_tensors(file_in(tpath("mb"), "model.safetensors"), file_in(tpath("mf-bf16"), "model.safetensors"));
}

// No OUT and no OUT.tmp.* left in tmp after a failed run.
static void assert_nothing_written(const char *name) {
    cr_assert_neq(access(tpath(name), F_OK), 0, "%s was created", name);
    DIR *d = opendir(tmp);
    struct dirent *e;
    while ((e = readdir(d))) cr_assert_null(strstr(e->d_name, ".tmp."), "left behind: %s", e->d_name);
    closedir(d);
}

Test(convert, refuses_bad_requests_with_one_line) {
    // an existing output, and the input itself: usage errors, nothing touched
    mkdir(tpath("exists"), 0755);
    int rc = cli_run(out, sizeof out, "convert --model %s --out %s --dtype bf16", FIX "gpt2-tiny", tpath("exists"));
    cr_assert_eq(rc, 2, "%s", cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, "exists") && strstr(cli_run_stderr, tpath("exists")), "%s", cli_run_stderr);
    rc = cli_run(out, sizeof out, "convert --model %s --out %s --dtype bf16", FIX "gpt2-tiny", FIX "gpt2-tiny");
    cr_assert_eq(rc, 2);
    cr_assert(strstr(cli_run_stderr, "is the same file as the input"), "%s", cli_run_stderr);  // the output rule
    rc = cli_run(out, sizeof out, "convert --model %s --out %s --dtype int8", FIX "gpt2-tiny", tpath("x"));
    cr_assert_eq(rc, 2);
    cr_assert(strstr(cli_run_stderr, "--dtype"), "%s", cli_run_stderr);
    rc = cli_run(out, sizeof out, "convert --model %s --out %s --dtype bf16 --shard-size 4XB", FIX "gpt2-tiny",
                 tpath("x"));
    cr_assert_eq(rc, 2);
    cr_assert(strstr(cli_run_stderr, "--shard-size"), "%s", cli_run_stderr);
    // an adapter for another base: exit 1, the file and the module named, no output
    rc = cli_run(out, sizeof out, "merge-adapter --model %s --adapter %s --out %s", FIX "neox-tiny", FIX "lora-gptj",
                 tpath("m"));
    cr_assert_eq(rc, 1);
    cr_assert(strstr(cli_run_stderr, "lora-gptj/adapter_config.json") && strstr(cli_run_stderr, "'q_proj'"), "%s",
              cli_run_stderr);
    cr_assert_eq(strchr(cli_run_stderr, '\n'), cli_run_stderr + strlen(cli_run_stderr) - 1, "one line: %s",
                 cli_run_stderr);
    assert_nothing_written("m");
    // a base that lacks a weight the adapter adapts: the tensor named, nothing written
    run_ok("convert --model %s --out %s --dtype f32 --shard-size %s", FIX "gptj-tiny", tpath("cut"), "0");
    {
        tf_error err;
        tf_st_file *f = tf_st_open(file_in(tpath("cut"), "model.safetensors"), &err);
        cr_assert_not_null(f, "%s", err.msg);
        tf_st_entry e[64];
        int k = 0;
        for (int i = 0; i < tf_st_count(f); i++) {
            const tf_st_tensor *t = tf_st_at(f, i);
            if (!strcmp(t->name, "transformer.h.1.mlp.fc_out.weight")) continue;
            e[k] = (tf_st_entry){.name = t->name, .dtype = t->dtype, .ndim = t->ndim, .data = t->data};
            memcpy(e[k].shape, t->shape, sizeof t->shape);
            k++;
        }
        cr_assert_eq(tf_st_write(file_in(tpath("cut"), "model.safetensors"), e, k, &err), TF_OK, "%s", err.msg);
        tf_st_close(f);
    }
    rc = cli_run(out, sizeof out, "merge-adapter --model %s --adapter %s --out %s", tpath("cut"), FIX "lora-gptj",
                 tpath("m"));
    cr_assert_eq(rc, 1);
    cr_assert(strstr(cli_run_stderr, "missing tensor 'transformer.h.1.mlp.fc_out.weight'"), "%s", cli_run_stderr);
    assert_nothing_written("m");
    // a corrupt adapter file: the file named
    mkdir(tpath("bad"), 0755);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp " FIX "lora-gptj/* %s/ && truncate -s 100 %s/adapter_model.safetensors", tpath("bad"),
             tpath("bad"));
    cr_assert_eq(system(cmd), 0);
    rc = cli_run(out, sizeof out, "merge-adapter --model %s --adapter %s --out %s", FIX "gptj-tiny", tpath("bad"),
                 tpath("m"));
    cr_assert_eq(rc, 1);
    cr_assert(strstr(cli_run_stderr, "bad/adapter_model.safetensors"), "%s", cli_run_stderr);
    assert_nothing_written("m");
    // --help
    cr_assert_eq(cli_run(out, sizeof out, "convert --help"), 0);
    cr_assert(strstr(out, "usage: toolformer convert"));
    cr_assert_eq(cli_run(out, sizeof out, "merge-adapter --help"), 0);
    cr_assert(strstr(out, "usage: toolformer merge-adapter"));
}
