// search_tool.h — what WikiSearch and QA share: an open search index and a memo of results.
#ifndef TF_SEARCH_TOOL_H
#define TF_SEARCH_TOOL_H

#include "result_cache.h"
#include "search_index.h"
#include "tools_internal.h"

typedef struct {
    search_index *ix;
    result_cache *cache;
} search_tool_state;

// Gives t (WikiSearch or QA) its state: the index at opt->index_path (a clear error naming the tool
// and how to build one when it is absent) and a memo of SEARCH_CACHE_SLOTS results. Sets
// t->destroy; on failure the caller frees t with tf_tool_free.
int search_tool_attach(tf_tool *t, const tf_tool_options *opt, tf_error *err);

#endif
