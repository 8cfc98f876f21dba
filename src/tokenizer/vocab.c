// vocab.c — the tokenizer's tables: token bytes by id, bytes -> id, merges by pair, and the
// small queries (vocab size, token id, eos).
#include <stdlib.h>

#include "tokenizer_internal.h"

tf_tokenizer *tok_new(void) {
    tf_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->eos_id = -1;
    for (int i = 0; i < 256; i++) t->byte_id[i] = -1;
    for (int i = 0; i < TOK_CACHE_SHARDS; i++) pthread_mutex_init(&t->cache_mu[i], NULL);
    return t;
}

void tf_tokenizer_free(tf_tokenizer *t) {
    if (!t) return;
    tok_cache_free(t);
    for (int i = 0; i < TOK_CACHE_SHARDS; i++) pthread_mutex_destroy(&t->cache_mu[i]);
    free(t->tok);
    free(t->pool);
    free(t->map);
    free(t->merges);
    free(t->mslots);
    free(t->added);
    free(t);
}

int tok_set_token(tf_tokenizer *t, int id, const char *bytes, size_t len, const char *where,
                  tf_error *err) {
    if (id < 0 || id >= (1 << 24))
        return tf_errorf(err, TF_EBADFILE, "%s: token id %d is out of range (0..%d)", where, id, (1 << 24) - 1);
    if (len == 0 || len > (1u << 20))
        return tf_errorf(err, TF_EBADFILE, "%s: token %d has %s text", where, id, len ? "too long a" : "an empty");
    if (id >= t->tok_cap) {
        int cap = t->tok_cap ? t->tok_cap : 1024;
        while (cap <= id) cap *= 2;
        tok_span *nt = realloc(t->tok, (size_t)cap * sizeof *nt);
        if (!nt) return tf_errorf(err, TF_ENOMEM, "out of memory for the vocabulary");
        for (int i = t->tok_cap; i < cap; i++) nt[i].len = -1, nt[i].off = 0;
        t->tok = nt;
        t->tok_cap = cap;
    }
    if (id >= t->vocab_size) t->vocab_size = id + 1;
    if (t->tok[id].len >= 0)
        return tf_errorf(err, TF_EBADFILE, "%s: token id %d is given twice ('%.*s' and '%.*s')", where, id,
                         t->tok[id].len, t->pool + t->tok[id].off, (int)len, bytes);
    if (t->pool_len + len > UINT32_MAX) return tf_errorf(err, TF_EBADFILE, "%s: vocabulary too large", where);
    if (t->pool_len + len > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap : 1 << 16;
        while (cap < t->pool_len + len) cap *= 2;
        char *np = realloc(t->pool, cap);
        if (!np) return tf_errorf(err, TF_ENOMEM, "out of memory for the vocabulary");
        t->pool = np;
        t->pool_cap = cap;
    }
    memcpy(t->pool + t->pool_len, bytes, len);
    t->tok[id].off = (uint32_t)t->pool_len;
    t->tok[id].len = (int32_t)len;
    t->pool_len += len;
    return TF_OK;
}

int tok_add_added(tf_tokenizer *t, int id, int special, tf_error *err) {
    tok_added *na = realloc(t->added, (size_t)(t->n_added + 1) * sizeof *na);
    if (!na) return tf_errorf(err, TF_ENOMEM, "out of memory");
    t->added = na;
    t->added[t->n_added++] = (tok_added){id, special};
    return TF_OK;
}

static int is_added(const tf_tokenizer *t, int id) {
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].id == id) return 1;
    return 0;
}

static int map_find(const tf_tokenizer *t, const char *s, size_t len) {
    if (!t->map) return -1;
    uint32_t mask = (uint32_t)t->map_cap - 1;
    for (uint32_t i = (uint32_t)tok_hash(s, len) & mask;; i = (i + 1) & mask) {
        int id = t->map[i];
        if (id < 0) return -1;
        if ((size_t)t->tok[id].len == len && !memcmp(t->pool + t->tok[id].off, s, len)) return id;
    }
}

int tok_build_map(tf_tokenizer *t, const char *where, tf_error *err) {
    int cap = 16;
    while (cap < 2 * t->vocab_size) cap *= 2;
    free(t->map);
    t->map = malloc((size_t)cap * sizeof *t->map);
    if (!t->map) return tf_errorf(err, TF_ENOMEM, "out of memory for the vocabulary map");
    t->map_cap = cap;
    for (int i = 0; i < cap; i++) t->map[i] = -1;
    // model tokens first, then added tokens (which may repeat a model token's bytes)
    for (int pass = 0; pass < 2; pass++) {
        for (int id = 0; id < t->vocab_size; id++) {
            if (t->tok[id].len < 0 || is_added(t, id) != pass) continue;
            const char *s = t->pool + t->tok[id].off;
            size_t len = (size_t)t->tok[id].len;
            int other = map_find(t, s, len);
            if (other >= 0) {
                if (pass) continue;
                return tf_errorf(err, TF_EBADFILE, "%s: tokens %d and %d have the same text '%.*s'", where,
                                 other, id, (int)len, s);
            }
            uint32_t mask = (uint32_t)cap - 1, i = (uint32_t)tok_hash(s, len) & mask;
            while (t->map[i] >= 0) i = (i + 1) & mask;
            t->map[i] = id;
        }
    }
    return TF_OK;
}

int tok_add_merge_ids(tf_tokenizer *t, int left, int right, int result, tf_error *err) {
    if (t->n_merges == t->merges_cap) {
        int cap = t->merges_cap ? t->merges_cap * 2 : 1024;
        int (*nm)[3] = realloc(t->merges, (size_t)cap * sizeof *nm);
        if (!nm) return tf_errorf(err, TF_ENOMEM, "out of memory for the merges");
        t->merges = nm;
        t->merges_cap = cap;
    }
    t->merges[t->n_merges][0] = left;
    t->merges[t->n_merges][1] = right;
    t->merges[t->n_merges][2] = result;
    t->n_merges++;
    return TF_OK;
}

int tok_finish(tf_tokenizer *t, tf_error *err) {
    int cap = 16;
    while (cap < 2 * t->n_merges + 2) cap *= 2;
    free(t->mslots);
    t->mslots = malloc((size_t)cap * sizeof *t->mslots);
    if (!t->mslots) return tf_errorf(err, TF_ENOMEM, "out of memory for the merges");
    t->mslot_cap = cap;
    for (int i = 0; i < cap; i++) t->mslots[i].key = UINT64_MAX;
    for (int r = 0; r < t->n_merges; r++) {
        uint64_t key = tok_pair_key(t->merges[r][0], t->merges[r][1]);
        uint32_t mask = (uint32_t)cap - 1, i = (uint32_t)tok_mix64(key) & mask;
        while (t->mslots[i].key != UINT64_MAX && t->mslots[i].key != key) i = (i + 1) & mask;
        if (t->mslots[i].key == key) continue;  // a repeated merge keeps its first (lowest) rank
        t->mslots[i] = (tok_merge_slot){key, r, t->merges[r][2]};
    }
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        t->byte_id[b] = map_find(t, &c, 1);
    }
    t->eos_id = map_find(t, "<|endoftext|>", 13);
    return TF_OK;
}

int tf_tokenizer_vocab_size(const tf_tokenizer *t) { return t ? t->vocab_size : 0; }
int tf_tokenizer_splits_digits(const tf_tokenizer *t) { return t ? t->split_digits : 0; }

int tf_tokenizer_token_id_n(const tf_tokenizer *t, const char *s, size_t len) {
    return t && s && len ? map_find(t, s, len) : -1;
}

int tf_tokenizer_token_id(const tf_tokenizer *t, const char *s) {
    return s ? tf_tokenizer_token_id_n(t, s, strlen(s)) : -1;
}

const char *tf_tokenizer_token_bytes(const tf_tokenizer *t, int id, size_t *len) {
    if (!t || id < 0 || id >= t->vocab_size || t->tok[id].len < 0) return NULL;
    if (len) *len = (size_t)t->tok[id].len;
    return t->pool + t->tok[id].off;
}

int tf_tokenizer_eos_id(const tf_tokenizer *t) { return t ? t->eos_id : -1; }
