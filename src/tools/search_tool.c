// search_tool.c — the index and result memo behind WikiSearch and QA.
#include "search_tool.h"

#include <stdlib.h>

static void search_tool_destroy(tf_tool *t) {
    search_tool_state *st = t->state;
    if (!st) return;
    search_index_close(st->ix);
    result_cache_free(st->cache);
    free(st);
    t->state = NULL;
}

int search_tool_attach(tf_tool *t, const tf_tool_options *opt, tf_error *err) {
    const char *path = opt ? opt->index_path : NULL;
    if (!path || !*path)
        return tf_errorf(err, TF_EBADARG, "%s needs a search index (--index FILE.db); build one with "
                         "`toolformer index --data passages.jsonl --out FILE.db`", t->name);
    search_tool_state *st = calloc(1, sizeof *st);
    t->state = st;
    t->destroy = search_tool_destroy;
    if (!st || !(st->cache = result_cache_new(SEARCH_CACHE_SLOTS))) return tf_errorf(err, TF_ENOMEM, "out of memory");
    if (!(st->ix = search_index_open(path, err))) return err ? err->code : TF_EIO;
    return TF_OK;
}
