// tf_tools.h — the tools a model learns to call (Toolformer §3): one interface, a registry, and
// Calendar, Calculator, WikiSearch, QA, MT and external (JSON-lines subprocess) tools.
//
// A call is written `[Name(input) -> result]` in text. A tool turns an input string into a result
// string or into "no result" (the candidate is discarded); it never crashes and never hangs.
#ifndef TF_TOOLS_H
#define TF_TOOLS_H

#include "tf_common.h"

// A growable list of malloc'd strings (candidate call inputs, tool names, ...).
typedef struct {
    char **items;
    int n, cap;
} tf_strlist;
int tf_strlist_push(tf_strlist *l, const char *s);  // copies s; TF_OK or TF_ENOMEM
void tf_strlist_free(tf_strlist *l);

// What a tool may know about the document it is called from.
typedef struct {
    const char *date;    // the document's date "YYYY-MM-DD", or NULL (Calendar then uses today)
} tf_tool_context;

typedef struct tf_tool tf_tool;
struct tf_tool {
    const char *name;     // as written in calls: "Calendar", "Calculator", "WikiSearch", "QA", "MT"
    const char *prompt;   // few-shot prompt for call sampling (paper, Appendix A.2); its text slot is
                          // the literal "<INPUT>", to be replaced by the document
    int timeout_ms;       // per-call time limit
    int max_result_bytes; // results longer than this are cut (at a UTF-8 boundary)
    // Runs the tool on input. TF_OK with a NUL-terminated result in out[cap]; TF_ETOOL for "no
    // result" (invalid input, nothing found, time limit) with err saying why; other codes for
    // failures of the tool itself.
    int (*execute)(tf_tool *t, const char *input, const tf_tool_context *ctx, char *out, size_t cap,
                   tf_error *err);
    // Optional: does this text deserve candidates for this tool (paper's per-tool prefilters)?
    // NULL means always.
    int (*prefilter)(const tf_tool *t, const char *text, const tf_tool_context *ctx);
    // Optional: candidate inputs for a call placed at byte offset pos of text (tool-side proposals
    // for small models). Appends to out; NULL means the tool proposes nothing.
    int (*propose)(const tf_tool *t, const char *text, size_t pos, const tf_tool_context *ctx,
                   tf_strlist *out);
    void (*destroy)(tf_tool *t);  // frees state
    void *state;
};

// Options that tool constructors read (unused fields are ignored).
typedef struct {
    const char *today;      // Calendar fallback date "YYYY-MM-DD" (else the clock)
    const char *index_path; // WikiSearch / QA: SQLite FTS5 database built by `toolformer index`
    const char *qa_model;   // QA: reader model directory (NULL: extractive rule)
    int timeout_ms;         // 0: the tool's default
    int max_result_bytes;   // 0: the tool's default
} tf_tool_options;

// Creates a built-in tool by name (case-insensitive): calendar, calculator, wikisearch, qa, mt.
tf_tool *tf_tool_create(const char *name, const tf_tool_options *opt, tf_error *err);
// Creates an external tool from a spec "NAME=COMMAND ARG..." (argv split on spaces, no shell).
tf_tool *tf_tool_create_external(const char *spec, const tf_tool_options *opt, tf_error *err);
// Runs t->execute with the tool's time limit and result cap applied.
int tf_tool_execute(tf_tool *t, const char *input, const tf_tool_context *ctx, char *out, size_t cap,
                    tf_error *err);
void tf_tool_free(tf_tool *t);

// A set of tools selected by `--tools calendar,calculator,...` (and `--tool NAME=CMD ...`).
typedef struct {
    tf_tool **tools;
    int n;
} tf_toolset;
int tf_toolset_parse(tf_toolset *set, const char *list, const tf_tool_options *opt, tf_error *err);
int tf_toolset_add(tf_toolset *set, tf_tool *t, tf_error *err);
tf_tool *tf_toolset_find(const tf_toolset *set, const char *name);  // case-insensitive; NULL if absent
void tf_toolset_free(tf_toolset *set);

// ---- call syntax (paper, footnote 1): "[Name(input) -> result]" ------------------------------------
typedef struct {
    char name[64];
    char *input;    // malloc'd, unquoted
    char *result;   // malloc'd, NULL when the call has no "-> result" part
    size_t start, end;  // byte span of the call in the parsed text, '[' to ']' inclusive-exclusive
} tf_call;
// Parses one call starting at text[0] == '['. Quoted ("...") and unquoted inputs both parse.
// Returns TF_OK and fills call, or TF_EBADFILE when it is not a well-formed call.
int tf_call_parse(const char *text, size_t len, tf_call *call, tf_error *err);
void tf_call_free(tf_call *call);
// Writes "[Name(input)]" (result NULL) or "[Name(input) -> result]" into a malloc'd string.
char *tf_call_format(const char *name, const char *input, const char *result);

#endif
