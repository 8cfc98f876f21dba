// cli_text.c — the subcommands' bridge to the tokenizer, and JSON printing helpers.
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_has_tokenizer(const char *dir) {
    const char *files[] = {"tokenizer.json", "vocab.json", "encoder.json"};
    char p[4096];
    for (int i = 0; i < 3; i++)
        if (access(tf_path_join(p, sizeof p, dir, files[i]), R_OK) == 0) return 1;
    return 0;
}

// The tokenizer of the last directory asked for, kept for the life of the command.
static tf_tokenizer *cached;
static char cached_dir[4096];

static const tf_tokenizer *tokenizer_for(const char *dir, tf_error *err) {
    if (cached && !strcmp(cached_dir, dir)) return cached;
    tf_tokenizer_free(cached);
    cached = NULL;
    if (access(dir, F_OK) != 0) {  // no such directory: say that, not that it lacks a tokenizer
        tf_errorf(err, TF_EIO, "%s: %s (the model or tokenizer directory)", dir, strerror(errno));
        return NULL;
    }
    if (!cli_has_tokenizer(dir)) {
        tf_errorf(err, TF_EBADARG, "%s: no tokenizer here (tokenizer.json, vocab.json + merges.txt, or "
                  "encoder.json + vocab.bpe); pass token ids instead", dir);
        return NULL;
    }
    cached = tf_tokenizer_load(dir, err);
    if (cached) snprintf(cached_dir, sizeof cached_dir, "%s", dir);
    return cached;
}

const tf_tokenizer *cli_tokenizer(const char *dir, tf_error *err) { return tokenizer_for(dir, err); }

void cli_text_cleanup(void) {
    tf_tokenizer_free(cached);
    cached = NULL;
}

int cli_encode(const char *dir, const char *text, int **ids, int *n, tf_error *err) {
    const tf_tokenizer *t = tokenizer_for(dir, err);
    if (!t) return err->code;
    return tf_tokenizer_encode(t, text, strlen(text), 0, ids, n, err);
}

char *cli_decode(const char *dir, const int *ids, int n, tf_error *err) {
    const tf_tokenizer *t = tokenizer_for(dir, err);
    return t ? tf_tokenizer_decode(t, ids, n, NULL, err) : NULL;
}

void cli_print_ids_json(FILE *f, const int *ids, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? ", " : "", ids[i]);
    fputc(']', f);
}

void cli_print_json_string(FILE *f, const char *s) {
    char *clean = tf_utf8_sanitize(s, strlen(s));
    cJSON *j = cJSON_CreateString(clean ? clean : "");
    free(clean);
    char *out = j ? cJSON_PrintUnformatted(j) : NULL;
    fputs(out ? out : "null", f);
    free(out);
    cJSON_Delete(j);
}

