// cmd_convert.c — `toolformer convert` (a checkpoint in another dtype / sharding) and
// `toolformer merge-adapter` (a LoRA adapter merged into its base): both rewrite a Hugging Face
// model directory tensor by tensor (tf_convert.h).
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "tf_convert.h"
#include "tf_outguard.h"

static void convert_help(FILE *f) {
    fprintf(f,
            "usage: toolformer convert --model IN --out OUT --dtype bf16|f16|f32 [--shard-size SIZE] [--json]\n"
            "                          [--progress auto|bar|lines|none]\n\n"
            "Rewrites the Hugging Face model directory IN into OUT with every floating-point tensor in\n"
            "the given dtype (rounded to nearest even), one tensor at a time: memory holds one tensor,\n"
            "never the model, so a 24 GB fp32 GPT-J becomes a 12 GB BF16 one that --mmap reads on a\n"
            "24 GB machine. Sharded inputs (model.safetensors.index.json) are read; the output is sharded\n"
            "the same way when it is larger than --shard-size. config.json is copied with torch_dtype\n"
            "updated, the tokenizer files as they are. F32 -> BF16 -> F32 gives back the same bits for\n"
            "values that are bf16. OUT must not exist; it appears only when complete.\n"
            "  --model IN        the model directory to read\n"
            "  --out OUT         the new directory\n"
            "  --dtype D         bf16, f16 or f32\n"
            "  --shard-size S    largest output file, e.g. 4GB (the default), 500MB, 2GiB; 0: one file\n"
            "  --json            print {\"out\", \"tensors\", \"shards\", \"bytes\"}\n" CLI_PROGRESS_HELP);
}

static void merge_help(FILE *f) {
    fprintf(f,
            "usage: toolformer merge-adapter --model BASE --adapter DIR --out OUT [--dtype bf16|f16|f32]\n"
            "                                [--shard-size SIZE] [--json] [--progress auto|bar|lines|none]\n\n"
            "Writes BASE with the LoRA adapter DIR (Hugging Face PEFT's adapter_config.json +\n"
            "adapter_model.safetensors, e.g. from `toolformer finetune --lora`) merged into its weights:\n"
            "W += (lora_alpha / r) * B @ A for every adapted module (PEFT's merge_and_unload), tensor by\n"
            "tensor, as a plain Hugging Face model directory that needs no adapter. The adapter is\n"
            "checked against BASE before anything is written. OUT must not exist; it appears only when\n"
            "complete.\n"
            "  --model BASE      the base model directory the adapter was trained on\n"
            "  --adapter DIR     the adapter directory\n"
            "  --out OUT         the new directory\n"
            "  --dtype D         bf16, f16 or f32 (default: each tensor's dtype in BASE)\n"
            "  --shard-size S    largest output file, e.g. 4GB (the default), 500MB; 0: one file\n"
            "  --json            print {\"out\", \"tensors\", \"shards\", \"bytes\", \"merged\"}\n" CLI_PROGRESS_HELP);
}

static int parse_dtype(const char *s, tf_st_dtype *d) {
    if (!strcmp(s, "bf16") || !strcmp(s, "bfloat16")) *d = TF_ST_BF16;
    else if (!strcmp(s, "f16") || !strcmp(s, "fp16") || !strcmp(s, "float16")) *d = TF_ST_F16;
    else if (!strcmp(s, "f32") || !strcmp(s, "fp32") || !strcmp(s, "float32")) *d = TF_ST_F32;
    else return -1;
    return 0;
}

// Both commands: parses the options into the fields; 0, or the exit code of a usage error (help: -1).
static int parse(const char *cmd, int merge, int argc, char **argv, const char **model, const char **adapter,
                 const char **out, tf_convert_opts *o, int *json) {
    static const struct option opts[] = {{"model", 1, 0, 'm'}, {"adapter", 1, 0, 'a'}, {"out", 1, 0, 'o'},
                                         {"dtype", 1, 0, 'd'}, {"shard-size", 1, 0, 's'}, {"json", 0, 0, 'j'},
                                         {"help", 0, 0, 'h'}, CLI_PROGRESS_OPTION, {0, 0, 0, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int h = cli_progress_option(c, optarg, cmd);
        if (h < 0) return CLI_USAGE;
        if (h) continue;
        switch (c) {
        case 'm': *model = optarg; break;
        case 'a':
            if (!merge) return cli_usage_error(cmd, "--adapter belongs to merge-adapter");
            *adapter = optarg;
            break;
        case 'o': *out = optarg; break;
        case 'd':
            if (parse_dtype(optarg, &o->dtype)) return cli_usage_error(cmd, "--dtype must be bf16, f16 or f32");
            break;
        case 's':
            if (tf_parse_size(optarg, &o->shard_bytes))
                return cli_usage_error(cmd, "--shard-size must be a size such as 4GB, 500MB or 0");
            break;
        case 'j': *json = 1; break;
        case 'h': (merge ? merge_help : convert_help)(stdout); return -1;
        default: return cli_usage_error(cmd, "unknown option (see --help)");
        }
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!*model) return cli_usage_error(cmd, "--model is required");
    if (merge && !*adapter) return cli_usage_error(cmd, "--adapter is required");
    if (!*out) return cli_usage_error(cmd, "--out is required");
    if (!merge && o->dtype == TF_ST_NUM_DTYPES) return cli_usage_error(cmd, "--dtype is required");
    return 0;
}

static void report(const char *out, const tf_convert_stats *s, int merge, int json) {
    if (json) {
        cli_json j;
        cli_json_begin(&j, stdout);
        cli_json_string(&j, "out", out);
        cli_json_int(&j, "tensors", s->tensors);
        cli_json_int(&j, "shards", s->shards);
        cli_json_uint(&j, "bytes", (unsigned long long)s->bytes);
        if (merge) cli_json_int(&j, "merged", s->merged);
        cli_json_end(&j, merge ? "merge-adapter" : "convert");
    } else {
        printf("wrote %s: %d tensors, %llu bytes (%.2f GB) in %d file%s", out, s->tensors,
               (unsigned long long)s->bytes, s->bytes / 1e9, s->shards, s->shards == 1 ? "" : "s");
        if (merge) printf(", %d adapted weights merged", s->merged);
        printf("\n");
    }
}

static int run(const char *cmd, int merge, int argc, char **argv) {
    const char *model = NULL, *adapter_dir = NULL, *out = NULL;
    int json = 0;
    tf_convert_opts o = {.dtype = TF_ST_NUM_DTYPES, .shard_bytes = 4000000000ull, .progress = 1};
    int rc = parse(cmd, merge, argc, argv, &model, &adapter_dir, &out, &o, &json);
    if (rc) return rc < 0 ? CLI_OK : rc;
    tf_error err = {0};
    // the output rule (tf_outguard.h): OUT is a new directory, written whole or not at all; it is
    // never one of the inputs' directories, never replaced, and locked (OUT.lock) while written
    char outn[4096], parent[4096];  // OUT without trailing slashes; OUT itself is created, not its parents
    snprintf(outn, sizeof outn, "%s", out);
    for (size_t n = strlen(outn); n > 1 && outn[n - 1] == '/';) outn[--n] = '\0';
    out = outn;
    tf_path_split(out, parent, sizeof parent);
    struct stat pst;
    if (stat(parent, &pst) != 0 || !S_ISDIR(pst.st_mode)) {
        fprintf(stderr, "toolformer: --out %s: cannot create it: directory %s %s; create it first or choose another "
                "path\n", out, parent, errno == ENOENT ? "does not exist" : "is not a directory");
        return CLI_FAIL;
    }
    tf_outguard g;
    char p_model[4096], p_config[4096];
    tf_guard_init(&g, cmd, TF_OUT_NEW, "choose another --out (the result is a new directory; nothing is replaced)");
    tf_path_join(p_model, sizeof p_model, out, "model.safetensors");
    tf_path_join(p_config, sizeof p_config, out, "config.json");
    if (tf_guard_input(&g, "--model", model, &err) || tf_guard_input(&g, "--adapter", adapter_dir, &err) ||
        tf_guard_output(&g, "--out", p_config, TF_OUT_REGULAR | TF_OUT_MKDIR, &err) ||
        tf_guard_output(&g, "--out", p_model, TF_OUT_REGULAR | TF_OUT_MKDIR, &err) || tf_guard_check(&g, &err) ||
        tf_guard_lock(&g, out, &err)) {
        tf_guard_release(&g);
        return cli_fail(&err);
    }
    tf_adapter *a = NULL;
    if (merge) {
        tf_config cfg;
        if (tf_config_load(model, &cfg, &err) || !(a = tf_adapter_load(adapter_dir, &cfg, &err))) {
            tf_guard_release(&g);
            return cli_fail(&err);
        }
        o.adapter = a;
    }
    tf_convert_stats st = {0};
    rc = tf_model_convert(model, out, &o, &st, &err);
    tf_adapter_free(a);
    tf_guard_release(&g);
    if (rc) return cli_fail(&err);
    report(out, &st, merge, json);
    return CLI_OK;
}

int cmd_convert(int argc, char **argv) { return run("convert", 0, argc, argv); }
int cmd_merge_adapter(int argc, char **argv) { return run("merge-adapter", 1, argc, argv); }
