// cmd_loss.c — `toolformer loss`: the mean negative log-likelihood of each token given the ones before.
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: toolformer loss --model DIR (--ids 1,2,3 | --text TEXT) [--json] [--threads N]\n"
            "                       [--dtype fp32|bf16] [--mmap] [--adapter DIR]\n\n"
            "Scores a token sequence: the NLL of token i given tokens 0..i-1, for i >= 1.\n"
            "  --model DIR    Hugging Face model directory (config.json + model.safetensors)\n"
            "  --ids LIST     comma-separated token ids\n"
            "  --text TEXT    text, encoded with the tokenizer in DIR\n"
            "  --json         print {\"tokens\", \"n_scored\", \"mean_nll\", \"sum_nll\", \"token_nll\"}\n"
            "  --threads N    threads (default: physical cores)\n"
            "  --dtype D      matmul precision: fp32 (default) or bf16 (bf16 matmuls, fp32 accumulation)\n"
            "  --mmap         keep the weight matrices in the file's dtype (F32/BF16/F16) inside the\n"
            "                 read-only mapping, with no fp32 copy (big checkpoints; BF16 files compute\n"
            "                 in bf16)\n"
            "  --mmap-copy    as --mmap, but the file is read into the process's own memory instead of\n"
            "                 mapped: decoding streams it faster; that memory cannot be reclaimed\n"
            "  --adapter DIR  apply a LoRA adapter in PEFT's format (e.g. from finetune --lora)\n");
}

// Parses the options, reads the token ids (given, or encoded from --text with DIR's tokenizer),
// runs one forward pass over them and prints each token's NLL. Exit 1 for bad input or a file
// error, 2 for bad usage.
int cmd_loss(int argc, char **argv) {
    static const struct option opts[] = {{"model", 1, 0, 'm'}, {"ids", 1, 0, 'i'}, {"text", 1, 0, 't'},
                                         {"json", 0, 0, 'j'},  {"threads", 1, 0, 'n'}, {"dtype", 1, 0, 'Y'},
                                         {"mmap", 0, 0, 'M'}, {"mmap-copy", 0, 0, CLI_OPT_MMAP_COPY},  {"adapter", 1, 0, 'A'}, {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model_dir = NULL, *ids_arg = NULL, *text = NULL, *adapter = NULL;
    int json = 0, c, mapped = 0;
    long threads = 0;
    tf_dtype dtype = TF_DTYPE_FP32;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_dir = optarg; break;
        case 'i': ids_arg = optarg; break;
        case 't': text = optarg; break;
        case 'j': json = 1; break;
        case 'n':
            if (cli_int(optarg, 1, 1024, &threads)) return cli_usage_error("loss", "--threads wants 1..1024");
            break;
        case 'Y':
            if (tf_dtype_parse(optarg, &dtype)) return cli_usage_error("loss", "--dtype wants fp32 or bf16");
            break;
        case 'M': mapped = 1; break;
        case CLI_OPT_MMAP_COPY: mapped = 2; break;
        case 'A': adapter = optarg; break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("loss", "unknown option");
        }
    }
    // the option checks, in the order a user meets them
    if (!model_dir) return cli_usage_error("loss", "--model is required");
    if (cli_no_arguments("loss", argc, argv, optind)) return CLI_USAGE;
    if (!ids_arg == !text) return cli_usage_error("loss", "give exactly one of --ids and --text");
    if (text && !*text) return cli_usage_error("loss", "--text is empty: the loss needs at least two tokens");
    // the ids: from --ids as given, or the text through the model's tokenizer (no special tokens)
    tf_set_threads((int)threads);
    tf_error err = {0};
    int n = 0, *ids = ids_arg ? cli_parse_ids(ids_arg, &n, &err) : NULL;
    if (text && cli_encode(model_dir, text, &ids, &n, &err)) return cli_fail(&err);
    if (!ids) return cli_fail(&err);
    if (n < 2) {
        free(ids);
        return cli_usage_error("loss", "need at least 2 tokens (the first one is not scored)");
    }
    // the model, in the precision asked for, mapped or with an adapter on top
    tf_model *m = cli_load_model(model_dir, &(cli_model_opts){dtype, mapped, adapter}, &err);
    if (!m) {
        free(ids);
        return cli_fail(&err);
    }
    int rc = CLI_OK;
    if (n > m->cfg.n_positions) {
        tf_errorf(&err, TF_EBADARG, "%d tokens exceed the model's context of %d", n, m->cfg.n_positions);
        rc = cli_fail(&err);
        goto done;
    }
    // one row of n - 1 positions: inputs ids[0..n-2], targets ids[1..n-1] (token 0 has no context,
    // so it is not scored); every target weighs 1
    if (tf_model_forward(m, ids, ids + 1, NULL, 1, n - 1, &err)) {
        rc = cli_fail(&err);
        goto done;
    }
    const float *nll = tf_model_token_nll(m);
    // nll[i] = -log p(ids[i+1] | ids[0..i]); mean_nll = sum / (n - 1), ppl = exp(mean_nll)
    double sum = 0.0;
    for (int i = 0; i < n - 1; i++) sum += nll[i];
    if (json) {
        cli_json j;
        cli_json_begin(&j, stdout);
        cli_json_ids(&j, "tokens", ids, n);
        cli_json_int(&j, "n_scored", n - 1);
        cli_json_number(&j, "mean_nll", "%.7g", sum / (n - 1));
        cli_json_number(&j, "sum_nll", "%.7g", sum);
        cli_json_array(&j, "token_nll");
        for (int i = 0; i < n - 1; i++) cli_json_number(&j, NULL, "%.7g", nll[i]);
        rc = cli_json_end(&j, "loss");
    } else {
        printf("tokens %d  scored %d  mean_nll %.6f  sum_nll %.6f  ppl %.3f\n", n, n - 1, sum / (n - 1), sum,
               exp(sum / (n - 1)));
        if (!isfinite(sum)) {
            fprintf(stderr, "toolformer loss: the loss is not a finite number (NaN or infinity): the model gives NaN "
                    "(check its weights)\n");
            rc = CLI_FAIL;
        }
    }
done:
    free(ids);
    tf_model_free(m);
    return rc;
}
