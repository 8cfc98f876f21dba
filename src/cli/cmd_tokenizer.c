// cmd_tokenizer.c — `toolformer tokenizer train`: learn a byte-level BPE vocabulary from a corpus.
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tf_outguard.h"

static void help(FILE *out) {
    fprintf(out,
            "usage: toolformer tokenizer train --data FILE --vocab-size N --out DIR [--split-digits] [--force]\n"
            "                                  [--special TOKEN]... [--progress auto|bar|lines|none]\n\n"
            "Trains a byte-level BPE vocabulary (GPT-2's pre-tokenizer, most frequent pair first) and writes\n"
            "DIR/tokenizer.json (Hugging Face loads it), vocab.json and merges.txt. \" [\", \"]\" and \" ->\" are\n"
            "always single tokens. Training stops early when no pair occurs twice.\n\n"
            "  --data FILE       plain text, or JSONL with a \"text\" field per line (*.jsonl, or first byte '{')\n"
            "  --vocab-size N    ids in the vocabulary, special tokens included (e.g. 4096)\n"
            "  --out DIR         output directory (created); its tokenizer files are not replaced without --force\n"
            "  --force           replace the tokenizer files already in DIR\n"
            "  --split-digits    every digit a token of its own (Hugging Face's Digits pre-tokenizer before\n"
            "                    GPT-2's, as in LLaMA): numbers are spelt digit by digit\n"
            "  --special TOKEN   a special token, appended after the learned ones (repeatable;\n"
            "                    default <|endoftext|>)\n"
            CLI_PROGRESS_HELP "  -h, --help        this help\n");
}

// Reads FILE: JSONL documents are joined with blank lines; plain text is taken whole.
static char *read_corpus(const char *path, size_t *len, tf_error *err) {
    char *raw = tf_read_file_ex(path, 0, TF_READ_STREAM, len, err);
    if (!raw) return NULL;
    size_t n = strlen(path), i = 0;
    while (i < *len && (raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\r' || raw[i] == '\t')) i++;
    int jsonl = (n >= 6 && !strcmp(path + n - 6, ".jsonl")) || (i < *len && raw[i] == '{');
    if (!jsonl) return raw;
    char *out = malloc(*len + 1);
    if (!out) { free(raw); tf_errorf(err, TF_ENOMEM, "out of memory"); return NULL; }
    size_t o = 0;
    int line = 0;
    for (char *p = raw; p < raw + *len;) {
        char *eol = memchr(p, '\n', (size_t)(raw + *len - p));
        if (!eol) eol = raw + *len;
        line++;
        size_t k = (size_t)(eol - p);
        while (k && (p[k - 1] == '\r' || p[k - 1] == ' ' || p[k - 1] == '\t')) k--;
        if (k) {
            cJSON *j = cJSON_ParseWithLength(p, k);
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "text");
            if (!cJSON_IsString(t)) {
                tf_errorf(err, TF_EBADFILE, "%s:%d: %s", path, line,
                          j ? "no \"text\" string field" : "invalid JSON");
                cJSON_Delete(j);
                free(raw);
                free(out);
                return NULL;
            }
            size_t tl = strlen(t->valuestring);  // JSON text fits in its own line's bytes
            if (o) { out[o++] = '\n'; out[o++] = '\n'; }
            memcpy(out + o, t->valuestring, tl);
            o += tl;
            cJSON_Delete(j);
        }
        p = eol + 1;
    }
    out[o] = '\0';
    *len = o;
    free(raw);
    return out;
}

typedef struct { tf_progress bar; const char *stage; } progress_ctx;

static void on_progress(void *p, const char *stage, long done, long total) {
    progress_ctx *c = p;
    if (c->stage != stage) {
        if (c->stage) tf_progress_finish(&c->bar, NULL);
        tf_progress_start(&c->bar, stage, total);
        c->stage = stage;
    }
    tf_progress_update(&c->bar, done, NULL);
}

static int train(int argc, char **argv) {
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},    {"vocab-size", required_argument, NULL, 'v'},
        {"out", required_argument, NULL, 'o'},     {"special", required_argument, NULL, 's'},
        {"split-digits", no_argument, NULL, 'D'},  {"help", no_argument, NULL, 'h'},
        {"force", no_argument, NULL, 'f'},         CLI_PROGRESS_OPTION,
        {NULL, 0, NULL, 0},
    };
    const char *data = NULL, *out = NULL, *vs = NULL;
    const char *special[64];
    int n_special = 0, split_digits = 0, force = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int h = cli_progress_option(c, optarg, "tokenizer train");
        if (h < 0) return CLI_USAGE;
        if (h) continue;
        switch (c) {
        case 'd': data = optarg; break;
        case 'v': vs = optarg; break;
        case 'o': out = optarg; break;
        case 'D': split_digits = 1; break;
        case 'f': force = 1; break;
        case 's':
            if (n_special == 64) return cli_usage_error("tokenizer train", "at most 64 --special tokens");
            special[n_special++] = optarg;
            break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("tokenizer train", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("tokenizer train", "unexpected argument '%s'", argv[optind]);
    if (!data || !out || !vs) return cli_usage_error("tokenizer train", "--data, --vocab-size and --out are required");
    long vocab;
    if (cli_int(vs, 1, 1 << 20, &vocab)) return cli_usage_error("tokenizer train", "--vocab-size: expected 1..%d, got '%s'", 1 << 20, vs);
    if (!n_special) special[n_special++] = "<|endoftext|>";
    if (vocab < 259 + n_special)
        return cli_usage_error("tokenizer train", "--vocab-size %ld leaves no room for the 256 bytes, 3 call-marker "
                               "merges and %d special tokens (minimum %d)", vocab, n_special, 259 + n_special);
    tf_error err = {0};
    tf_outguard g;  // the output rule (tf_outguard.h)
    char p_tok[4096], p_vocab[4096], p_merges[4096];
    tf_guard_init(&g, "tokenizer train", force ? TF_OUT_FORCE : TF_OUT_NEW,
                  "replace it with --force or choose another --out");
    if (tf_guard_input(&g, "--data", data, &err) ||
        tf_guard_output(&g, "--out", tf_path_join(p_tok, sizeof p_tok, out, "tokenizer.json"), TF_OUT_REGULAR | TF_OUT_MKDIR, &err) ||
        tf_guard_output(&g, "--out", tf_path_join(p_vocab, sizeof p_vocab, out, "vocab.json"), TF_OUT_REGULAR | TF_OUT_MKDIR, &err) ||
        tf_guard_output(&g, "--out", tf_path_join(p_merges, sizeof p_merges, out, "merges.txt"), TF_OUT_REGULAR | TF_OUT_MKDIR, &err) ||
        tf_guard_check(&g, &err) || tf_mkdir_p(out, &err) || tf_guard_lock(&g, p_tok, &err)) {
        tf_guard_release(&g);
        return cli_fail(&err);
    }
    size_t len;
    char *text = read_corpus(data, &len, &err);
    if (!text) {
        tf_guard_release(&g);
        return cli_fail(&err);
    }
    double t0 = tf_time_s();
    progress_ctx pc = {0};
    tf_tokenizer *t = NULL;
    int rc = tf_tokenizer_train_progress(text, len, (int)vocab, special, n_special, split_digits, &t, on_progress,
                                         &pc, &err);
    if (pc.stage) tf_progress_finish(&pc.bar, NULL);
    free(text);
    if (!rc) rc = tf_tokenizer_save(t, out, &err);
    tf_guard_release(&g);
    if (rc) {
        tf_tokenizer_free(t);
        return cli_fail(&err);
    }
    printf("trained %d tokens on %zu bytes in %.1f s%s; wrote %s/tokenizer.json\n", tf_tokenizer_vocab_size(t), len,
           tf_time_s() - t0, tf_tokenizer_vocab_size(t) < vocab ? " (stopped early: no pair occurs twice)" : "", out);
    tf_tokenizer_free(t);
    return CLI_OK;
}

int cmd_tokenizer(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: toolformer tokenizer train [options]   (toolformer tokenizer train --help)\n");
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (!strcmp(argv[1], "train")) return train(argc - 1, argv + 1);
    return cli_usage_error("tokenizer", "unknown subcommand '%s'", argv[1]);
}
