// qa.c — placeholder until the tool lands.
#include "tools_internal.h"

tf_tool *tool_qa_new(const tf_tool_options *opt, tf_error *err) {
    (void)opt;
    tf_errorf(err, TF_EBADARG, "tool 'qa' is not built yet");
    return NULL;
}
