// merge_shards.c — joins the outputs of annotate shards (--shard K/N, mpirun, job arrays) into one
// file in corpus order: a k-way merge on each line's "doc_index", lines copied byte for byte.
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tf_pipeline.h"

typedef struct {
    const char *path;
    FILE *f;
    char *line;      // the current line (with its newline), NULL at the end
    size_t cap;
    ssize_t len;
    long lineno;     // of the current line
    long index;      // its doc_index
} shard;

// Reads the next non-blank line of s and its doc_index; s->line = NULL at the end of the file.
static int next_line(shard *s, tf_error *err) {
    long prev = s->line ? s->index : -1;
    for (;;) {
        errno = 0;
        s->len = getline(&s->line, &s->cap, s->f);
        if (s->len < 0) {
            if (ferror(s->f)) return tf_errorf(err, TF_EIO, "%s: read failed: %s", s->path, strerror(errno));
            free(s->line);
            s->line = NULL;
            return TF_OK;
        }
        s->lineno++;
        if (s->line[s->len - 1] != '\n')
            return tf_errorf(err, TF_EBADFILE, "%s:%ld: the last line is cut short (no newline): was its run "
                             "interrupted? finish it with `toolformer annotate ... --resume`", s->path, s->lineno);
        size_t k = 0;
        while (k < (size_t)s->len && (s->line[k] == ' ' || s->line[k] == '\t' || s->line[k] == '\r' ||
                                      s->line[k] == '\n'))
            k++;
        if (k < (size_t)s->len) break;
    }
    cJSON *j = cJSON_ParseWithLength(s->line, (size_t)s->len);
    cJSON *di = cJSON_GetObjectItemCaseSensitive(j, "doc_index");
    double v = cJSON_IsNumber(di) ? di->valuedouble : -1;
    int is_object = cJSON_IsObject(j), ok = is_object && v >= 0 && v < 9e15 && v == (double)(long)v;
    cJSON_Delete(j);
    if (!ok)
        return tf_errorf(err, TF_EBADFILE, "%s:%ld: %s; merge-shards joins the outputs of `toolformer annotate`, whose "
                         "lines carry \"doc_index\" (an integer >= 0)", s->path, s->lineno,
                         is_object ? "no \"doc_index\" integer >= 0" : "not a JSON object");
    s->index = (long)v;
    if (s->index < prev)
        return tf_errorf(err, TF_EBADFILE, "%s:%ld: doc_index %ld after %ld: the file is not in corpus order (not "
                         "one annotate shard?)", s->path, s->lineno, s->index, prev);
    return TF_OK;
}

// The shards' progress files: each finished, and together one K of every 0 <= K < N.
static int check_progress(const char *const *paths, int n, tf_error *err) {
    int with = 0, N = -1;
    char *seen = NULL;
    int rc = TF_OK;
    for (int i = 0; i < n && !rc; i++) {
        char pp[4096];
        snprintf(pp, sizeof pp, "%s.progress", paths[i]);
        if (access(pp, F_OK) != 0) continue;
        char *text = tf_read_file(pp, NULL, err);
        if (!text) return err->code;
        cJSON *j = cJSON_Parse(text);
        free(text);
        cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "shard_k"), *nn = cJSON_GetObjectItemCaseSensitive(j, "shard_n"),
              *next = cJSON_GetObjectItemCaseSensitive(j, "next_doc");
        if (!cJSON_IsObject(j) || !cJSON_IsNumber(next)) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: malformed progress file", pp);
        } else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "complete"))) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: its run has not finished (next document %.0f): finish it with "
                           "`toolformer annotate ... --resume`, or merge what there is with --partial", pp,
                           next->valuedouble);
        } else if (cJSON_IsNumber(k) && cJSON_IsNumber(nn) && nn->valueint > 0 && k->valueint >= 0 &&
                   k->valueint < nn->valueint) {
            if (N < 0 && nn->valueint > (1 << 20)) {
                rc = tf_errorf(err, TF_EBADFILE, "%s: shard_n %d is beyond any real run (at most %d)", pp,
                               nn->valueint, 1 << 20);
            } else if (N < 0) {
                N = nn->valueint;
                seen = calloc((size_t)N, 1);
                if (!seen) rc = tf_errorf(err, TF_ENOMEM, "out of memory");
            }
            if (rc) {
            } else if (nn->valueint != N) {
                rc = tf_errorf(err, TF_EBADARG, "%s is shard %d/%d but an earlier one is of %d shards", paths[i],
                               k->valueint, nn->valueint, N);
            } else if (seen[k->valueint]++) {
                rc = tf_errorf(err, TF_EBADARG, "%s is shard %d/%d, given twice", paths[i], k->valueint, N);
            } else {
                with++;
            }
        }
        cJSON_Delete(j);
    }
    if (!rc && with == n && N > 0 && n != N) {
        int missing = 0;
        while (seen[missing]) missing++;
        rc = tf_errorf(err, TF_EBADARG, "shard %d/%d is missing (%d of %d shards given); merge what there is with "
                       "--partial", missing, N, n, N);
    }
    free(seen);
    return rc;
}

int tf_merge_shards(const char *out, const char *const *paths, int n, int partial, long *lines, tf_error *err) {
    if (lines) *lines = 0;
    if (n <= 0) return tf_errorf(err, TF_EBADARG, "merge-shards: no shards given");
    struct stat so, ss;
    int out_exists = stat(out, &so) == 0;
    for (int i = 0; i < n; i++) {
        if (stat(paths[i], &ss) != 0)
            return tf_errorf(err, TF_EIO, "%s: cannot open: %s", paths[i], strerror(errno));
        if (out_exists && ss.st_dev == so.st_dev && ss.st_ino == so.st_ino)
            return tf_errorf(err, TF_EBADARG, "--out %s is also one of the shards", out);
    }
    if (!partial && check_progress(paths, n, err)) return err->code;
    shard *s = calloc((size_t)n, sizeof *s);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    FILE *o = NULL;
    int rc = TF_OK;
    if (!s) return tf_errorf(err, TF_ENOMEM, "out of memory");
    for (int i = 0; i < n && !rc; i++) {
        s[i].path = paths[i];
        if (!(s[i].f = fopen(paths[i], "r")))
            rc = tf_errorf(err, TF_EIO, "%s: cannot open: %s", paths[i], strerror(errno));
        else
            rc = next_line(&s[i], err);
    }
    if (!rc && !(o = fopen(tmp, "w"))) rc = tf_errorf(err, TF_EIO, "%s: cannot open for writing: %s", tmp, strerror(errno));
    while (!rc) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            if (!s[i].line) continue;
            if (best >= 0 && s[i].index == s[best].index)
                rc = tf_errorf(err, TF_EBADFILE, "document %ld is in two shards: %s:%ld and %s:%ld (shards of "
                               "different runs, or one given twice?)", s[i].index, s[best].path, s[best].lineno,
                               s[i].path, s[i].lineno);
            if (best < 0 || s[i].index < s[best].index) best = i;
        }
        if (rc || best < 0) break;
        // every line of this document, in the shard's order
        long index = s[best].index;
        while (!rc && s[best].line && s[best].index == index) {
            if (fwrite(s[best].line, 1, (size_t)s[best].len, o) != (size_t)s[best].len)
                rc = tf_errorf(err, TF_EIO, "%s: write failed: %s", out, strerror(errno));
            else if (lines)
                ++*lines;
            if (!rc) rc = next_line(&s[best], err);
        }
    }
    for (int i = 0; i < n; i++) {
        if (s[i].f) fclose(s[i].f);
        free(s[i].line);
    }
    free(s);
    if (o) {
        int crc = tf_fclose_checked(o, out, rc ? NULL : err);
        if (!rc) rc = crc;
        if (!rc && rename(tmp, out) != 0) rc = tf_errorf(err, TF_EIO, "%s: cannot rename into place: %s", out, strerror(errno));
        if (rc) unlink(tmp);
    }
    return rc;
}
