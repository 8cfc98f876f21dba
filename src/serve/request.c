// request.c — the body of POST /v1/completions: OpenAI's completions parameters, parsed with cJSON
// and checked; every error names the parameter and what was expected.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tf_serve.h"

void tf_serve_request_free(tf_serve_request *r) {
    free(r->prompt);
    for (int i = 0; i < r->n_stop; i++) free(r->stop[i]);
    for (int i = 0; i < r->n_tools; i++) free(r->tools[i]);
    free(r->date);
    memset(r, 0, sizeof *r);
}

static void defaults(tf_serve_request *r) {
    memset(r, 0, sizeof *r);
    r->max_tokens = 16;
    r->top_p = 1.0;
    r->seed = 1;
    r->api_top_k = -1;
    r->max_calls = -1;
}

// A string with no NUL inside (cJSON strings are NUL-terminated, so a "\u0000" would cut them).
static int text_of(const cJSON *v, const char *name, char **out, tf_error *err) {
    if (!cJSON_IsString(v) || !v->valuestring) return tf_errorf(err, TF_EBADARG, "%s must be a string", name);
    if (!(*out = strdup(v->valuestring))) return tf_errorf(err, TF_ENOMEM, "out of memory");
    return TF_OK;
}

static int int_of(const cJSON *v, const char *name, long lo, long hi, long *out, tf_error *err) {
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= (double)lo && d <= (double)hi) || d != floor(d))
        return tf_errorf(err, TF_EBADARG, "%s must be an integer in %ld..%ld", name, lo, hi);
    *out = (long)d;
    return TF_OK;
}

static int bool_of(const cJSON *v, const char *name, int *out, tf_error *err) {
    if (!v || cJSON_IsNull(v)) return TF_OK;
    if (!cJSON_IsBool(v)) return tf_errorf(err, TF_EBADARG, "%s must be true or false", name);
    *out = cJSON_IsTrue(v);
    return TF_OK;
}

// "stop" and "tools": one string or an array of at most cap strings.
static int strings_of(const cJSON *v, const char *name, int cap, int one_ok, char **out, int *n, tf_error *err) {
    if (cJSON_IsNull(v)) return TF_OK;
    if (one_ok && cJSON_IsString(v)) return text_of(v, name, &out[(*n)++], err);
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > cap)
        return tf_errorf(err, TF_EBADARG, "%s must be %san array of at most %d strings", name, one_ok ? "a string or " : "",
                         cap);
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        if (text_of(e, name, &out[*n], err)) return err->code;
        (*n)++;
    }
    return TF_OK;
}

static int parse_fields(const cJSON *root, tf_serve_request *r, tf_error *err) {
    long v = 0;
    const cJSON *f;
    if (!cJSON_IsObject(root)) return tf_errorf(err, TF_EBADARG, "the body must be a JSON object");
    f = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    if (!f) return tf_errorf(err, TF_EBADARG, "prompt is required");
    if (cJSON_IsArray(f)) {
        if (cJSON_GetArraySize(f) != 1) return tf_errorf(err, TF_EBADARG, "prompt must be a string or an array of one string");
        f = cJSON_GetArrayItem(f, 0);
    }
    if (text_of(f, "prompt", &r->prompt, err)) return err->code;
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "max_tokens")) && !cJSON_IsNull(f)) {
        if (int_of(f, "max_tokens", 0, 1 << 20, &v, err)) return err->code;
        r->max_tokens = (int)v;
    }
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "temperature")) && !cJSON_IsNull(f)) {
        if (!cJSON_IsNumber(f) || !(f->valuedouble >= 0 && f->valuedouble <= 100))
            return tf_errorf(err, TF_EBADARG, "temperature must be a number in 0..100");
        r->temperature = f->valuedouble;
    }
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "top_p")) && !cJSON_IsNull(f)) {
        if (!cJSON_IsNumber(f) || !(f->valuedouble > 0 && f->valuedouble <= 1))
            return tf_errorf(err, TF_EBADARG, "top_p must be a number with 0 < top_p <= 1");
        r->top_p = f->valuedouble;
    }
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "top_k")) && !cJSON_IsNull(f)) {
        if (int_of(f, "top_k", 0, 1 << 30, &v, err)) return err->code;
        r->top_k = (int)v;
    }
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "seed")) && !cJSON_IsNull(f)) {
        // a double holds integers exactly up to 2^53
        if (int_of(f, "seed", 0, 1L << 53, &v, err)) return err->code;
        r->seed = (uint64_t)v;
    }
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "api_top_k")) && !cJSON_IsNull(f)) {
        if (int_of(f, "api_top_k", 0, 1 << 20, &v, err)) return err->code;
        r->api_top_k = (int)v;
    }
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "max_calls")) && !cJSON_IsNull(f)) {
        if (int_of(f, "max_calls", 0, 16, &v, err)) return err->code;
        r->max_calls = (int)v;
    }
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "n")) && !cJSON_IsNull(f)) {
        if (int_of(f, "n", 1, 1, &v, err)) return err->code;
    }
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "echo")) && cJSON_IsTrue(f))
        return tf_errorf(err, TF_EBADARG, "echo is not supported");
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "logprobs")) && !cJSON_IsNull(f))
        return tf_errorf(err, TF_EBADARG, "logprobs is not supported");
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "stop")) &&
        strings_of(f, "stop", TF_SERVE_MAX_STOP, 1, r->stop, &r->n_stop, err))
        return err->code;
    for (int i = 0; i < r->n_stop; i++)
        if (!r->stop[i][0]) return tf_errorf(err, TF_EBADARG, "stop strings must not be empty");
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "tools")) && !cJSON_IsNull(f)) {
        r->tools_given = 1;
        if (strings_of(f, "tools", TF_SERVE_MAX_TOOLS, 0, r->tools, &r->n_tools, err)) return err->code;
    }
    if (bool_of(cJSON_GetObjectItemCaseSensitive(root, "stream"), "stream", &r->stream, err) ||
        bool_of(cJSON_GetObjectItemCaseSensitive(root, "disable_tools"), "disable_tools", &r->disable_tools, err))
        return err->code;
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "stream_options")) && !cJSON_IsNull(f)) {
        if (!cJSON_IsObject(f)) return tf_errorf(err, TF_EBADARG, "stream_options must be an object");
        if (bool_of(cJSON_GetObjectItemCaseSensitive(f, "include_usage"), "stream_options.include_usage",
                    &r->include_usage, err))
            return err->code;
    }
    if ((f = cJSON_GetObjectItemCaseSensitive(root, "date")) && !cJSON_IsNull(f)) {
        if (text_of(f, "date", &r->date, err)) return err->code;
        int y, mo, d;
        char tail;
        if (strlen(r->date) != 10 || sscanf(r->date, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) != 3)
            return tf_errorf(err, TF_EBADARG, "date must be YYYY-MM-DD");
    }
    return TF_OK;
}

int tf_serve_request_parse(const char *body, size_t len, tf_serve_request *r, tf_error *err) {
    defaults(r);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        return tf_errorf(err, TF_EBADARG, "the body is not valid JSON (at byte %zu of %zu)", at, len);
    }
    // only whitespace may follow the value
    for (const char *p = end; p && p < body + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            cJSON_Delete(root);
            return tf_errorf(err, TF_EBADARG, "the body is not valid JSON (text after the value at byte %zu)",
                             (size_t)(p - body));
        }
    int rc = parse_fields(root, r, err);
    cJSON_Delete(root);
    if (rc) tf_serve_request_free(r), defaults(r);
    return rc;
}
