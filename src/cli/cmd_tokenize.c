// cmd_tokenize.c — `toolformer tokenize`: text to token ids with a model's or a standalone tokenizer.
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(FILE *out) {
    fprintf(out,
            "usage: toolformer tokenize (--tokenizer DIR | --model DIR) (--text T | --file F) [--json] [--special]\n\n"
            "Encodes text with a byte-level BPE tokenizer (GPT-2 exact) and prints the ids, comma-separated.\n"
            "The directory holds tokenizer.json, vocab.json + merges.txt, or encoder.json + vocab.bpe.\n\n"
            "  --tokenizer DIR  tokenizer directory\n"
            "  --model DIR      model directory (its tokenizer files)\n"
            "  --text T         the text to encode\n"
            "  --file F         encode the bytes of file F instead ('-' for stdin)\n"
            "  --special        recognise special tokens such as <|endoftext|> in the text\n"
            "  --json           print {\"ids\": [...], \"tokens\": [...], \"count\": N}\n"
            "  -h, --help       this help\n");
}


// Parses the options, reads the text (--text, or --file with - for stdin), encodes it with the
// tokenizer of DIR and prints the ids (comma-separated, or JSON with each token's text).
int cmd_tokenize(int argc, char **argv) {
    static const struct option opts[] = {
        {"tokenizer", required_argument, NULL, 't'}, {"model", required_argument, NULL, 'm'},
        {"text", required_argument, NULL, 'x'},      {"file", required_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},            {"special", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *text = NULL, *file = NULL;
    int json = 0, special = 0, dirs = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': case 'm': dir = optarg; dirs++; break;
        case 'x': text = optarg; break;
        case 'f': file = optarg; break;
        case 'j': json = 1; break;
        case 's': special = 1; break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("tokenize", "unknown option");
        }
    }
    // --tokenizer and --model both name the directory that holds the tokenizer files: exactly one
    if (optind < argc) return cli_usage_error("tokenize", "unexpected argument '%s'", argv[optind]);
    if (dirs != 1) return cli_usage_error("tokenize", "give exactly one of --tokenizer DIR or --model DIR");
    if (!text == !file) return cli_usage_error("tokenize", "give exactly one of --text T or --file F");
    tf_error err = {0};
    // a file is read whole (stdin and FIFOs too), so the text may hold NUL bytes: its length is kept
    size_t len = text ? strlen(text) : 0;
    char *buf = NULL;
    if (file) {
        buf = tf_read_file_ex(strcmp(file, "-") ? file : "/dev/stdin", 0, TF_READ_STREAM, &len, &err);
        if (!buf) return cli_fail(&err);
        text = buf;
    }
    // --special: "<|endoftext|>" and the other special tokens in the text become their ids;
    // without it they are encoded as plain text
    tf_tokenizer *t = tf_tokenizer_load(dir, &err);
    int *ids = NULL, n = 0;
    if (!t || tf_tokenizer_encode(t, text, len, special, &ids, &n, &err)) {
        free(buf);
        tf_tokenizer_free(t);
        return cli_fail(&err);
    }
    // JSON: {"ids": [...], "tokens": [...], "count": n}; a token's bytes may end inside a UTF-8
    // character, so its text is sanitised (invalid sequences as U+FFFD)
    if (json) {
        cJSON *o = cJSON_CreateObject(), *ja = cJSON_AddArrayToObject(o, "ids"), *ta = cJSON_AddArrayToObject(o, "tokens");
        for (int i = 0; i < n; i++) {
            size_t tl;
            const char *tb = tf_tokenizer_token_bytes(t, ids[i], &tl);
            char *s = tf_utf8_sanitize(tb, tl);
            cJSON_AddItemToArray(ja, cJSON_CreateNumber(ids[i]));
            cJSON_AddItemToArray(ta, cJSON_CreateString(s ? s : ""));
            free(s);
        }
        cJSON_AddNumberToObject(o, "count", n);
        char *s = cJSON_PrintUnformatted(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        for (int i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
        printf("\n");
    }
    free(ids);
    free(buf);
    tf_tokenizer_free(t);
    return CLI_OK;
}
