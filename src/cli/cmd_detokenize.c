// cmd_detokenize.c — `toolformer detokenize`: token ids back to the exact text.
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"


static void help(FILE *out) {
    fprintf(out,
            "usage: toolformer detokenize (--tokenizer DIR | --model DIR) --ids 1,2,3 [--json]\n\n"
            "Decodes token ids to the exact bytes of the text and writes them to stdout (no newline added).\n\n"
            "  --tokenizer DIR  tokenizer directory (tokenizer.json, vocab.json + merges.txt, or encoder.json + vocab.bpe)\n"
            "  --model DIR      model directory (its tokenizer files)\n"
            "  --ids LIST       comma-separated token ids\n"
            "  --json           print {\"text\": \"...\"} (invalid UTF-8 shown as U+FFFD)\n"
            "  -h, --help       this help\n");
}

// Parses the options, decodes --ids with DIR's tokenizer and writes the text's exact bytes (or
// {"text": ...} with --json). Exit 1 for an id outside the vocabulary or a bad tokenizer, 2 for bad usage.
int cmd_detokenize(int argc, char **argv) {
    static const struct option opts[] = {
        {"tokenizer", required_argument, NULL, 't'}, {"model", required_argument, NULL, 'm'},
        {"ids", required_argument, NULL, 'i'},       {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *list = NULL;
    int json = 0, dirs = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': case 'm': dir = optarg; dirs++; break;
        case 'i': list = optarg; break;
        case 'j': json = 1; break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("detokenize", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("detokenize", "unexpected argument '%s'", argv[optind]);
    if (dirs != 1) return cli_usage_error("detokenize", "give exactly one of --tokenizer DIR or --model DIR");
    if (!list) return cli_usage_error("detokenize", "--ids is required");
    tf_error err = {0};
    int n = 0;
    // the ids are checked against the vocabulary by the decoder, not here
    int *ids = cli_parse_ids(list, &n, &err);
    if (!ids) return cli_fail(&err);
    tf_tokenizer *t = tf_tokenizer_load(dir, &err);
    size_t len = 0;
    char *text = t ? tf_tokenizer_decode(t, ids, n, &len, &err) : NULL;
    free(ids);
    tf_tokenizer_free(t);
    if (!text) {
        if (err.code == TF_EBADARG) err.code = TF_EBADFILE;  // a bad id is bad input, not bad usage
        return cli_fail(&err);
    }
    // JSON strings must be valid UTF-8: the sanitised text; the plain output is the bytes as decoded
    if (json) {
        char *s = tf_utf8_sanitize(text, len);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", s ? s : "");
        char *p = cJSON_PrintUnformatted(o);
        printf("%s\n", p);
        free(p);
        free(s);
        cJSON_Delete(o);
    } else {
        fwrite(text, 1, len, stdout);
    }
    free(text);
    return fflush(stdout) ? CLI_FAIL : CLI_OK;
}
