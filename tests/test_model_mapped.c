// test_model_mapped.c — tf_model_load_mapped: the big matrices read in place from the file mapping
// in their file dtype. Checked against the ordinary fp32 load of the same file (logits of forward
// and of the KV cache, each architecture and dtype), training refused, and the memory bound: peak
// RSS of `toolformer loss --mmap` on a synthetic BF16 checkpoint stays below 1.3x its file size.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "tf_safetensors.h"
#include "cli_run.h"
#include "toolformer.h"

#define FIX "tests/fixtures/"

static void rm_rf(const char *d) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    cr_assert_eq(system(cmd), 0);
}

static void copy_file(const char *from, const char *to) {
    tf_error err;
    size_t n;
    char *text = tf_read_file(from, &n, &err);
    cr_assert_not_null(text, "%s", err.msg);
    cr_assert_eq(tf_write_file_atomic(to, text, n, &err), TF_OK);
    free(text);
}

// Rewrites src/model.safetensors into dst with every tensor in dtype (BF16 or F16), config copied.
static void convert_dir(const char *src, const char *dst, tf_st_dtype dtype) {
    char p[1024], q[1024];
    snprintf(p, sizeof p, "%s/config.json", src);
    snprintf(q, sizeof q, "%s/config.json", dst);
    copy_file(p, q);
    tf_error err;
    snprintf(p, sizeof p, "%s/model.safetensors", src);
    tf_st_file *f = tf_st_open(p, &err);
    cr_assert_not_null(f, "%s", err.msg);
    int n = tf_st_count(f);
    tf_st_entry *e = calloc(n, sizeof *e);
    uint16_t **bufs = calloc(n, sizeof *bufs);
    for (int i = 0; i < n; i++) {
        const tf_st_tensor *t = tf_st_at(f, i);
        float *x = malloc(t->numel * sizeof(float));
        cr_assert_eq(tf_st_to_f32(f, t, x, &err), TF_OK);
        bufs[i] = malloc(t->numel * 2);
        for (size_t k = 0; k < t->numel; k++) bufs[i][k] = dtype == TF_ST_BF16 ? tf_f32_to_bf16(x[k]) : tf_f32_to_f16(x[k]);
        free(x);
        e[i] = (tf_st_entry){.name = t->name, .dtype = dtype, .ndim = t->ndim, .data = bufs[i]};
        memcpy(e[i].shape, t->shape, sizeof t->shape);
    }
    snprintf(q, sizeof q, "%s/model.safetensors", dst);
    cr_assert_eq(tf_st_write(q, e, n, &err), TF_OK, "%s", err.msg);
    for (int i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    free(e);
    tf_st_close(f);
}

enum { T = 9 };

// Logits of forward [T, V] and of prefill + decode [T, V] for a fixed token sequence.
static void logits_of(tf_model *m, float *fwd, float *cached) {
    int V = m->cfg.vocab_size, ids[T], tg[T];
    for (int i = 0; i < T; i++) ids[i] = (i * 7 + 3) % V;
    for (int i = 0; i < T; i++) tg[i] = i + 1 < T ? ids[i + 1] : -1;
    tf_error err;
    cr_assert_eq(tf_model_forward(m, ids, tg, NULL, 1, T, &err), TF_OK, "%s", err.msg);
    memcpy(fwd, tf_model_logits(m), (size_t)T * V * sizeof(float));
    tf_kv *kv = tf_kv_new(m, 1, T, &err);
    cr_assert_not_null(kv);
    cr_assert_eq(tf_model_prefill(m, kv, 0, ids, T - 3, cached, 1, &err), TF_OK, "%s", err.msg);
    for (int t = T - 3; t < T; t++) {
        int seq = 0;
        cr_assert_eq(tf_model_decode(m, kv, &seq, &ids[t], 1, cached + (size_t)t * V, &err), TF_OK, "%s", err.msg);
    }
    tf_kv_free(kv);
}

// mapped load of dir against the fp32 load of the same dir: max |diff| <= tol * max |logit|
static void check_dir(const char *dir, double tol) {
    tf_error err;
    tf_model *ref = tf_model_load(dir, &err);
    cr_assert_not_null(ref, "%s", err.msg);
    tf_model *mm = tf_model_load_mapped(dir, &err);
    cr_assert_not_null(mm, "%s: %s", dir, err.msg);
    cr_assert_null(mm->param[TF_P_QKVW], "the big matrices have no fp32 copy");
    cr_assert_eq(mm->num_params, ref->num_params);
    size_t n = (size_t)T * ref->cfg.vocab_size;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float)), *c = malloc(n * sizeof(float)),
          *d = malloc(n * sizeof(float));
    logits_of(ref, a, b);
    logits_of(mm, c, d);
    double maxabs = 0, worst = 0;
    for (size_t i = 0; i < n; i++) maxabs = fmax(maxabs, fabs(a[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fmax(fabs(a[i] - c[i]), fabs(b[i] - d[i])));
    cr_assert(worst <= tol * maxabs, "%s: mapped logits differ by %g (max |logit| %g)", dir, worst, maxabs);
    cr_assert(fabsf(ref->mean_loss - mm->mean_loss) <= 10 * tol * ref->mean_loss, "%s: loss %g vs %g", dir,
              ref->mean_loss, mm->mean_loss);
    free(a); free(b); free(c); free(d);
    tf_model_free(ref);
    tf_model_free(mm);
}

Test(model_mapped, f32_fixtures_match_the_fp32_load) {
    // F32 in place: the layouts (GPT-2 Conv1D transposed, GPT-J's three q/k/v tensors, NeoX's
    // per-head interleaved qkv rows) must give the fp32 load's logits to rounding
    check_dir(FIX "gpt2-tiny", 1e-5);
    check_dir(FIX "gptj-tiny", 1e-5);
    check_dir(FIX "neox-tiny", 1e-5);
}

Test(model_mapped, bf16_and_f16_files_match_their_fp32_load) {
    check_dir(FIX "gpt2-tiny-bf16", 2e-2);  // bf16 inputs to the matmuls: bf16 tolerance
    check_dir(FIX "gpt2-tiny-f16", 1e-5);   // F16 is widened to fp32: exact products
    char tmp[] = "/tmp/tf_mapped_XXXXXX";
    cr_assert_not_null(mkdtemp(tmp));
    const char *srcs[] = {FIX "gptj-tiny", FIX "neox-tiny"};
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++) {
            char d[600];
            snprintf(d, sizeof d, "%s/%d%d", tmp, i, k);
            mkdir(d, 0755);
            convert_dir(srcs[i], d, k ? TF_ST_F16 : TF_ST_BF16);
            check_dir(d, k ? 1e-5 : 2e-2);
        }
    rm_rf(tmp);
}

Test(model_mapped, training_and_saving_are_refused) {
    tf_error err;
    tf_model *m = tf_model_load_mapped(FIX "gpt2-tiny-bf16", &err);
    cr_assert_not_null(m, "%s", err.msg);
    int ids[4] = {1, 2, 3, 4};
    cr_assert_eq(tf_model_forward(m, ids, ids + 1, NULL, 1, 3, &err), TF_OK);
    cr_assert_neq(tf_model_backward(m, 1.0f, &err), TF_OK);
    cr_assert(strstr(err.msg, "inference only"), "%s", err.msg);
    cr_assert_neq(tf_model_zero_grad(m, &err), TF_OK);
    tf_adamw opt = {.lr = 1e-3f};
    cr_assert(tf_model_adamw_step(m, &opt, &err) < 0);
    cr_assert_neq(tf_model_save(m, "/tmp/tf_mapped_never_written", &err), TF_OK);
    tf_model_free(m);
}

Test(model_mapped, unmappable_dtype_is_an_error_naming_the_tensor) {
    char tmp[] = "/tmp/tf_mapped_XXXXXX";
    cr_assert_not_null(mkdtemp(tmp));
    // a GPT-2 whose c_fc weight of layer 0 is F64: readable by tf_model_load, not mappable
    char p[600], q[600];
    snprintf(p, sizeof p, "%s/config.json", FIX "gpt2-tiny");
    snprintf(q, sizeof q, "%s/config.json", tmp);
    copy_file(p, q);
    tf_error err;
    snprintf(p, sizeof p, "%s/model.safetensors", FIX "gpt2-tiny");
    tf_st_file *f = tf_st_open(p, &err);
    int n = tf_st_count(f);
    tf_st_entry *e = calloc(n, sizeof *e);
    double *d64 = NULL;
    for (int i = 0; i < n; i++) {
        const tf_st_tensor *t = tf_st_at(f, i);
        e[i] = (tf_st_entry){.name = t->name, .dtype = t->dtype, .ndim = t->ndim, .data = t->data};
        memcpy(e[i].shape, t->shape, sizeof t->shape);
        if (strstr(t->name, "h.0.mlp.c_fc.weight")) {
            d64 = malloc(t->numel * sizeof(double));
            const float *x = t->data;
            for (size_t k = 0; k < t->numel; k++) d64[k] = x[k];
            e[i].dtype = TF_ST_F64;
            e[i].data = d64;
        }
    }
    snprintf(q, sizeof q, "%s/model.safetensors", tmp);
    cr_assert_eq(tf_st_write(q, e, n, &err), TF_OK, "%s", err.msg);
    tf_st_close(f);
    free(e);
    free(d64);
    tf_model *m = tf_model_load_mapped(tmp, &err);
    cr_assert_null(m);
    cr_assert(strstr(err.msg, "h.0.mlp.c_fc.weight") && strstr(err.msg, "F64"), "%s", err.msg);
    m = tf_model_load(tmp, &err);
    cr_assert_not_null(m, "the ordinary load still reads it: %s", err.msg);
    tf_model_free(m);
    rm_rf(tmp);
}

// ---- memory: a synthetic BF16 checkpoint of a few hundred MB ------------------------------------
typedef struct {
    size_t n;
    uint64_t seed;
} fill_ctx;

static void fill_bf16(const void *ctx, void *out) {
    const fill_ctx *c = ctx;
    uint16_t *o = out;
    uint64_t s = c->seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < c->n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        // small values around +-0.02: sign, exponent 2^-6 .. 2^-7, random mantissa
        o[i] = (uint16_t)(((s >> 63) << 15) | ((0x78 + ((s >> 40) & 1)) << 7) | ((s >> 33) & 0x7f));
    }
}

Test(model_mapped, loss_on_a_big_bf16_checkpoint_stays_below_1_3x_its_size, .timeout = 120) {
    char tmp[] = "/tmp/tf_mapped_big_XXXXXX";
    cr_assert_not_null(mkdtemp(tmp));
    const int L = 12, C = 1024, V = 8192, P = 256;
    tf_config cfg;
    tf_config_gpt2(&cfg, L, C, 16, V, P);
    char *json = tf_config_to_json(&cfg);
    char p[600];
    snprintf(p, sizeof p, "%s/config.json", tmp);
    tf_error err;
    cr_assert_eq(tf_write_file_atomic(p, json, strlen(json), &err), TF_OK);
    free(json);
    // HF GPT-2 names and Conv1D shapes
    enum { MAXT = 2 + 12 * 12 + 2 };
    tf_st_entry e[MAXT];
    fill_ctx fc[MAXT];
    char names[MAXT][64];
    int n = 0;
#define ADD(nm, d0, d1)                                                                          \
    do {                                                                                         \
        snprintf(names[n], sizeof names[n], "%s", nm);                                           \
        fc[n] = (fill_ctx){(size_t)(d0) * ((d1) ? (d1) : 1), (uint64_t)n};                       \
        e[n] = (tf_st_entry){.name = names[n], .dtype = TF_ST_BF16, .ndim = (d1) ? 2 : 1,        \
                             .shape = {d0, d1}, .fill = fill_bf16, .ctx = &fc[n]};               \
        n++;                                                                                     \
    } while (0)
    ADD("transformer.wte.weight", V, C);
    ADD("transformer.wpe.weight", P, C);
    for (int l = 0; l < L; l++) {
        char b[64];
        const char *parts[][3] = {{"ln_1.weight", "C", ""}, {"ln_1.bias", "C", ""}, {"attn.c_attn.weight", "C", "3C"},
                                  {"attn.c_attn.bias", "3C", ""}, {"attn.c_proj.weight", "C", "C"},
                                  {"attn.c_proj.bias", "C", ""}, {"ln_2.weight", "C", ""}, {"ln_2.bias", "C", ""},
                                  {"mlp.c_fc.weight", "C", "4C"}, {"mlp.c_fc.bias", "4C", ""},
                                  {"mlp.c_proj.weight", "4C", "C"}, {"mlp.c_proj.bias", "C", ""}};
        for (int k = 0; k < 12; k++) {
            snprintf(b, sizeof b, "transformer.h.%d.%s", l, parts[k][0]);
            int d0 = parts[k][1][0] == '3' ? 3 * C : parts[k][1][0] == '4' ? 4 * C : C;
            int d1 = !parts[k][2][0] ? 0 : parts[k][2][0] == '3' ? 3 * C : parts[k][2][0] == '4' ? 4 * C : C;
            ADD(b, d0, d1);
        }
    }
    ADD("transformer.ln_f.weight", C, 0);
    ADD("transformer.ln_f.bias", C, 0);
#undef ADD
    snprintf(p, sizeof p, "%s/model.safetensors", tmp);
    cr_assert_eq(tf_st_write(p, e, n, &err), TF_OK, "%s", err.msg);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_gt(st.st_size, 300L << 20, "a checkpoint of a few hundred MB");

    const char *bin = getenv("TF_BIN") && *getenv("TF_BIN") ? getenv("TF_BIN") : "build/toolformer";
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", 1);
        dup2(devnull, 1);
        setenv("OMP_NUM_THREADS", "2", 1);
        execl(bin, bin, "loss", "--model", tmp, "--ids", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", "--mmap", (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    cr_assert_eq(wait4(pid, &status, 0, &ru), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "toolformer loss --mmap failed (status %d)", status);
    double rss = (double)ru.ru_maxrss * 1024, size = (double)st.st_size;
    // ASan's shadow memory and allocator add a fixed overhead that is not the engine's
    double bound = 1.3 * size + (strstr(bin, "asan") ? 512.0 * (1 << 20) : 0);
    cr_assert(rss < bound, "peak RSS %.0f MB for a %.0f MB checkpoint (bound %.0f MB)", rss / (1 << 20), size / (1 << 20),
              bound / (1 << 20));
    rm_rf(tmp);
}

// ---- the CLI flags ------------------------------------------------------------------------------
// TF_ST_COPY reads the files into memory instead of mapping them: the same bytes, so the same logits
// bit for bit, for every architecture's layout and for BF16 as F32.
Test(model_mapped, copied_files_give_the_mapped_logits_bit_for_bit) {
    const char *dirs[] = {FIX "gpt2-tiny", FIX "gptj-tiny", FIX "neox-tiny", FIX "gpt2-tiny-bf16"};
    for (int i = 0; i < 4; i++) {
        tf_error err;
        tf_model *mm = tf_model_load_mapped(dirs[i], &err);
        cr_assert_not_null(mm, "%s", err.msg);
        tf_st_set_residency(TF_ST_COPY);
        tf_model *mc = tf_model_load_mapped(dirs[i], &err);
        tf_st_set_residency(TF_ST_MAP);
        cr_assert_not_null(mc, "%s", err.msg);
        size_t n = (size_t)T * mm->cfg.vocab_size;
        float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float)), *c = malloc(n * sizeof(float)),
              *d = malloc(n * sizeof(float));
        logits_of(mm, a, b);
        logits_of(mc, c, d);
        cr_assert(!memcmp(a, c, n * sizeof(float)) && !memcmp(b, d, n * sizeof(float)), "%s: copied logits differ",
                  dirs[i]);
        free(a); free(b); free(c); free(d);
        tf_model_free(mm);
        tf_model_free(mc);
    }
    // a file cut short is refused the same way copied as mapped: one line naming it
    char tmp[] = "/tmp/tf_copy_XXXXXX";
    cr_assert_not_null(mkdtemp(tmp));
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", tmp);
    copy_file(FIX "gpt2-tiny/model.safetensors", path);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(truncate(path, st.st_size - 100), 0);
    tf_error err;
    tf_st_set_residency(TF_ST_COPY);
    tf_st_file *f = tf_st_open(path, &err);
    tf_st_set_residency(TF_ST_MAP);
    cr_assert_null(f);
    cr_assert(strstr(err.msg, path) && !strchr(err.msg, '\n'), "%s", err.msg);
    rm_rf(tmp);
}

static double mean_nll_of(const char *out) {
    const char *p = strstr(out, "\"mean_nll\": ");
    cr_assert_not_null(p, "no mean_nll in: %s", out);
    return atof(p + 12);
}

Test(model_mapped, cli_dtype_and_mmap_flags) {
    char out[8192];
    const char *ids = "--ids 5,9,2,17,30,4,8,1 --json";
    cr_assert_eq(cli_run(out, sizeof out, "loss --model " FIX "gpt2-tiny-bf16 %s", ids), 0, "%s", cli_run_stderr);
    double fp32 = mean_nll_of(out);
    cr_assert_eq(cli_run(out, sizeof out, "loss --model " FIX "gpt2-tiny-bf16 %s --dtype bf16", ids), 0, "%s",
                 cli_run_stderr);
    double bf16 = mean_nll_of(out);
    cr_assert_eq(cli_run(out, sizeof out, "loss --model " FIX "gpt2-tiny-bf16 %s --mmap", ids), 0, "%s", cli_run_stderr);
    double mapped = mean_nll_of(out);
    cr_assert(fabs(bf16 - fp32) <= 1e-2 * fp32 && fabs(mapped - fp32) <= 1e-2 * fp32, "%g %g %g", fp32, bf16, mapped);
    cr_assert_eq(cli_run(out, sizeof out, "loss --model " FIX "gpt2-tiny-bf16 %s --mmap-copy", ids), 0, "%s",
                 cli_run_stderr);
    cr_assert_eq(mean_nll_of(out), mapped, "--mmap-copy gave another loss than --mmap");
    cr_assert(bf16 != fp32, "--dtype bf16 changed nothing");
    cr_assert_eq(cli_run(out, sizeof out, "generate --model " FIX "gpt2-tiny --ids 1,2,3 --max-new 4 --mmap --json"), 0,
                 "%s", cli_run_stderr);
    cr_assert(strstr(out, "\"ids\": ["), "%s", out);
    cr_assert_eq(cli_run(out, sizeof out, "loss --model " FIX "gpt2-tiny %s --dtype fp8", ids), 2);
    cr_assert(strstr(cli_run_stderr, "--dtype"), "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "train --model " FIX "gpt2-tiny --data x --out y --dtype half"), 2);
}
