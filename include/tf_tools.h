// tf_tools.h — the tools a model learns to call (Toolformer §3): one interface, a registry, and
// Calendar, Calculator, WikiSearch, QA, MT and external (JSON-lines subprocess) tools.
//
// A call is written `[Name(input) -> result]` in text. A tool turns an input string into a result
// string or into "no result" (the candidate is discarded); it never crashes and never hangs.
//
// Typical use:
//     tf_toolset set = {0};
//     tf_tool_options opt = {.today = "2023-01-30"};
//     if (tf_toolset_parse(&set, "calendar,calculator", &opt, &err)) ...;
//     char out[TF_TOOL_RESULT_CAP];
//     tf_tool *calc = tf_toolset_find(&set, "Calculator");
//     if (tf_tool_execute(calc, "400 / 1400", NULL, out, sizeof out, &err) == TF_OK) // out = "0.29"
//     tf_toolset_free(&set);
//
// Threads: Calendar and Calculator keep no mutable state and may run from several threads at once;
// an external tool serialises its calls (one subprocess); other tools document their own rules.
#ifndef TF_TOOLS_H
#define TF_TOOLS_H

#include "tf_common.h"

// Limits applied by tf_tool_execute to every tool.
#define TF_TOOL_MAX_INPUT_BYTES 65536   // longer inputs give no result
#define TF_MAX_TOOLS 32                 // tools in one toolset (tf_toolset_add refuses more)
#define TF_TOOL_RESULT_CAP 4096         // a comfortable size for the caller's result buffer
#define TF_TOOL_DEFAULT_TIMEOUT_MS 10000
#define TF_TOOL_DEFAULT_MAX_RESULT 1024 // bytes

// A growable list of malloc'd strings (candidate call inputs, tool names, ...). Zero-initialise it.
typedef struct {
    char **items;
    int n, cap;
} tf_strlist;
int tf_strlist_push(tf_strlist *l, const char *s);  // copies s; TF_OK or TF_ENOMEM
// Index of the first item equal to s, or -1.
int tf_strlist_find(const tf_strlist *l, const char *s);
void tf_strlist_free(tf_strlist *l);                // frees the items; l is zeroed and reusable

// What a tool may know about the document it is called from.
typedef struct {
    const char *date;    // the document's date "YYYY-MM-DD", or NULL (Calendar then uses today)
} tf_tool_context;

typedef struct tf_tool tf_tool;
struct tf_tool {
    const char *name;     // as written in calls: "Calendar", "Calculator", "WikiSearch", "QA", "MT"
    const char *prompt;   // few-shot prompt for call sampling (paper, Appendix A.2); its text slot is
                          // the literal "<INPUT>", to be replaced by the document. It ends with
                          // "Output:" (no trailing space or newline).
    int timeout_ms;       // per-call time limit
    int max_result_bytes; // results longer than this are cut (at a UTF-8 boundary)
    // Runs the tool on input. TF_OK with a NUL-terminated result in out[cap]; TF_ETOOL for "no
    // result" (invalid input, nothing found, time limit) with err saying why; other codes for
    // failures of the tool itself. Callers use tf_tool_execute, which adds the common limits.
    int (*execute)(tf_tool *t, const char *input, const tf_tool_context *ctx, char *out, size_t cap,
                   tf_error *err);
    // Optional: does this text deserve candidates for this tool (paper's per-tool prefilters)?
    // NULL means always. Returns nonzero for yes.
    int (*prefilter)(const tf_tool *t, const char *text, const tf_tool_context *ctx);
    // Optional: candidate inputs for a call placed at byte offset pos of text (tool-side proposals
    // for small models). Appends to out (a bounded number of items); returns TF_OK or TF_ENOMEM.
    // NULL means the tool proposes nothing.
    int (*propose)(const tf_tool *t, const char *text, size_t pos, const tf_tool_context *ctx,
                   tf_strlist *out);
    void (*destroy)(tf_tool *t);  // frees state (not t itself; tf_tool_free does that)
    void *state;
};

// Options that tool constructors read (unused fields are ignored). Zero-initialise it.
typedef struct {
    const char *today;      // Calendar fallback date "YYYY-MM-DD" (else the clock)
    const char *index_path; // WikiSearch / QA: SQLite FTS5 database built by `toolformer index`
    const char *qa_model;   // QA: reader model directory (NULL: extractive rule)
    int timeout_ms;         // 0: the tool's default
    int max_result_bytes;   // 0: the tool's default
} tf_tool_options;

// Creates a built-in tool by name (case-insensitive): calendar, calculator, wikisearch, qa, mt.
// NULL with err set (TF_EBADARG for an unknown name or a bad option).
tf_tool *tf_tool_create(const char *name, const tf_tool_options *opt, tf_error *err);
// Creates an external tool from a spec "NAME=COMMAND ARG..." (argv split on spaces; '...' and "..."
// group words; no shell). The program starts now (an error if it cannot be executed) and is
// restarted on the next call after it dies or times out. Protocol: one JSON object per line,
// request {"tool": NAME, "input": TEXT}, reply {"result": TEXT} or {"error": TEXT}.
tf_tool *tf_tool_create_external(const char *spec, const tf_tool_options *opt, tf_error *err);
// Runs t->execute with the common limits applied: the input must be valid UTF-8 of at most
// TF_TOOL_MAX_INPUT_BYTES (input NULL means ""); a result that arrives after t->timeout_ms is
// discarded; the result is made one line of valid UTF-8 (control characters become spaces, runs
// of spaces collapse, ends trimmed, invalid bytes dropped, '[' and ']' become '(' and ')' so the
// call stays parseable) and cut to t->max_result_bytes and cap - 1 at a UTF-8 boundary. An empty
// result is no result. TF_OK with out filled, else out = "" and err says why (TF_ETOOL: no result).
int tf_tool_execute(tf_tool *t, const char *input, const tf_tool_context *ctx, char *out, size_t cap,
                    tf_error *err);
void tf_tool_free(tf_tool *t);  // calls destroy, frees t; NULL is fine

// A set of tools selected by `--tools calendar,calculator,...` (and `--tool NAME=CMD ...`).
// Zero-initialise it; it owns its tools.
typedef struct {
    tf_tool **tools;
    int n;
} tf_toolset;
// Creates the tools of a comma-separated list of built-in names (spaces around names allowed) and
// adds them. A name of a tool already in the set before this call (an external tool added with
// tf_toolset_add) is accepted and not created again; a name listed twice is an error. On error the
// tools added before it stay in the set (free it with tf_toolset_free).
int tf_toolset_parse(tf_toolset *set, const char *list, const tf_tool_options *opt, tf_error *err);
// Adds t and takes ownership of it, also on failure (a second tool with the same name, case-
// insensitive, is TF_EBADARG and t is freed).
int tf_toolset_add(tf_toolset *set, tf_tool *t, tf_error *err);
tf_tool *tf_toolset_find(const tf_toolset *set, const char *name);  // case-insensitive; NULL if absent
void tf_toolset_free(tf_toolset *set);

// ---- call syntax (paper, footnote 1): "[Name(input) -> result]" ------------------------------------
// Grammar (ws = spaces, tabs, newlines):
//   call   = "[" Name ws* "(" input ")" ws* ( "]" | "->" ws* result ws* "]" )
//   Name   = [A-Za-z_][A-Za-z0-9_.-]*, at most 63 bytes
//   input  = ws* '"' chars '"' ws*   quoted: \" and \\ are escapes
//          | anything else            unquoted: ends at the first ')' followed by ws* and "]" or
//                                     "->"; an unbalanced ']' ends the call as malformed. An
//                                     unquoted input wrapped in "..." loses the quotes.
//   result = any text without ']' (trimmed); "[Name(input) ->]" has the empty result.
// Text holding NUL bytes or invalid UTF-8 is not a call.
typedef struct {
    char name[64];
    char *input;    // malloc'd, unquoted, trimmed
    char *result;   // malloc'd, NULL when the call has no "-> result" part
    size_t start, end;  // byte span of the call in the parsed text, '[' to ']' inclusive-exclusive
} tf_call;
// Parses one call starting at text[0] == '['; text need not be NUL-terminated (len bytes).
// Returns TF_OK and fills call (start = 0, end = one past ']'), or TF_EBADFILE when it is not a
// well-formed call (call is then zeroed), or TF_ENOMEM.
int tf_call_parse(const char *text, size_t len, tf_call *call, tf_error *err);
// Parses a call as a model writes it at inference, up to the arrow where decoding stops to run the
// tool (paper §2): "[Name(input) ->" followed only by whitespace up to len. Fills call with result
// NULL and end = len; TF_EBADFILE when the text is anything else.
int tf_call_parse_open(const char *text, size_t len, tf_call *call, tf_error *err);
void tf_call_free(tf_call *call);  // frees input and result; the struct may be reused
// Writes "[Name(input)]" (result NULL) or "[Name(input) -> result]" into a malloc'd string. The
// input is written unquoted when it parses back unchanged, else quoted with \" and \\ escapes, so
// tf_call_parse returns exactly name, input and result. NULL when name is not a Name, input or
// result is not valid UTF-8, result contains ']', or memory runs out.
char *tf_call_format(const char *name, const char *input, const char *result);
// The text of a call as it stands inline, after the space that the " [" token carries:
// " [Name(input) -> result]"; with result NULL, " [Name(input) ->]" when with_arrow (the paper's
// e(c, empty)) else " [Name(input)]". malloc'd; NULL as for tf_call_format.
char *tf_call_text(const char *name, const char *input, const char *result, int with_arrow);

// ---- a call as a model writes it (sampling calls in annotate, decoding with tools) -----------------
// After " [" a model writes the call's body token by token. The call closes at the first "->" (where
// the tool runs, paper §2) or at the first "]" (a call without result), whichever comes first.
typedef enum {
    TF_CALL_OPEN = 0,   // neither "->" nor "]" yet
    TF_CALL_AT_ARROW,   // "->" came first: the tool runs on the body before it
    TF_CALL_CLOSED,     // "]" came first: a call without result
} tf_call_end;
// How the NUL-terminated body (the text after " [") ends; *cut (may be NULL) gets the offset of the
// "->" or "]" that ends it.
tf_call_end tf_call_body_end(const char *body, size_t *cut);
// Parses body[0..cut) as the call "[" body "]": name and input, result NULL. TF_EBADFILE when it is
// not a call (call zeroed), TF_ENOMEM.
int tf_call_parse_body(const char *body, size_t cut, tf_call *call, tf_error *err);

#endif
