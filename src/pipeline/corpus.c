// corpus.c — documents from JSONL ({"id", "text", "date"}) or plain text (blank-line separated).
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tf_pipeline.h"

struct tf_corpus {
    FILE *f;
    char *path;
    int jsonl;
    long line, index;
    char *buf;    // getline buffer
    size_t cap;
    char *text;   // the current document's text (plain mode) or strings owned by json
    cJSON *json;
    char id[32];
};

tf_corpus *tf_corpus_open(const char *path, tf_error *err) {
    tf_corpus *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        tf_errorf(err, TF_ENOMEM, "out of memory");
        return NULL;
    }
    c->f = fopen(path, "r");
    if (!c->f) {
        tf_errorf(err, TF_EIO, "%s: cannot open: %s", path, strerror(errno));
        free(c->path);
        free(c);
        return NULL;
    }
    int ch;
    while ((ch = fgetc(c->f)) == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
    }
    c->jsonl = ch == '{';
    rewind(c->f);
    return c;
}

void tf_corpus_close(tf_corpus *c) {
    if (!c) return;
    fclose(c->f);
    cJSON_Delete(c->json);
    free(c->buf);
    free(c->text);
    free(c->path);
    free(c);
}

static const char *str_field(cJSON *j, const char *key) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int tf_corpus_next(tf_corpus *c, tf_document *doc, long *index, tf_error *err) {
    cJSON_Delete(c->json);
    c->json = NULL;
    free(c->text);
    c->text = NULL;
    ssize_t len;
    size_t got;
    int too_long;
    if (c->jsonl) {
        while ((len = tf_read_line(c->f, &c->buf, &c->cap, TF_MAX_DOCUMENT_BYTES, &got, &too_long)) >= 0) {
            c->line++;
            if (too_long) {  // passed over, not parsed
                snprintf(c->id, sizeof c->id, "%ld", c->index);
                *doc = (tf_document){c->id, "", NULL, (size_t)len};
                *index = c->index++;
                return 1;
            }
            if (strspn(c->buf, " \t\r\n") == got) continue;
            c->json = cJSON_Parse(c->buf);
            const char *text = c->json ? str_field(c->json, "text") : NULL;
            if (!cJSON_IsObject(c->json) || !text) {
                tf_errorf(err, TF_EBADFILE, "%s:%ld: expected a JSON object with a \"text\" string", c->path, c->line);
                return -1;
            }
            cJSON *date = cJSON_GetObjectItemCaseSensitive(c->json, "date");
            if (date && !cJSON_IsNull(date) && !cJSON_IsString(date)) {
                tf_errorf(err, TF_EBADFILE, "%s:%ld: \"date\" must be a \"YYYY-MM-DD\" string", c->path, c->line);
                return -1;
            }
            snprintf(c->id, sizeof c->id, "%ld", c->index);
            const char *id = str_field(c->json, "id");
            *doc = (tf_document){id ? id : c->id, text, str_field(c->json, "date"), 0};
            *index = c->index++;
            return 1;
        }
        if (ferror(c->f)) {
            tf_errorf(err, TF_EIO, "%s: read error after line %ld", c->path, c->line);
            return -1;
        }
        return 0;
    }
    // plain text: a document is a run of non-blank lines
    size_t n = 0, cap = 0, total = 0;
    while ((len = tf_read_line(c->f, &c->buf, &c->cap, TF_MAX_DOCUMENT_BYTES, &got, &too_long)) >= 0) {
        c->line++;
        int blank = !too_long && strspn(c->buf, " \t\r\n") == got;
        if (blank) {
            if (total) break;
            continue;
        }
        total += (size_t)len;
        if (total > TF_MAX_DOCUMENT_BYTES) {  // too long: read on to its end without keeping it
            free(c->text);
            c->text = NULL;
            n = cap = 0;
            continue;
        }
        if (n + (size_t)len + 1 > cap) {
            cap = 2 * (n + (size_t)len + 1);
            char *t = realloc(c->text, cap);
            if (!t) {
                tf_errorf(err, TF_ENOMEM, "out of memory");
                return -1;
            }
            c->text = t;
        }
        memcpy(c->text + n, c->buf, (size_t)len);
        n += (size_t)len;
        c->text[n] = '\0';
    }
    if (ferror(c->f)) {
        tf_errorf(err, TF_EIO, "%s: read error after line %ld", c->path, c->line);
        return -1;
    }
    if (!total) return 0;
    snprintf(c->id, sizeof c->id, "%ld", c->index);
    if (total > TF_MAX_DOCUMENT_BYTES) {
        *doc = (tf_document){c->id, "", NULL, total};
        *index = c->index++;
        return 1;
    }
    while (n && (c->text[n - 1] == '\n' || c->text[n - 1] == '\r')) c->text[--n] = '\0';
    *doc = (tf_document){c->id, c->text, NULL, 0};
    *index = c->index++;
    return 1;
}
