// tools_internal.h — constructors of the built-in tools, called by the registry (registry.c).
#ifndef TF_TOOLS_INTERNAL_H
#define TF_TOOLS_INTERNAL_H

#include "tf_tools.h"

tf_tool *tool_calendar_new(const tf_tool_options *opt, tf_error *err);    // calendar.c
tf_tool *tool_calculator_new(const tf_tool_options *opt, tf_error *err);  // calculator.c
tf_tool *tool_wikisearch_new(const tf_tool_options *opt, tf_error *err);  // wikisearch.c
tf_tool *tool_qa_new(const tf_tool_options *opt, tf_error *err);          // qa.c
tf_tool *tool_mt_new(const tf_tool_options *opt, tf_error *err);          // mt.c

#endif
