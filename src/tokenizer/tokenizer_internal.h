// tokenizer_internal.h — the tokenizer's data structure and the helpers its files share
// (internal to src/tokenizer/).
#ifndef TF_TOKENIZER_INTERNAL_H
#define TF_TOKENIZER_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "tf_tokenizer.h"
#include "util/utf8.h"

// ---- Unicode classes of GPT-2's pre-tokenizer (unicode_table.c, generated) ---------------------
enum { TOK_OTHER = 0, TOK_LETTER = 1, TOK_NUMBER = 2, TOK_SPACE = 3 };
typedef struct { uint32_t lo, hi; uint8_t cls; } tok_urange;
extern const tok_urange tok_unicode_ranges[];
extern const int tok_unicode_nranges;

// Length in bytes (>= 1) of the pre-tokenizer piece starting at s[pos] (pos < n). Invalid UTF-8
// bytes count as one-byte symbols of class TOK_OTHER. split_digits: Hugging Face's
// Sequence[Digits(individual_digits), ByteLevel]: every number symbol is a piece of its own, and
// GPT-2's regex splits the text between them as if each stretch were a text of its own.
size_t tok_next_piece(const unsigned char *s, size_t n, size_t pos, int split_digits);

// ---- GPT-2's byte <-> character map --------------------------------------------------------------
// Byte b is written in vocabulary files as the character tok_byte_char(b); the inverse is -1 for
// characters that stand for no byte.
uint32_t tok_byte_char(int b);
int tok_char_byte(uint32_t cp);

// ---- hashing -------------------------------------------------------------------------------------
static inline uint64_t tok_hash(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, s, n);
    h = (h ^ v) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 32);
}
static inline uint64_t tok_pair_key(int a, int b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }
static inline uint64_t tok_mix64(uint64_t k) {
    k *= 0x9E3779B97F4A7C15ull;
    return k ^ (k >> 31);
}

// ---- the tokenizer -------------------------------------------------------------------------------
typedef struct { uint32_t off; int32_t len; } tok_span;          // len -1: no token with this id
typedef struct { uint64_t key; int32_t rank, result; } tok_merge_slot; // key UINT64_MAX: empty
typedef struct { int id; int special; } tok_added;

#define TOK_CACHE_SHARDS 16
typedef struct tok_cache_shard tok_cache_shard;

struct tf_tokenizer {
    int vocab_size;            // max id + 1
    tok_span *tok;             // [vocab_size] each token's bytes in pool
    int tok_cap;
    char *pool;
    size_t pool_len, pool_cap;
    int *map;                  // bytes -> id, open addressing (-1 empty), map_cap slots
    int map_cap;
    int byte_id[256];          // the single-byte token of each byte, or -1
    int (*merges)[3];          // [n_merges] (left, right, result), in rank order
    int n_merges, merges_cap;
    tok_merge_slot *mslots;    // (left, right) -> rank, result
    int mslot_cap;
    tok_added *added;          // added tokens (from tokenizer.json, or specials)
    int n_added;
    int eos_id;
    int split_digits;          // the pre-tokenizer isolates every digit (tok_next_piece)
    tok_cache_shard *cache[TOK_CACHE_SHARDS];
    pthread_mutex_t cache_mu[TOK_CACHE_SHARDS];
};

// Building (vocab.c). A new tokenizer has no tokens; set them, build the map, add merges.
tf_tokenizer *tok_new(void);
// Sets token id's bytes; fails when id already has a token (where names the file and place).
int tok_set_token(tf_tokenizer *t, int id, const char *bytes, size_t len, const char *where,
                  tf_error *err);
// Builds the bytes -> id map; two model tokens with the same bytes fail (where names the file).
// Tokens listed in t->added may share bytes with a model token (the model token keeps the bytes).
int tok_build_map(tf_tokenizer *t, const char *where, tf_error *err);
// Appends merge (left, right) at the next rank; result is the token left+right.
int tok_add_merge_ids(tf_tokenizer *t, int left, int right, int result, tf_error *err);
// Builds the merge lookup, the byte tokens and eos; call last.
int tok_finish(tf_tokenizer *t, tf_error *err);
int tok_add_added(tf_tokenizer *t, int id, int special, tf_error *err);
// Lookup of a merge: its rank (or -1) and result.
static inline int tok_merge_rank(const tf_tokenizer *t, int a, int b, int *result) {
    uint64_t key = tok_pair_key(a, b);
    uint32_t mask = (uint32_t)t->mslot_cap - 1;
    for (uint32_t i = (uint32_t)tok_mix64(key) & mask;; i = (i + 1) & mask) {
        const tok_merge_slot *s = &t->mslots[i];
        if (s->key == key) { *result = s->result; return s->rank; }
        if (s->key == UINT64_MAX) return -1;
    }
}

// Converts a vocabulary-file string (byte-level characters, UTF-8) to raw bytes in out (at least
// len bytes); characters that stand for no byte keep their UTF-8. Returns the byte count.
size_t tok_unmap_string(const char *s, size_t len, char *out);

void tok_cache_free(tf_tokenizer *t);

#endif
