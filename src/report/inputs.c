// inputs.c — the run directory's files for the report: names, JSON files, JSONL files line by line.
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

int rp_has(const rp_ctx *c, const char *name) {
    for (int i = 0; i < c->n_names; i++)
        if (!strcmp(c->names[i], name)) return 1;
    return 0;
}

const char *rp_path(const rp_ctx *c, const char *name, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "%s/%s", c->dir, name);
    return n > 0 && (size_t)n < cap ? buf : NULL;
}

int rp_ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

int rp_load_json(const rp_ctx *c, const char *name, cJSON **out, tf_error *err) {
    *out = NULL;
    if (!rp_has(c, name)) return TF_OK;
    char p[4096];
    if (!rp_path(c, name, p, sizeof p)) return tf_errorf(err, TF_EBADARG, "%s/%s: path too long", c->dir, name);
    size_t len;
    char *s = tf_read_file(p, &len, err);
    if (!s) return err->code;
    if (strspn(s, " \t\r\n") == len) {  // empty: a stage that has not written yet (or was stopped)
        free(s);
        return TF_OK;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(s, &end, 0);
    if (!j) {
        long line = 1;
        for (const char *q = s; end && q < end; q++) line += *q == '\n';
        free(s);
        return tf_errorf(err, TF_EBADFILE, "%s:%ld: not valid JSON", p, line);
    }
    free(s);
    *out = j;
    return TF_OK;
}

int rp_each_line(const rp_ctx *c, const char *name, rp_line_fn fn, void *ud, int *found, tf_error *err) {
    *found = 0;
    if (!rp_has(c, name)) return TF_OK;
    char p[4096];
    if (!rp_path(c, name, p, sizeof p)) return tf_errorf(err, TF_EBADARG, "%s/%s: path too long", c->dir, name);
    FILE *f = fopen(p, "r");
    if (!f) return tf_errorf(err, TF_EIO, "%s: cannot open: %s", p, strerror(errno));
    *found = 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long no = 0;
    int rc = TF_OK;
    while ((n = getline(&line, &cap, f)) > 0) {
        no++;
        size_t k = strspn(line, " \t\r\n");
        if ((ssize_t)k == n) continue;
        cJSON *o = cJSON_ParseWithLength(line, (size_t)n);
        if (!cJSON_IsObject(o)) {
            cJSON_Delete(o);
            rc = tf_errorf(err, TF_EBADFILE, "%s:%ld: not a JSON object", p, no);
            break;
        }
        int stop = fn(o, no, ud);
        cJSON_Delete(o);
        if (stop) break;
    }
    if (!rc && ferror(f)) rc = tf_errorf(err, TF_EIO, "%s: read failed", p);
    free(line);
    fclose(f);
    return rc;
}

double rp_num(const cJSON *o, const char *key, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

const char *rp_str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
