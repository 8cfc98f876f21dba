// wikisearch.c — placeholder until the tool lands.
#include "tools_internal.h"

tf_tool *tool_wikisearch_new(const tf_tool_options *opt, tf_error *err) {
    (void)opt;
    tf_errorf(err, TF_EBADARG, "tool 'wikisearch' is not built yet");
    return NULL;
}
