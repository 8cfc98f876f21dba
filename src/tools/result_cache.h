// result_cache.h — a small thread-safe memo of tool results (internal). The Toolformer pipeline
// executes the same call many times (m samples per position often agree; texts repeat), and
// WikiSearch, QA and MT results depend only on their input, so a repeated input is answered
// from memory. Direct-mapped: a new entry replaces the one in its slot.
#ifndef TF_RESULT_CACHE_H
#define TF_RESULT_CACHE_H

#include <stddef.h>

#include "tf_tools.h"

typedef struct result_cache result_cache;

result_cache *result_cache_new(int slots);  // slots rounded up to a power of two; NULL on no memory
void result_cache_free(result_cache *c);
// Looks up (input, budget). Found: copies the stored text into out[cap] (cut to fit), sets *code
// (TF_OK, or the no-result code with the text as its message) and returns 1; else returns 0.
int result_cache_get(result_cache *c, const char *input, size_t budget, int *code, char *out, size_t cap);
// Stores a deterministic outcome: code TF_OK with the result, or a no-result code with its message.
void result_cache_put(result_cache *c, const char *input, size_t budget, int code, const char *text);

// For a tool's execute: on a hit, fills out (TF_OK) or err (the stored no-result) and returns 1
// with *rc set; on a miss returns 0.
int result_cache_answer(result_cache *c, const char *input, size_t budget, char *out, size_t cap, tf_error *err,
                        int *rc);

// The common start of a memoising tool's execute (WikiSearch, QA, MT): checks that out has room,
// empties it, makes a NULL *input "", and sets *budget, the result's byte budget: the tool's
// max_result_bytes, else default_bytes, at most cap - 1. Returns 1 when the call is answered
// already, with *rc set (TF_EBADARG: no room; or the remembered result in out / no-result in err);
// 0 when the tool must compute it.
int result_cache_begin(result_cache *c, const tf_tool *t, const char **input, size_t default_bytes, char *out,
                       size_t cap, size_t *budget, tf_error *err, int *rc);

#endif
