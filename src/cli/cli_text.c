// cli_text.c — the subcommands' bridge to the tokenizer, and JSON printing helpers.
#include <cjson/cJSON.h>
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
    char *clean = cli_utf8_sanitize(s, strlen(s));
    cJSON *j = cJSON_CreateString(clean ? clean : "");
    free(clean);
    char *out = j ? cJSON_PrintUnformatted(j) : NULL;
    fputs(out ? out : "null", f);
    free(out);
    cJSON_Delete(j);
}

// A copy of s[n] that is valid UTF-8 (each invalid byte becomes U+FFFD), for JSON output.
char *cli_utf8_sanitize(const char *s, size_t n) {
    char *out = malloc(3 * n + 1), *o = out;
    if (!out) return NULL;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        size_t len = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        int ok = len && i + len <= n;
        for (size_t k = 1; ok && k < len; k++) ok = (u[i + k] & 0xC0) == 0x80;
        if (ok && len == 3) ok = !(c == 0xE0 && u[i + 1] < 0xA0) && !(c == 0xED && u[i + 1] >= 0xA0);
        if (ok && len == 4) ok = !(c == 0xF0 && u[i + 1] < 0x90) && !(c == 0xF4 && u[i + 1] >= 0x90);
        if (ok && c) {
            memcpy(o, s + i, len);
            o += len;
            i += len;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    *o = '\0';
    return out;
}
