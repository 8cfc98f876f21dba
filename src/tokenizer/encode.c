// encode.c — text to ids (pre-tokenize, BPE by merge rank, per-word cache) and ids to bytes.
#include <stdlib.h>

#include "tokenizer_internal.h"

// ---- per-word cache --------------------------------------------------------------------------
// Sharded by hash, one mutex per shard, so encoders in several threads rarely meet. A full shard
// is emptied and refilled (English text repeats its common words, so the hit rate stays high).
enum { CACHE_SLOTS = 1 << 14, CACHE_ENTS = 1 << 13, CACHE_KEYBYTES = 1 << 17, CACHE_IDS = 1 << 15,
       CACHE_MAX_WORD = 64 };

typedef struct { uint64_t h; uint32_t koff, ioff; uint16_t klen, nids; } cache_ent;
struct tok_cache_shard {
    uint32_t slots[CACHE_SLOTS];    // entry index + 1; 0 empty
    cache_ent ents[CACHE_ENTS];
    int nents;
    uint32_t keys_used, ids_used;
    char keys[CACHE_KEYBYTES];
    int ids[CACHE_IDS];
};

void tok_cache_free(tf_tokenizer *t) {
    for (int i = 0; i < TOK_CACHE_SHARDS; i++) {
        free(t->cache[i]);
        t->cache[i] = NULL;
    }
}

// Appends the cached ids of word to out; returns 1 on a hit.
typedef struct { int *v; int n, cap; } ivec;

static int ivec_reserve(ivec *o, int extra) {
    if (o->n + extra <= o->cap) return 0;
    if (extra > INT32_MAX / 4 || o->n > INT32_MAX / 4 - extra) return -1;  // over ~500M tokens
    int cap = o->cap ? o->cap : 256;
    while (cap < o->n + extra) cap *= 2;
    int *nv = realloc(o->v, (size_t)cap * sizeof *nv);
    if (!nv) return -1;
    o->v = nv;
    o->cap = cap;
    return 0;
}

static int cache_get(tf_tokenizer *t, uint64_t h, const char *w, size_t len, ivec *out, int *oom) {
    int s = (int)(h >> 60);
    pthread_mutex_lock(&t->cache_mu[s]);
    tok_cache_shard *c = t->cache[s];
    int hit = 0;
    if (c) {
        for (uint32_t i = (uint32_t)h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
            uint32_t e = c->slots[i];
            if (!e) break;
            cache_ent *ce = &c->ents[e - 1];
            if (ce->h == h && ce->klen == len && !memcmp(c->keys + ce->koff, w, len)) {
                if (ivec_reserve(out, ce->nids)) { *oom = 1; break; }
                memcpy(out->v + out->n, c->ids + ce->ioff, ce->nids * sizeof(int));
                out->n += ce->nids;
                hit = 1;
                break;
            }
        }
    }
    pthread_mutex_unlock(&t->cache_mu[s]);
    return hit;
}

static void cache_put(tf_tokenizer *t, uint64_t h, const char *w, size_t len, const int *ids, int n) {
    int s = (int)(h >> 60);
    pthread_mutex_lock(&t->cache_mu[s]);
    tok_cache_shard *c = t->cache[s];
    if (!c) c = t->cache[s] = calloc(1, sizeof *c);
    if (c) {
        if (c->nents == CACHE_ENTS || c->keys_used + len > CACHE_KEYBYTES || c->ids_used + n > CACHE_IDS) {
            memset(c->slots, 0, sizeof c->slots);
            c->nents = 0;
            c->keys_used = c->ids_used = 0;
        }
        uint32_t i = (uint32_t)h & (CACHE_SLOTS - 1);
        int dup = 0;
        for (; c->slots[i]; i = (i + 1) & (CACHE_SLOTS - 1)) {
            cache_ent *ce = &c->ents[c->slots[i] - 1];
            if (ce->h == h && ce->klen == len && !memcmp(c->keys + ce->koff, w, len)) { dup = 1; break; }
        }
        if (!dup) {
            cache_ent *ce = &c->ents[c->nents];
            *ce = (cache_ent){h, c->keys_used, c->ids_used, (uint16_t)len, (uint16_t)n};
            memcpy(c->keys + c->keys_used, w, len);
            memcpy(c->ids + c->ids_used, ids, (size_t)n * sizeof(int));
            c->keys_used += (uint32_t)len;
            c->ids_used += (uint32_t)n;
            c->slots[i] = (uint32_t)++c->nents;
        }
    }
    pthread_mutex_unlock(&t->cache_mu[s]);
}

// ---- BPE of one piece ------------------------------------------------------------------------
// Symbols in a linked list; a min-heap of candidate pairs ordered by (merge rank, position). The
// lowest-ranked pair is merged first and equal ranks go left to right, which is GPT-2's rule
// (merge every occurrence of the best pair, left to right, then look again) for a merge list in
// which every token is made before it is used.
typedef struct { int32_t rank, pos, a, b; } hent;
typedef struct { int *sid, *prv, *nxt; hent *heap; size_t cap; } scratch;

static int scratch_reserve(scratch *s, size_t n) {
    if (n <= s->cap) return 0;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < n) cap *= 2;
    int *a = realloc(s->sid, cap * sizeof *a);
    if (a) s->sid = a;
    int *b = realloc(s->prv, cap * sizeof *b);
    if (b) s->prv = b;
    int *c = realloc(s->nxt, cap * sizeof *c);
    if (c) s->nxt = c;
    hent *h = realloc(s->heap, 3 * cap * sizeof *h);
    if (h) s->heap = h;
    if (!a || !b || !c || !h) return -1;
    s->cap = cap;
    return 0;
}

static inline int hless(const hent *x, const hent *y) {
    return x->rank < y->rank || (x->rank == y->rank && x->pos < y->pos);
}

static void hpush(hent *h, int *n, hent e) {
    int i = (*n)++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!hless(&e, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static hent hpop(hent *h, int *n) {
    hent top = h[0], last = h[--(*n)];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && hless(&h[c + 1], &h[c])) c++;
        if (!hless(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

static inline void push_pair(const tf_tokenizer *t, const scratch *s, int *hn, int i, int j) {
    int result, r = tok_merge_rank(t, s->sid[i], s->sid[j], &result);
    if (r >= 0) hpush(s->heap, hn, (hent){r, i, s->sid[i], s->sid[j]});
}

static int bpe_piece(tf_tokenizer *t, scratch *s, const unsigned char *w, size_t len, ivec *out,
                     tf_error *err) {
    if (len == 1) {
        int id = t->byte_id[w[0]];
        if (id < 0) return tf_errorf(err, TF_EBADARG, "the vocabulary has no token for byte 0x%02x", w[0]);
        if (ivec_reserve(out, 1)) return tf_errorf(err, TF_ENOMEM, "out of memory while encoding");
        out->v[out->n++] = id;
        return TF_OK;
    }
    int cacheable = len <= CACHE_MAX_WORD;
    uint64_t h = 0;
    if (cacheable) {
        int oom = 0;
        h = tok_hash(w, len);
        if (cache_get(t, h, (const char *)w, len, out, &oom)) return TF_OK;
        if (oom) return tf_errorf(err, TF_ENOMEM, "out of memory while encoding");
    }
    if (len > (size_t)INT32_MAX / 4 || scratch_reserve(s, len))
        return tf_errorf(err, TF_ENOMEM, "out of memory while encoding");
    int n = (int)len, hn = 0;
    for (int i = 0; i < n; i++) {
        s->sid[i] = t->byte_id[w[i]];
        if (s->sid[i] < 0) return tf_errorf(err, TF_EBADARG, "the vocabulary has no token for byte 0x%02x", w[i]);
        s->prv[i] = i - 1;
        s->nxt[i] = i + 1;
    }
    for (int i = 0; i + 1 < n; i++) push_pair(t, s, &hn, i, i + 1);
    while (hn > 0) {
        hent e = hpop(s->heap, &hn);
        int i = e.pos, j = s->nxt[i];
        if (s->sid[i] != e.a || j >= n || s->sid[j] != e.b) continue;  // stale entry
        int result = -1;
        tok_merge_rank(t, e.a, e.b, &result);
        s->sid[i] = result;
        s->sid[j] = -1;
        s->nxt[i] = s->nxt[j];
        if (s->nxt[j] < n) s->prv[s->nxt[j]] = i;
        if (s->prv[i] >= 0) push_pair(t, s, &hn, s->prv[i], i);
        if (s->nxt[i] < n) push_pair(t, s, &hn, i, s->nxt[i]);
    }
    int start = out->n, count = 0;
    for (int i = 0; i < n; i = s->nxt[i]) count++;
    if (ivec_reserve(out, count)) return tf_errorf(err, TF_ENOMEM, "out of memory while encoding");
    for (int i = 0; i < n; i = s->nxt[i]) out->v[out->n++] = s->sid[i];
    if (cacheable && count < 65536) cache_put(t, h, (const char *)w, len, out->v + start, count);
    return TF_OK;
}

static int encode_ordinary(tf_tokenizer *t, scratch *s, const unsigned char *text, size_t len, ivec *out,
                           tf_error *err) {
    for (size_t pos = 0; pos < len;) {
        size_t k = tok_next_piece(text, len, pos, t->split_digits);
        int rc = bpe_piece(t, s, text + pos, k, out, err);
        if (rc) return rc;
        pos += k;
    }
    return TF_OK;
}

int tf_tokenizer_encode(const tf_tokenizer *tc, const char *text, size_t len, int allow_special, int **ids,
                        int *n, tf_error *err) {
    *ids = NULL;
    *n = 0;
    if (!tc) return tf_errorf(err, TF_EBADARG, "tf_tokenizer_encode: no tokenizer");
    if (!text && len) return tf_errorf(err, TF_EBADARG, "tf_tokenizer_encode: no text");
    // The cache is the only mutable part; it is behind mutexes.
    tf_tokenizer *t = (tf_tokenizer *)tc;
    const unsigned char *u = (const unsigned char *)text;
    ivec out = {0};
    scratch s = {0};
    int rc = TF_OK;
    // Added tokens (e.g. <|endoftext|>): split the text at their occurrences, leftmost first,
    // then longest. next[k] is token k's next occurrence at or after pos (SIZE_MAX: none left).
    int na = allow_special ? t->n_added : 0;
    size_t *next = NULL;
    if (na) {
        next = malloc((size_t)na * sizeof *next);
        if (!next) return tf_errorf(err, TF_ENOMEM, "out of memory while encoding");
    }
    for (int k = 0; k < na; k++) next[k] = 0;  // "search from here"
    size_t pos = 0;
    int first = 1;
    while (pos < len) {
        size_t best = len, blen = 0;
        int bid = -1;
        for (int k = 0; k < na; k++) {
            int id = t->added[k].id;
            size_t tl = (size_t)t->tok[id].len;
            if (next[k] != SIZE_MAX && (first || next[k] < pos)) {
                const char *hit = memmem(text + pos, len - pos, t->pool + t->tok[id].off, tl);
                next[k] = hit ? (size_t)(hit - text) : SIZE_MAX;
            }
            if (next[k] != SIZE_MAX && (next[k] < best || (next[k] == best && tl > blen))) {
                best = next[k];
                blen = tl;
                bid = id;
            }
        }
        first = 0;
        rc = encode_ordinary(t, &s, u + pos, best - pos, &out, err);
        if (rc || bid < 0) break;
        if (ivec_reserve(&out, 1)) { rc = tf_errorf(err, TF_ENOMEM, "out of memory while encoding"); break; }
        out.v[out.n++] = bid;
        pos = best + blen;
    }
    free(next);
    free(s.sid);
    free(s.prv);
    free(s.nxt);
    free(s.heap);
    if (rc) {
        free(out.v);
        return rc;
    }
    *ids = out.v;
    *n = out.n;
    return TF_OK;
}

char *tf_tokenizer_decode(const tf_tokenizer *t, const int *ids, int n, size_t *len, tf_error *err) {
    if (!t) { tf_errorf(err, TF_EBADARG, "tf_tokenizer_decode: no tokenizer"); return NULL; }
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        int id = ids[i];
        if (id < 0 || id >= t->vocab_size || t->tok[id].len < 0) {
            tf_errorf(err, TF_EBADARG, "token id %d at position %d is not in the vocabulary (size %d)", id, i,
                      t->vocab_size);
            return NULL;
        }
        total += (size_t)t->tok[id].len;
    }
    char *out = malloc(total + 1);
    if (!out) { tf_errorf(err, TF_ENOMEM, "out of memory while decoding"); return NULL; }
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        memcpy(out + o, t->pool + t->tok[ids[i]].off, (size_t)t->tok[ids[i]].len);
        o += (size_t)t->tok[ids[i]].len;
    }
    out[o] = '\0';
    if (len) *len = o;
    return out;
}
