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

int cli_encode(const char *dir, const char *text, int **ids, int *n, tf_error *err) {
    (void)text;
    (void)ids;
    (void)n;
    return tf_errorf(err, TF_EBADARG, "%s: text input needs the tokenizer, which is not built yet; pass --ids",
                     dir);
}

char *cli_decode(const char *dir, const int *ids, int n, tf_error *err) {
    (void)ids;
    (void)n;
    tf_errorf(err, TF_EBADARG, "%s: no tokenizer", dir);
    return NULL;
}

void cli_print_ids_json(FILE *f, const int *ids, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? ", " : "", ids[i]);
    fputc(']', f);
}

void cli_print_json_string(FILE *f, const char *s) {
    cJSON *j = cJSON_CreateString(s);
    char *out = j ? cJSON_PrintUnformatted(j) : NULL;
    fputs(out ? out : "null", f);
    free(out);
    cJSON_Delete(j);
}
