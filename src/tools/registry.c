// registry.c — tools by name, the common limits every call goes through (input checks, time limit,
// result normalisation and cap), tool sets, string lists and UTF-8 helpers.
#include <assert.h>
#include "tools_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

// ---- string lists ------------------------------------------------------------------------------

int tf_strlist_push(tf_strlist *l, const char *s) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        char **items = realloc(l->items, (size_t)cap * sizeof *items);
        if (!items) return TF_ENOMEM;
        l->items = items;
        l->cap = cap;
    }
    char *copy = strdup(s ? s : "");
    if (!copy) return TF_ENOMEM;
    l->items[l->n++] = copy;
    return TF_OK;
}

int tf_strlist_find(const tf_strlist *l, const char *s) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->items[i], s)) return i;
    return -1;
}

void tf_strlist_free(tf_strlist *l) {
    for (int i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

// ---- results -----------------------------------------------------------------------------------

// Makes s one line of valid UTF-8 in place: control characters become spaces, runs of spaces
// collapse to one, the ends are trimmed, invalid bytes are dropped, and '[' ']' become '(' ')'
// (so a result never ends the call it sits in). Then cuts it to at most max bytes at a character
// boundary. Returns the new length.
static size_t normalise_result(char *s, size_t max) {
    unsigned char *u = (unsigned char *)s;
    size_t n = strlen(s), w = 0;
    int space = 1;  // drops leading spaces
    for (size_t i = 0; i < n;) {
        size_t k = tf_utf8_seq((const char *)u + i, n - i);
        if (!k) { i++; continue; }
        if (k == 1) {
            unsigned char c = u[i];
            if (c < 0x20 || c == 0x7F || c == ' ') {
                if (!space) u[w++] = ' ';
                space = 1;
                i++;
                continue;
            }
            u[w++] = c == '[' ? '(' : c == ']' ? ')' : c;
            space = 0;
            i++;
            continue;
        }
        memmove(u + w, u + i, k);
        w += k, i += k;
        space = 0;
    }
    while (w > 0 && u[w - 1] == ' ') w--;
    if (w > max) {
        w = tf_utf8_cut(s, max);
        while (w > 0 && u[w - 1] == ' ') w--;
    }
    u[w] = '\0';
    return w;
}

int tf_tool_execute(tf_tool *t, const char *input, const tf_tool_context *ctx, char *out, size_t cap,
                    tf_error *err) {
    assert(err != NULL);
    if (!t || !t->execute || !out || cap == 0)
        return tf_errorf(err, TF_EBADARG, "tf_tool_execute: no tool or no result buffer");
    out[0] = '\0';
    if (!input) input = "";
    size_t in_len = strnlen(input, TF_TOOL_MAX_INPUT_BYTES + 1);
    if (in_len > TF_TOOL_MAX_INPUT_BYTES)
        return tf_errorf(err, TF_ETOOL, "%s: input longer than %d bytes", t->name,
                         TF_TOOL_MAX_INPUT_BYTES);
    if (!tf_utf8_valid(input, in_len))
        return tf_errorf(err, TF_ETOOL, "%s: input is not valid UTF-8", t->name);

    tf_error_clear(err);
    double t0 = tf_time_s();
    int rc = t->execute(t, input, ctx, out, cap, err);
    double ms = (tf_time_s() - t0) * 1000.0;
    out[cap - 1] = '\0';
    if (rc != TF_OK) {
        out[0] = '\0';
        if (err && err->code == TF_OK) tf_errorf(err, rc, "%s: no result", t->name);
        return rc;
    }
    if (t->timeout_ms > 0 && ms > t->timeout_ms) {
        out[0] = '\0';
        return tf_errorf(err, TF_ETOOL, "%s: took %.0f ms, over its time limit of %d ms", t->name, ms,
                         t->timeout_ms);
    }
    size_t max = cap - 1;
    if (t->max_result_bytes > 0 && (size_t)t->max_result_bytes < max) max = (size_t)t->max_result_bytes;
    if (normalise_result(out, max) == 0)
        return tf_errorf(err, TF_ETOOL, "%s: empty result", t->name);
    return TF_OK;
}

// ---- creation ----------------------------------------------------------------------------------

typedef struct {
    const char *name;
    tf_tool *(*create)(const tf_tool_options *opt, tf_error *err);
} builtin;

static const builtin BUILTINS[] = {
    {"calendar", tool_calendar_new},     {"calculator", tool_calculator_new},
    {"wikisearch", tool_wikisearch_new}, {"qa", tool_qa_new},
    {"mt", tool_mt_new},
};
static const int NUM_BUILTINS = sizeof BUILTINS / sizeof BUILTINS[0];

tf_tool *tf_tool_create(const char *name, const tf_tool_options *opt, tf_error *err) {
    static const tf_tool_options none = {0};
    if (!opt) opt = &none;
    if (opt->timeout_ms < 0 || opt->max_result_bytes < 0) {
        tf_errorf(err, TF_EBADARG, "tool options: timeout and result cap must not be negative");
        return NULL;
    }
    for (int i = 0; name && i < NUM_BUILTINS; i++)
        if (!strcasecmp(name, BUILTINS[i].name)) return BUILTINS[i].create(opt, err);
    tf_errorf(err, TF_EBADARG,
              "unknown tool '%.64s' (built-in tools: calendar, calculator, wikisearch, qa, mt; "
              "others with --tool NAME=COMMAND)", name ? name : "");
    return NULL;
}

tf_tool *tool_alloc(const char *name, const char *prompt, const tf_tool_options *opt,
                    int default_timeout_ms, int default_max_result, tf_error *err) {
    tf_tool *t = calloc(1, sizeof *t);
    if (!t) {
        tf_errorf(err, TF_ENOMEM, "out of memory creating tool '%s'", name);
        return NULL;
    }
    t->name = name;
    t->prompt = prompt;
    t->timeout_ms = opt && opt->timeout_ms > 0 ? opt->timeout_ms : default_timeout_ms;
    t->max_result_bytes = opt && opt->max_result_bytes > 0 ? opt->max_result_bytes : default_max_result;
    return t;
}

void tf_tool_free(tf_tool *t) {
    if (!t) return;
    if (t->destroy) t->destroy(t);
    free(t);
}

// ---- tool sets ---------------------------------------------------------------------------------

int tf_toolset_add(tf_toolset *set, tf_tool *t, tf_error *err) {
    assert(err != NULL);
    if (!t) return tf_errorf(err, TF_EBADARG, "tf_toolset_add: no tool");
    if (tf_toolset_find(set, t->name)) {
        tf_errorf(err, TF_EBADARG, "two tools are named '%s'", t->name);
        tf_tool_free(t);
        return TF_EBADARG;
    }
    if (set->n >= TF_MAX_TOOLS) {
        tf_errorf(err, TF_EBADARG, "at most %d tools at once ('%s' is one more)", TF_MAX_TOOLS, t->name);
        tf_tool_free(t);
        return TF_EBADARG;
    }
    tf_tool **tools = realloc(set->tools, (size_t)(set->n + 1) * sizeof *tools);
    if (!tools) {
        tf_tool_free(t);
        return tf_errorf(err, TF_ENOMEM, "out of memory adding tool");
    }
    set->tools = tools;
    set->tools[set->n++] = t;
    return TF_OK;
}

int tf_toolset_parse(tf_toolset *set, const char *list, const tf_tool_options *opt, tf_error *err) {
    assert(err != NULL);
    if (!list) return tf_errorf(err, TF_EBADARG, "--tools: no list");
    const char *p = list;
    int n0 = set->n;  // tools already in the set (external ones): named in the list, not created again
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n > 0 && (*p == ' ' || *p == '\t')) p++, n--;
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        if (n == 0 || n >= 64)
            return tf_errorf(err, TF_EBADARG, "--tools: expected comma-separated tool names, got '%.80s'",
                             list);
        char name[64];
        memcpy(name, p, n);
        name[n] = '\0';
        int present = 0;
        for (int i = 0; i < n0; i++) present |= !strcasecmp(set->tools[i]->name, name);
        if (present) {
            if (!comma) break;
            p = comma + 1;
            continue;
        }
        tf_tool *t = tf_tool_create(name, opt, err);
        if (!t) return err ? err->code : TF_EBADARG;
        int rc = tf_toolset_add(set, t, err);
        if (rc) return rc;
        if (!comma) break;
        p = comma + 1;
    }
    return TF_OK;
}

tf_tool *tf_toolset_find(const tf_toolset *set, const char *name) {
    if (!set || !name) return NULL;
    for (int i = 0; i < set->n; i++)
        if (!strcasecmp(set->tools[i]->name, name)) return set->tools[i];
    return NULL;
}

void tf_toolset_free(tf_toolset *set) {
    if (!set) return;
    for (int i = 0; i < set->n; i++) tf_tool_free(set->tools[i]);
    free(set->tools);
    set->tools = NULL;
    set->n = 0;
}
