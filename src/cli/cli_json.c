// cli_json.c — the one writer of the command line's JSON output: valid JSON whatever the numbers.
#include "cli.h"

#include <math.h>
#include <string.h>

void cli_json_begin(cli_json *j, FILE *f) {
    memset(j, 0, sizeof *j);
    j->f = f;
    fputc('{', f);
    j->close[0] = '}';
    j->depth = 1;
}

// The separator and the key of the next item of the innermost level.
static void item(cli_json *j, const char *key) {
    int d = j->depth - 1;
    if (d < 0) return;
    if (j->n_items[d]++) fputs(", ", j->f);
    if (key && j->close[d] == '}') {
        cli_print_json_string(j->f, key);
        fputs(": ", j->f);
    }
}

static void open_level(cli_json *j, const char *key, char open, char close) {
    item(j, key);
    fputc(open, j->f);
    if (j->depth < (int)sizeof j->close) {
        j->close[j->depth] = close;
        j->n_items[j->depth] = 0;
        j->key[j->depth] = key;
        j->depth++;
    }
}

void cli_json_object(cli_json *j, const char *key) { open_level(j, key, '{', '}'); }
void cli_json_array(cli_json *j, const char *key) { open_level(j, key, '[', ']'); }

void cli_json_close(cli_json *j) {
    if (j->depth <= 0) return;
    j->depth--;
    fputc(j->close[j->depth], j->f);
}

void cli_json_string(cli_json *j, const char *key, const char *s) {
    item(j, key);
    if (s) cli_print_json_string(j->f, s);
    else fputs("null", j->f);
}

void cli_json_int(cli_json *j, const char *key, long long v) {
    item(j, key);
    fprintf(j->f, "%lld", v);
}

void cli_json_uint(cli_json *j, const char *key, unsigned long long v) {
    item(j, key);
    fprintf(j->f, "%llu", v);
}

void cli_json_bool(cli_json *j, const char *key, int v) {
    item(j, key);
    fputs(v ? "true" : "false", j->f);
}

void cli_json_null(cli_json *j, const char *key) {
    item(j, key);
    fputs("null", j->f);
}

void cli_json_number(cli_json *j, const char *key, const char *fmt, double v) {
    int d = j->depth - 1;
    long index = d >= 0 ? j->n_items[d] : 0;  // the item's place in its array, for the message
    item(j, key);
    if (isfinite(v)) {
        char buf[64];
        snprintf(buf, sizeof buf, fmt, v);
        // a format such as %g can print an integer-looking or exponent form: both are JSON numbers
        fputs(buf, j->f);
        return;
    }
    fputs("null", j->f);
    if (j->n_bad++) return;
    if (key || d < 0 || j->close[d] != ']') snprintf(j->first_bad, sizeof j->first_bad, "%s", key ? key : "?");
    else snprintf(j->first_bad, sizeof j->first_bad, "%s[%ld]", j->key[d] ? j->key[d] : "", index);
}

void cli_json_ids(cli_json *j, const char *key, const int *ids, int n) {
    item(j, key);
    cli_print_ids_json(j->f, ids, n);
}

int cli_json_end(cli_json *j, const char *cmd) {
    while (j->depth > 0) cli_json_close(j);
    fputc('\n', j->f);
    fflush(j->f);
    if (!j->n_bad) return CLI_OK;
    fprintf(stderr, "toolformer %s: %d value%s of the JSON output %s (NaN or infinity), the first \"%s\"; written as "
            "null: the model or the input gives NaN (check its weights)\n", cmd, j->n_bad, j->n_bad == 1 ? "" : "s",
            j->n_bad == 1 ? "is not a finite number" : "are not finite numbers", j->first_bad);
    return CLI_FAIL;
}
