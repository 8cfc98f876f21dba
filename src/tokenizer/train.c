// train.c — learning a byte-level BPE vocabulary from text (Sennrich et al. 2016, as in GPT-2).
//
// The text is split by GPT-2's pre-tokenizer (or, asked, the digit-splitting one) and the distinct pieces ("words") are counted. Every
// word starts as its bytes; then, repeatedly, the adjacent pair of tokens with the highest count
// (summed over words, weighted by word count; ties to the smaller pair of ids) becomes a new token,
// and every occurrence of it in every word is merged, left to right. Pair counts are kept up to
// date incrementally (only the words holding the merged pair change), and the best pair comes from
// a max-heap with lazy deletion, so each merge costs time in proportion to the words it touches.
#include <stdlib.h>

#include "tokenizer_internal.h"

// The call markers of Toolformer's syntax (" [", "]", " ->") must each be one token: their merges
// are made first, before any learned merge. "]" is a single byte and always a token.
static const char *const FORCED[] = {" [", " -", " ->"};
enum { N_FORCED = 3, MIN_PAIR_COUNT = 2 };

typedef struct { uint32_t off, len; int64_t count; } word;
typedef struct { uint64_t key; int64_t count; int *w; int nw, cw; int dirty; } pinfo;
typedef struct { int64_t count; uint64_t key; } hitem;

typedef struct {
    // words
    char *bytes; size_t nbytes, cbytes;
    word *words; int nwords, cwords;
    int *wmap; int wmap_cap;                   // word bytes -> index (-1 empty)
    int *sym; int *nsym; uint32_t *symoff;     // each word's current tokens
    int *stamp;                                // last merge that touched a word
    // pairs
    pinfo *pairs; int npairs, cpairs;
    int *pmap; int pmap_cap;                   // pair key -> index in pairs (-1 empty)
    hitem *heap; int nheap, cheap;
    int *dirty; int ndirty, cdirty;            // pairs whose count grew in this merge
    int oom;
} trainer;

// Grows array p (capacity *cap, first allocation `first` elements) to hold need elements.
static void *grow(void *p, int *cap, int need, size_t elem, int first, int *oom) {
    if (need <= *cap) return p;
    int c = *cap ? *cap : first;
    while (c < need) c *= 2;
    void *np = realloc(p, (size_t)c * elem);
    if (!np) { *oom = 1; return p; }
    *cap = c;
    return np;
}

// ---- word counting ---------------------------------------------------------------------------
static int word_find_or_add(trainer *tr, const char *s, size_t len) {
    if (2 * (tr->nwords + 1) > tr->wmap_cap) {
        int cap = tr->wmap_cap ? tr->wmap_cap * 2 : 1 << 16;
        int *m = malloc((size_t)cap * sizeof *m);
        if (!m) { tr->oom = 1; return -1; }
        for (int i = 0; i < cap; i++) m[i] = -1;
        for (int w = 0; w < tr->nwords; w++) {
            uint32_t i = (uint32_t)tok_hash(tr->bytes + tr->words[w].off, tr->words[w].len) & (uint32_t)(cap - 1);
            while (m[i] >= 0) i = (i + 1) & (uint32_t)(cap - 1);
            m[i] = w;
        }
        free(tr->wmap);
        tr->wmap = m;
        tr->wmap_cap = cap;
    }
    uint32_t mask = (uint32_t)tr->wmap_cap - 1, i = (uint32_t)tok_hash(s, len) & mask;
    for (; tr->wmap[i] >= 0; i = (i + 1) & mask) {
        word *w = &tr->words[tr->wmap[i]];
        if (w->len == len && !memcmp(tr->bytes + w->off, s, len)) return tr->wmap[i];
    }
    tr->words = grow(tr->words, &tr->cwords, tr->nwords + 1, sizeof *tr->words, 1024, &tr->oom);
    if (tr->nbytes + len > tr->cbytes) {
        size_t c = tr->cbytes ? tr->cbytes : 1 << 20;
        while (c < tr->nbytes + len) c *= 2;
        char *nb = realloc(tr->bytes, c);
        if (!nb) tr->oom = 1;
        else tr->bytes = nb, tr->cbytes = c;
    }
    if (tr->oom || tr->nbytes + len > UINT32_MAX) { tr->oom = 1; return -1; }
    memcpy(tr->bytes + tr->nbytes, s, len);
    tr->words[tr->nwords] = (word){(uint32_t)tr->nbytes, (uint32_t)len, 0};
    tr->nbytes += len;
    tr->wmap[i] = tr->nwords;
    return tr->nwords++;
}

// Counts the pieces of s[n]; reports progress every MB (offset: where s lies in the whole text).
static void count_words(trainer *tr, const unsigned char *s, size_t n, size_t offset, size_t total,
                        int split_digits, tf_tokenizer_progress_fn progress, void *ctx) {
    size_t next_report = 1 << 20;
    for (size_t pos = 0; pos < n && !tr->oom;) {
        size_t k = tok_next_piece(s, n, pos, split_digits);
        int w = word_find_or_add(tr, (const char *)s + pos, k);
        if (w >= 0) tr->words[w].count++;
        pos += k;
        if (progress && pos >= next_report) {
            progress(ctx, "counting", (long)(offset + pos), (long)total);
            next_report = pos + (1 << 20);
        }
    }
}

// ---- pair table and heap ---------------------------------------------------------------------
static int pair_index(trainer *tr, uint64_t key, int create) {
    if (create && 2 * (tr->npairs + 1) > tr->pmap_cap) {
        int cap = tr->pmap_cap ? tr->pmap_cap * 2 : 1 << 16;
        int *m = malloc((size_t)cap * sizeof *m);
        if (!m) { tr->oom = 1; return -1; }
        for (int i = 0; i < cap; i++) m[i] = -1;
        for (int p = 0; p < tr->npairs; p++) {
            uint32_t i = (uint32_t)tok_mix64(tr->pairs[p].key) & (uint32_t)(cap - 1);
            while (m[i] >= 0) i = (i + 1) & (uint32_t)(cap - 1);
            m[i] = p;
        }
        free(tr->pmap);
        tr->pmap = m;
        tr->pmap_cap = cap;
    }
    if (!tr->pmap_cap) return -1;
    uint32_t mask = (uint32_t)tr->pmap_cap - 1, i = (uint32_t)tok_mix64(key) & mask;
    for (; tr->pmap[i] >= 0; i = (i + 1) & mask)
        if (tr->pairs[tr->pmap[i]].key == key) return tr->pmap[i];
    if (!create) return -1;
    tr->pairs = grow(tr->pairs, &tr->cpairs, tr->npairs + 1, sizeof *tr->pairs, 1024, &tr->oom);
    if (tr->oom) return -1;
    tr->pairs[tr->npairs] = (pinfo){key, 0, NULL, 0, 0, 0};
    tr->pmap[i] = tr->npairs;
    return tr->npairs++;
}

// Higher count first; equal counts: the smaller key (left id, then right id) first.
static inline int hbefore(const hitem *x, const hitem *y) {
    return x->count > y->count || (x->count == y->count && x->key < y->key);
}

static void heap_push(trainer *tr, int64_t count, uint64_t key) {
    tr->heap = grow(tr->heap, &tr->cheap, tr->nheap + 1, sizeof *tr->heap, 1024, &tr->oom);
    if (tr->oom) return;
    hitem e = {count, key};
    int i = tr->nheap++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!hbefore(&e, &tr->heap[p])) break;
        tr->heap[i] = tr->heap[p];
        i = p;
    }
    tr->heap[i] = e;
}

static hitem heap_pop(trainer *tr) {
    hitem top = tr->heap[0], last = tr->heap[--tr->nheap];
    int i = 0, n = tr->nheap;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && hbefore(&tr->heap[c + 1], &tr->heap[c])) c++;
        if (!hbefore(&tr->heap[c], &last)) break;
        tr->heap[i] = tr->heap[c];
        i = c;
    }
    if (n > 0) tr->heap[i] = last;
    return top;
}

// Adds delta to pair (a, b)'s count; on an increase, notes word w and queues the new count.
static void pair_add(trainer *tr, int a, int b, int64_t delta, int w) {
    int p = pair_index(tr, tok_pair_key(a, b), delta > 0);
    if (p < 0) return;
    pinfo *pi = &tr->pairs[p];
    pi->count += delta;
    if (delta > 0) {
        if (!pi->nw || pi->w[pi->nw - 1] != w) {
            pi->w = grow(pi->w, &pi->cw, pi->nw + 1, sizeof *pi->w, 4, &tr->oom);
            if (tr->oom) return;
            pi->w[pi->nw++] = w;
        }
        if (!pi->dirty) {  // queued once per merge, with its final count (see flush_dirty)
            tr->dirty = grow(tr->dirty, &tr->cdirty, tr->ndirty + 1, sizeof *tr->dirty, 1024, &tr->oom);
            if (tr->oom) return;
            tr->dirty[tr->ndirty++] = p;
            pi->dirty = 1;
        }
    }
}

// Merges every (a, b) in word w into t, updating the pair counts when track is set.
static void merge_word(trainer *tr, int w, int a, int b, int t, int track) {
    int *s = tr->sym + tr->symoff[w], n = tr->nsym[w], o = 0;
    int64_t c = tr->words[w].count;
    for (int i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            if (track) {
                pair_add(tr, a, b, -c, w);
                if (o > 0) { pair_add(tr, s[o - 1], a, -c, w); pair_add(tr, s[o - 1], t, c, w); }
                if (i + 2 < n) { pair_add(tr, b, s[i + 2], -c, w); pair_add(tr, t, s[i + 2], c, w); }
            }
            s[o++] = t;
            i += 2;
        } else {
            s[o++] = s[i++];
        }
    }
    tr->nsym[w] = o;
}

// Queues the pairs whose count grew during a merge (one heap entry each, at the new count).
static void flush_dirty(trainer *tr) {
    for (int i = 0; i < tr->ndirty; i++) {
        pinfo *pi = &tr->pairs[tr->dirty[i]];
        pi->dirty = 0;
        if (pi->count > 0) heap_push(tr, pi->count, pi->key);
    }
    tr->ndirty = 0;
}

static void trainer_free(trainer *tr) {
    free(tr->bytes);
    free(tr->words);
    free(tr->wmap);
    free(tr->sym);
    free(tr->nsym);
    free(tr->symoff);
    free(tr->stamp);
    for (int p = 0; p < tr->npairs; p++) free(tr->pairs[p].w);
    free(tr->pairs);
    free(tr->pmap);
    free(tr->heap);
    free(tr->dirty);
}

// ---- the tokenizer being built --------------------------------------------------------------
// Adds token left+right (or finds it when those bytes are already a token) and the merge.
static int add_merged(tf_tokenizer *t, int left, int right, int *id_out, tf_error *err) {
    size_t la = (size_t)t->tok[left].len, lb = (size_t)t->tok[right].len;
    char *buf = malloc(la + lb);
    if (!buf) return tf_errorf(err, TF_ENOMEM, "out of memory while training");
    memcpy(buf, t->pool + t->tok[left].off, la);
    memcpy(buf + la, t->pool + t->tok[right].off, lb);
    int id = tf_tokenizer_token_id_n(t, buf, la + lb), rc = TF_OK;
    if (id < 0) {
        id = t->vocab_size;
        rc = tok_set_token(t, id, buf, la + lb, "training", err);
        // the map must see the new token: add it (open addressing, grown when half full)
        if (!rc && 2 * (id + 1) > t->map_cap) rc = tok_build_map(t, "training", err);
        else if (!rc) {
            uint32_t mask = (uint32_t)t->map_cap - 1, i = (uint32_t)tok_hash(buf, la + lb) & mask;
            while (t->map[i] >= 0) i = (i + 1) & mask;
            t->map[i] = id;
        }
    }
    free(buf);
    if (!rc) rc = tok_add_merge_ids(t, left, right, id, err);
    *id_out = id;
    return rc;
}

int tf_tokenizer_train_progress(const char *text, size_t len, int vocab_size, const char *const *special,
                                int n_special, int split_digits, tf_tokenizer **out,
                                tf_tokenizer_progress_fn progress, void *ctx, tf_error *err) {
    *out = NULL;
    if (!text && len) return tf_errorf(err, TF_EBADARG, "tokenizer training: no text");
    if (n_special < 0 || (n_special && !special)) return tf_errorf(err, TF_EBADARG, "tokenizer training: bad special tokens");
    int min_size = 256 + N_FORCED + n_special;
    if (vocab_size < min_size || vocab_size > (1 << 20))
        return tf_errorf(err, TF_EBADARG,
                         "tokenizer training: vocabulary size %d must be between %d (256 bytes, %d call-marker "
                         "merges, %d special) and %d", vocab_size, min_size, N_FORCED, n_special, 1 << 20);
    for (int i = 0; i < n_special; i++) {
        if (!special[i] || !special[i][0]) return tf_errorf(err, TF_EBADARG, "tokenizer training: empty special token");
        for (int j = 0; j < i; j++)
            if (!strcmp(special[i], special[j]))
                return tf_errorf(err, TF_EBADARG, "tokenizer training: special token '%s' given twice", special[i]);
    }
    trainer tr = {0};
    int rc = TF_OK;
    // 1. Count the pre-tokenizer's pieces, skipping the special tokens' text.
    // next[i]: special i's next occurrence at or after pos (len: none), searched again once passed
    size_t pos = 0, *next = calloc((size_t)n_special + 1, sizeof *next);
    if (!next) return tf_errorf(err, TF_ENOMEM, "out of memory while training");
    for (int i = 0; i < n_special; i++) next[i] = SIZE_MAX;
    while (pos < len && !tr.oom) {
        size_t end = len, skip = 0;
        for (int i = 0; i < n_special; i++) {
            size_t sl = strlen(special[i]);
            if (next[i] == SIZE_MAX || (next[i] < pos && next[i] != len)) {
                const char *hit = memmem(text + pos, len - pos, special[i], sl);
                next[i] = hit ? (size_t)(hit - text) : len;
            }
            if (next[i] < end || (next[i] == end && end < len && sl > skip)) end = next[i], skip = sl;
        }
        count_words(&tr, (const unsigned char *)text + pos, end - pos, pos, len, split_digits, progress, ctx);
        pos = end + skip;
    }
    free(next);
    if (progress) progress(ctx, "counting", (long)len, (long)len);
    tf_tokenizer *t = tok_new();
    if (!t || tr.oom) {
        trainer_free(&tr);
        tf_tokenizer_free(t);
        return tf_errorf(err, TF_ENOMEM, "out of memory while counting words");
    }
    t->split_digits = split_digits != 0;
    // 2. The 256 byte tokens (id = byte value), then the forced call-marker merges.
    for (int b = 0; b < 256 && !rc; b++) {
        char c = (char)b;
        rc = tok_set_token(t, b, &c, 1, "training", err);
    }
    if (!rc) rc = tok_build_map(t, "training", err);
    size_t total_sym = 0;
    for (int w = 0; w < tr.nwords; w++) total_sym += tr.words[w].len;
    tr.sym = malloc((total_sym + 1) * sizeof *tr.sym);
    tr.nsym = malloc(((size_t)tr.nwords + 1) * sizeof *tr.nsym);
    tr.symoff = malloc(((size_t)tr.nwords + 1) * sizeof *tr.symoff);
    tr.stamp = calloc((size_t)tr.nwords + 1, sizeof *tr.stamp);
    if (!rc && (!tr.sym || !tr.nsym || !tr.symoff || !tr.stamp || total_sym > UINT32_MAX))
        rc = tf_errorf(err, TF_ENOMEM, "out of memory while training");
    for (int w = 0, off = 0; w < tr.nwords && !rc; w++) {
        tr.symoff[w] = (uint32_t)off;
        tr.nsym[w] = (int)tr.words[w].len;
        for (uint32_t i = 0; i < tr.words[w].len; i++) tr.sym[off++] = (unsigned char)tr.bytes[tr.words[w].off + i];
    }
    for (int f = 0; f < N_FORCED && !rc; f++) {
        size_t fl = strlen(FORCED[f]);
        int left = tf_tokenizer_token_id_n(t, FORCED[f], fl - 1), right = (unsigned char)FORCED[f][fl - 1], id;
        rc = add_merged(t, left, right, &id, err);
        for (int w = 0; w < tr.nwords && !rc; w++) merge_word(&tr, w, left, right, id, 0);
    }
    // 3. Pair counts over all words.
    for (int w = 0; w < tr.nwords && !rc && !tr.oom; w++) {
        const int *s = tr.sym + tr.symoff[w];
        for (int i = 0; i + 1 < tr.nsym[w]; i++) {
            int p = pair_index(&tr, tok_pair_key(s[i], s[i + 1]), 1);
            if (p < 0) break;
            pinfo *pi = &tr.pairs[p];
            pi->count += tr.words[w].count;
            if (!pi->nw || pi->w[pi->nw - 1] != w) {
                pi->w = grow(pi->w, &pi->cw, pi->nw + 1, sizeof *pi->w, 4, &tr.oom);
                if (!tr.oom) pi->w[pi->nw++] = w;
            }
        }
    }
    for (int p = 0; p < tr.npairs && !rc; p++) heap_push(&tr, tr.pairs[p].count, tr.pairs[p].key);
    // 4. Merge the most frequent pair until the vocabulary is full.
    int target = vocab_size - n_special, step = 0, n_learn = target - t->vocab_size;
    while (!rc && !tr.oom && t->vocab_size < target && tr.nheap > 0) {
        hitem h = heap_pop(&tr);
        int p = pair_index(&tr, h.key, 0);
        int64_t now = p >= 0 ? tr.pairs[p].count : 0;
        if (now != h.count) {
            if (now > 0 && now < h.count) heap_push(&tr, now, h.key);
            continue;
        }
        if (now < MIN_PAIR_COUNT) break;
        int a = (int)(h.key >> 32), b = (int)(uint32_t)h.key, id;
        rc = add_merged(t, a, b, &id, err);
        step++;
        // the word list may grow while we merge (pair_add on other pairs), so take it over first
        int *ws = tr.pairs[p].w, nw = tr.pairs[p].nw;
        tr.pairs[p].w = NULL;
        tr.pairs[p].nw = tr.pairs[p].cw = 0;
        for (int k = 0; k < nw && !rc; k++) {
            if (tr.stamp[ws[k]] == step) continue;
            tr.stamp[ws[k]] = step;
            merge_word(&tr, ws[k], a, b, id, 1);
        }
        free(ws);
        flush_dirty(&tr);
        if (progress && (step % 64 == 0 || t->vocab_size == target))
            progress(ctx, "merging", (long)(t->vocab_size - (target - n_learn)), (long)n_learn);
    }
    if (!rc && tr.oom) rc = tf_errorf(err, TF_ENOMEM, "out of memory while training");
    trainer_free(&tr);
    // 5. Special tokens last.
    for (int i = 0; i < n_special && !rc; i++) {
        int id = t->vocab_size;
        rc = tok_set_token(t, id, special[i], strlen(special[i]), "training", err);
        if (!rc) rc = tok_add_added(t, id, 1, err);
    }
    if (!rc) rc = tok_build_map(t, "training", err);
    if (!rc) rc = tok_finish(t, err);
    if (rc) {
        tf_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return TF_OK;
}

int tf_tokenizer_train(const char *text, size_t len, int vocab_size, const char *const *special, int n_special,
                       tf_tokenizer **out, tf_error *err) {
    return tf_tokenizer_train_progress(text, len, vocab_size, special, n_special, 0, out, NULL, NULL, err);
}
