// dataset.c — JSONL documents to token ids ("ids" arrays, or "text" through the caller's tokenizer).
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tf_train.h"

void tf_dataset_free(tf_dataset *ds) {
    free(ds->tokens);
    free(ds->mask);
    free(ds->start);
    memset(ds, 0, sizeof *ds);
}

int tf_dataset_add(tf_dataset *ds, const int *ids, const float *mask, int n, tf_error *err) {
    if (ds->n_docs + 2 > ds->cap_docs) {
        int cap = ds->cap_docs ? 2 * ds->cap_docs : 64;
        size_t *s = realloc(ds->start, (size_t)cap * sizeof *s);
        if (!s) return tf_errorf(err, TF_ENOMEM, "out of memory for documents");
        ds->start = s;
        ds->cap_docs = cap;
        if (ds->n_docs == 0) ds->start[0] = 0;
    }
    if (mask && !ds->mask && ds->n_tokens) {
        // the first masked document: earlier documents count every token
        ds->mask = malloc(ds->cap_tokens * sizeof *ds->mask);
        if (!ds->mask) return tf_errorf(err, TF_ENOMEM, "out of memory for loss masks");
        for (size_t i = 0; i < ds->n_tokens; i++) ds->mask[i] = 1.0f;
    }
    if (ds->n_tokens + n > ds->cap_tokens) {
        size_t cap = ds->cap_tokens ? ds->cap_tokens : 4096;
        while (cap < ds->n_tokens + n) cap *= 2;
        int *t = realloc(ds->tokens, cap * sizeof *t);
        if (!t) return tf_errorf(err, TF_ENOMEM, "out of memory for %zu tokens", cap);
        ds->tokens = t;
        if (ds->mask || mask) {
            float *mk = realloc(ds->mask, cap * sizeof *mk);
            if (!mk) return tf_errorf(err, TF_ENOMEM, "out of memory for loss masks");
            ds->mask = mk;
        }
        ds->cap_tokens = cap;
    }
    if (mask && !ds->mask) {
        ds->mask = malloc(ds->cap_tokens * sizeof *ds->mask);
        if (!ds->mask) return tf_errorf(err, TF_ENOMEM, "out of memory for loss masks");
    }
    if (n > 0) memcpy(ds->tokens + ds->n_tokens, ids, (size_t)n * sizeof(int));  // tokens is NULL before any
    if (ds->mask)
        for (int i = 0; i < n; i++) ds->mask[ds->n_tokens + i] = mask ? mask[i] : 1.0f;
    ds->n_tokens += n;
    ds->n_docs++;
    ds->start[ds->n_docs] = ds->n_tokens;
    return TF_OK;
}

// Parses one JSONL object into ids (+ mask). Returns TF_OK, or an error naming path:line.
static int parse_line(const char *line, const char *path, long lineno, tf_encode_fn encode, void *ctx,
                      int vocab_size, int **ids, float **mask, int *n, tf_error *err) {
    *ids = NULL;
    *mask = NULL;
    cJSON *doc = cJSON_Parse(line);
    if (!doc || !cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return tf_errorf(err, TF_EBADFILE, "%s:%ld: not a JSON object", path, lineno);
    }
    int rc = TF_OK;
    cJSON *jids = cJSON_GetObjectItemCaseSensitive(doc, "ids");
    cJSON *jtext = cJSON_GetObjectItemCaseSensitive(doc, "text");
    if (cJSON_IsArray(jids)) {
        int k = cJSON_GetArraySize(jids), i = 0;
        *ids = malloc((size_t)(k ? k : 1) * sizeof(int));
        if (!*ids) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); goto done; }
        cJSON *e;
        cJSON_ArrayForEach(e, jids) {
            double v = cJSON_IsNumber(e) ? e->valuedouble : -1;
            // the range check comes first: converting a double beyond int to int is undefined
            if (!cJSON_IsNumber(e) || !(v >= 0 && v <= INT_MAX) || v != (int)v || (vocab_size > 0 && v >= vocab_size)) {
                rc = tf_errorf(err, TF_EBADFILE, "%s:%ld: \"ids\"[%d] is not a token id in [0, %d)", path,
                               lineno, i, vocab_size);
                goto done;
            }
            (*ids)[i++] = (int)v;
        }
        *n = k;
    } else if (cJSON_IsString(jtext)) {
        if (!encode) {
            rc = tf_errorf(err, TF_EBADFILE, "%s:%ld: \"text\" needs a tokenizer (none found beside the model)",
                           path, lineno);
            goto done;
        }
        if ((rc = encode(ctx, jtext->valuestring, strlen(jtext->valuestring), ids, n, mask, err))) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            rc = tf_errorf(err, rc, "%s:%ld: %s", path, lineno, msg);
            goto done;
        }
        for (int i = 0; vocab_size > 0 && i < *n; i++)
            if ((*ids)[i] >= vocab_size) {
                rc = tf_errorf(err, TF_EBADFILE, "%s:%ld: token id %d from the tokenizer is outside the "
                               "model's vocabulary (%d)", path, lineno, (*ids)[i], vocab_size);
                goto done;
            }
    } else {
        rc = tf_errorf(err, TF_EBADFILE, "%s:%ld: expected an \"ids\" array or a \"text\" string", path, lineno);
        goto done;
    }
    cJSON *jmask = cJSON_GetObjectItemCaseSensitive(doc, "loss_mask");
    if (jmask) {
        if (!cJSON_IsArray(jmask) || cJSON_GetArraySize(jmask) != *n) {
            rc = tf_errorf(err, TF_EBADFILE, "%s:%ld: \"loss_mask\" must be an array of %d numbers", path,
                           lineno, *n);
            goto done;
        }
        free(*mask);
        *mask = malloc((size_t)(*n ? *n : 1) * sizeof(float));
        if (!*mask) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); goto done; }
        int i = 0;
        cJSON *e;
        cJSON_ArrayForEach(e, jmask) (*mask)[i++] = cJSON_IsNumber(e) ? (float)e->valuedouble : 1.0f;
    }
done:
    if (rc) {
        free(*ids);
        free(*mask);
        *ids = NULL;
        *mask = NULL;
    }
    cJSON_Delete(doc);
    return rc;
}

// A JSONL line longer than this is an error (bounded memory whatever the input: /dev/zero, a file
// with no newline).
#define MAX_LINE_BYTES TF_READ_MAX_DEFAULT

int tf_dataset_load_jsonl(tf_dataset *ds, const char *path, tf_encode_fn encode, void *encode_ctx,
                          int vocab_size, tf_error *err) {
    struct stat st;
    if (stat(path, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
        return tf_errorf(err, TF_EBADARG, "%s is %s, not a JSONL file", path,
                         S_ISDIR(st.st_mode) ? "a directory" : "a device");
    FILE *f = fopen(path, "r");
    if (!f) return tf_errorf(err, TF_EIO, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, got = 0;
    long len;
    long lineno = 0;
    int rc = TF_OK, too_long;
    while ((len = tf_read_line(f, &line, &cap, MAX_LINE_BYTES, &got, &too_long)) >= 0) {
        lineno++;
        if (too_long) {
            rc = tf_errorf(err, TF_EBADFILE, "%s:%ld: a line longer than %zu MiB", path, lineno, MAX_LINE_BYTES >> 20);
            break;
        }
        if (strspn(line, " \t\r\n") == got) continue;
        if (memchr(line, '\0', got)) {
            rc = tf_errorf(err, TF_EBADFILE, "%s:%ld: NUL byte in a JSONL line", path, lineno);
            break;
        }
        int *ids, n = 0;
        float *mask;
        if ((rc = parse_line(line, path, lineno, encode, encode_ctx, vocab_size, &ids, &mask, &n, err))) break;
        if (cap > (1u << 24)) {  // a huge line: its buffer goes back before its ids are stored
            free(line);
            line = NULL;
            cap = 0;
        }
        rc = tf_dataset_add(ds, ids, mask, n, err);
        free(ids);
        free(mask);
        if (rc) break;
    }
    if (!rc && ferror(f)) rc = tf_errorf(err, TF_EIO, "%s: read error", path);
    free(line);
    fclose(f);
    return rc;
}
