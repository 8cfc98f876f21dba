// result_cache.c — direct-mapped memo of tool results (see result_cache.h).
#include "result_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *input;   // NULL: empty slot
    char *text;
    size_t budget;
    int code;
} entry;

struct result_cache {
    entry *e;
    size_t mask;
    pthread_mutex_t mu;
};

// FNV-1a over the input and the budget.
static uint64_t hash(const char *s, size_t budget) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (h ^ budget) * 1099511628211ull;
}

result_cache *result_cache_new(int slots) {
    size_t n = 1;
    while (n < (size_t)(slots > 0 ? slots : 1)) n <<= 1;
    result_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->e = calloc(n, sizeof *c->e);
    if (!c->e) {
        free(c);
        return NULL;
    }
    c->mask = n - 1;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void result_cache_free(result_cache *c) {
    if (!c) return;
    for (size_t i = 0; i <= c->mask; i++) {
        free(c->e[i].input);
        free(c->e[i].text);
    }
    free(c->e);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int result_cache_get(result_cache *c, const char *input, size_t budget, int *code, char *out, size_t cap) {
    if (!c || !input || cap == 0) return 0;
    int found = 0;
    pthread_mutex_lock(&c->mu);
    entry *e = &c->e[hash(input, budget) & c->mask];
    if (e->input && e->budget == budget && !strcmp(e->input, input)) {
        size_t n = strlen(e->text);
        if (n >= cap) n = cap - 1;
        memcpy(out, e->text, n);
        out[n] = '\0';
        *code = e->code;
        found = 1;
    }
    pthread_mutex_unlock(&c->mu);
    return found;
}

void result_cache_put(result_cache *c, const char *input, size_t budget, int code, const char *text) {
    if (!c || !input || !text) return;
    char *in = strdup(input), *tx = strdup(text);
    if (!in || !tx) {
        free(in);
        free(tx);
        return;
    }
    pthread_mutex_lock(&c->mu);
    entry *e = &c->e[hash(input, budget) & c->mask];
    free(e->input);
    free(e->text);
    *e = (entry){in, tx, budget, code};
    pthread_mutex_unlock(&c->mu);
}

int result_cache_answer(result_cache *c, const char *input, size_t budget, char *out, size_t cap, tf_error *err,
                        int *rc) {
    int code;
    if (!result_cache_get(c, input, budget, &code, out, cap)) return 0;
    if (code != TF_OK) {
        tf_errorf(err, code, "%s", out);
        out[0] = '\0';
    }
    *rc = code;
    return 1;
}

int result_cache_begin(result_cache *c, const tf_tool *t, const char **input, size_t default_bytes, char *out,
                       size_t cap, size_t *budget, tf_error *err, int *rc) {
    if (!out || cap == 0) {
        *rc = tf_errorf(err, TF_EBADARG, "%s: no room for the result", t->name);
        return 1;
    }
    out[0] = '\0';
    if (!*input) *input = "";
    *budget = t->max_result_bytes > 0 ? (size_t)t->max_result_bytes : default_bytes;
    if (*budget > cap - 1) *budget = cap - 1;
    return result_cache_answer(c, *input, *budget, out, cap, err, rc);
}
