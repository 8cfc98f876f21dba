// tools_internal.h — constructors of the built-in tools, called by the registry (registry.c), and
// helpers shared by the tool files.
#ifndef TF_TOOLS_INTERNAL_H
#define TF_TOOLS_INTERNAL_H

#include "tf_tools.h"

tf_tool *tool_calendar_new(const tf_tool_options *opt, tf_error *err);    // calendar.c
tf_tool *tool_calculator_new(const tf_tool_options *opt, tf_error *err);  // calculator.c
tf_tool *tool_wikisearch_new(const tf_tool_options *opt, tf_error *err);  // wikisearch.c
tf_tool *tool_qa_new(const tf_tool_options *opt, tf_error *err);          // qa.c
tf_tool *tool_mt_new(const tf_tool_options *opt, tf_error *err);          // mt.c

// registry.c: a zeroed tool with name, prompt (both static strings, not freed), and the time limit
// and result cap from opt, else the defaults given. NULL (err set) when memory runs out.
tf_tool *tool_alloc(const char *name, const char *prompt, const tf_tool_options *opt,
                    int default_timeout_ms, int default_max_result, tf_error *err);

// calendar.c: parses "YYYY-MM-DD" (optionally followed by 'T' or ' ' and a time) into a valid
// Gregorian date, year 1..9999. Returns 0 on success.
int tool_parse_date(const char *s, int *y, int *m, int *d);

// calculator.c: evaluates an arithmetic expression (see calculator.c); 0 and *out on success,
// else -1 with why (a static string) set.
int tool_calc_eval(const char *expr, double *out, const char **why);
// Formats a Calculator result: rounded to 2 decimals, integers without decimals. 0 on success,
// -1 when the value is not finite or too large (|v| >= 1e15).
int tool_calc_format(double v, char *out, size_t cap);

#endif
