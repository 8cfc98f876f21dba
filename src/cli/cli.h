// cli.h — shared helpers of the `toolformer` subcommands (internal to src/cli/).
#ifndef TF_CLI_H
#define TF_CLI_H

#include "toolformer.h"

// Exit codes: 0 ok, 1 bad input or failure, 2 bad usage.
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

// Prints "toolformer: <msg>" on stderr and returns the exit code for err (2 for TF_EBADARG, else 1).
int cli_fail(const tf_error *err);
// Prints "toolformer <cmd>: <printf message>" on stderr and returns CLI_USAGE.
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Parses "1,2,3" into a malloc'd array; returns NULL with err set on a bad list.
int *cli_parse_ids(const char *s, int *n, tf_error *err);
// Parses a whole-string integer / float option value; returns 0 on success.
int cli_int(const char *s, long lo, long hi, long *out);
// cli_float refuses NaN and infinities: every float option is a finite number.
int cli_float(const char *s, double *out);
// Parses --shard K/N strictly (whole string, 0 <= K < N); 0 on success.
int cli_shard(const char *s, int *k, int *n);
// A usage error naming argv[first] when arguments are left after the options (getopt's optind);
// 0 when none is.
int cli_no_arguments(const char *cmd, int argc, char **argv, int first);

// Text <-> ids through the tokenizer found in dir (a model or tokenizer directory). cli_encode fails
// with a clear message when dir holds no tokenizer; cli_decode returns NULL then (err set).
int cli_encode(const char *dir, const char *text, int **ids, int *n, tf_error *err);
char *cli_decode(const char *dir, const int *ids, int n, tf_error *err);
// The tokenizer in dir, loaded once and kept until cli_text_cleanup (NULL with err set).
const tf_tokenizer *cli_tokenizer(const char *dir, tf_error *err);
void cli_text_cleanup(void);
// Whether dir holds tokenizer files.
int cli_has_tokenizer(const char *dir);
// Prints ids as a JSON array to f.
void cli_print_ids_json(FILE *f, const int *ids, int n);
// Prints s as a JSON string (escaped, made valid UTF-8) to f.
void cli_print_json_string(FILE *f, const char *s);

// ---- JSON output: every --json summary of the command line is written through one cli_json --------
// Objects and arrays are written as they are built ({"key": value, "key": [1, 2]} on one line, the
// layout the commands always printed); strings are escaped and made valid UTF-8; a number that is
// not finite (NaN, an infinity) is never printed as such: it becomes null, and cli_json_end reports
// it (one line on stderr naming the field, exit 1), so the output is always valid JSON.
typedef struct {
    FILE *f;
    int depth;
    char close[32];        // '}' or ']' per open level
    long n_items[32];      // items the level holds so far
    const char *key[32];   // the key of each level (NULL: the top, or inside an array)
    int n_bad;             // numbers that were not finite
    char first_bad[64];    // the first one's key ("token_nll[3]" inside an array)
} cli_json;
// Starts the top-level object.
void cli_json_begin(cli_json *j, FILE *f);
// Opens an object / array as the value of key (key NULL inside an array).
void cli_json_object(cli_json *j, const char *key);
void cli_json_array(cli_json *j, const char *key);
// Closes the innermost object or array.
void cli_json_close(cli_json *j);
void cli_json_string(cli_json *j, const char *key, const char *s);  // s NULL: null
void cli_json_int(cli_json *j, const char *key, long long v);
void cli_json_uint(cli_json *j, const char *key, unsigned long long v);
void cli_json_bool(cli_json *j, const char *key, int v);
void cli_json_null(cli_json *j, const char *key);
// A number printed with fmt (one double conversion such as "%.6f" or "%g"); null when not finite.
void cli_json_number(cli_json *j, const char *key, const char *fmt, double v);
// An array of token ids.
void cli_json_ids(cli_json *j, const char *key, const int *ids, int n);
// Closes every open level and the line. CLI_OK, or CLI_FAIL after one line on stderr ("toolformer
// CMD: N values of the JSON output are not finite numbers (NaN or infinity), the first "FIELD"; they
// are written as null") when any number was not finite.
int cli_json_end(cli_json *j, const char *cmd);

// ---- progress on stderr, shared by every long command (annotate, train, finetune, eval, index, convert,
// merge-adapter, tokenizer train): --progress auto|bar|lines|none (tf_progress.h). Put
// CLI_PROGRESS_OPTION in the getopt_long table and CLI_PROGRESS_HELP in the help text.
enum { CLI_OPT_PROGRESS = 1301 };
#define CLI_PROGRESS_OPTION {"progress", 1, 0, CLI_OPT_PROGRESS}
#define CLI_PROGRESS_HELP                                                                               \
    "  --progress MODE    progress on stderr: auto (default: a bar on a terminal; in a log, a line\n"    \
    "                     every TF_PROGRESS_INTERVAL s, default 10, once a run lasts that long), bar,\n" \
    "                     lines (a line every interval and one at the end) or none\n"
// Handles CLI_PROGRESS_OPTION: 1 if c was it (0 = not it; -1 = bad value, message printed).
int cli_progress_option(int c, const char *arg, const char *cmd);

// ---- tool selection shared by compare, annotate, generate and eval ----------------------------------
// Options: --tools LIST, --tool NAME=CMD ARGS (repeatable), --index DB, --today YYYY-MM-DD,
// --qa-model DIR, --tool-timeout MS. Put CLI_TOOL_OPTIONS in the getopt_long table.
#define CLI_TOOL_OPTIONS                                                                          \
    {"tools", 1, 0, 1001}, {"tool", 1, 0, 1002}, {"index", 1, 0, 1003}, {"today", 1, 0, 1004}, \
        {"qa-model", 1, 0, 1005}, {"tool-timeout", 1, 0, 1006}
#define CLI_TOOL_HELP                                                                                      \
    "  --tools LIST       built-in tools: calendar,calculator,wikisearch,qa,mt\n"                         \
    "  --tool NAME=CMD    an external tool: a program speaking one JSON object per line (repeatable)\n"  \
    "  --index DB         WikiSearch/QA index built by `toolformer index`\n"                              \
    "  --today DATE       Calendar's date when a document has none (YYYY-MM-DD; default: the clock)\n"  \
    "  --qa-model DIR     QA reader model\n"                                                              \
    "  --tool-timeout MS  time limit per tool call\n"
typedef struct {
    const char *list;
    const char *external[16];
    int n_external;
    tf_tool_options opt;
    const char *tool_only;  // the first tool option given (--index, ...): an error without a tool
} cli_tools;
// Handles one of CLI_TOOL_OPTIONS: 1 if c was one (0 = not one; -1 = bad value, message printed).
int cli_tools_option(cli_tools *t, int c, const char *arg, const char *cmd);
// Creates the selected tools (none selected is an error when required, and so is a tool option
// such as --index given without any tool).
int cli_tools_build(const cli_tools *t, tf_toolset *set, int required, tf_error *err);

// Subcommands: each takes argv[0] = its own name and returns an exit code.
int cmd_loss(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_tool(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_annotate(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_merge_shards(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_merge_adapter(int argc, char **argv);
int cmd_serve(int argc, char **argv);

// ---- model precision, storage and adapter shared by annotate, compare, eval, generate and loss ---------
// --dtype fp32|bf16 (matmul precision), --mmap (weights read in place from the file in its dtype,
// no fp32 copy; a BF16 file then computes in bf16 and --dtype is moot) and --adapter DIR (a PEFT LoRA
// adapter applied on top). Put CLI_MODEL_OPTIONS in the getopt_long table and CLI_MODEL_HELP in the
// help text.
enum { CLI_OPT_DTYPE = 1101, CLI_OPT_MMAP = 1102, CLI_OPT_ADAPTER = 1103, CLI_OPT_MMAP_COPY = 1104 };
#define CLI_MODEL_OPTIONS                                                                              \
    {"dtype", 1, 0, CLI_OPT_DTYPE}, {"mmap", 0, 0, CLI_OPT_MMAP}, {"mmap-copy", 0, 0, CLI_OPT_MMAP_COPY}, \
        {"adapter", 1, 0, CLI_OPT_ADAPTER}
// --mmap-copy's help lines, shared with the commands that list their options themselves
#define CLI_MMAP_COPY_HELP                                                                             \
    "  --mmap-copy        as --mmap, but the file is read into the process's own memory instead of\n" \
    "                     mapped: decoding streams it faster; that memory cannot be reclaimed\n"
#define CLI_MODEL_HELP                                                                                  \
    "  --dtype D          matmul precision: fp32 (default) or bf16 (bf16 matmuls, fp32 accumulation)\n" \
    "  --mmap             keep the weight matrices in the file's dtype (F32/BF16/F16) inside the\n"      \
    "                     read-only mapping, with no fp32 copy (big checkpoints)\n"                     \
    CLI_MMAP_COPY_HELP                                                                                  \
    "  --adapter DIR      apply a LoRA adapter in PEFT's format (adapter_config.json +\n"              \
    "                     adapter_model.safetensors, e.g. from finetune --lora)\n"
typedef struct {
    tf_dtype dtype;       // TF_DTYPE_FP32 unless --dtype
    int mapped;           // 1: --mmap; 2: --mmap-copy (see cli_mapped_residency)
    const char *adapter;  // --adapter (NULL: none)
} cli_model_opts;
// mapped = 2 (--mmap-copy): safetensors files are read into memory from now on (tf_st_set_residency).
void cli_mapped_residency(int mapped);
// Handles one of CLI_MODEL_OPTIONS: 1 if c was one (0 = not one; -1 = bad value, message printed).
int cli_model_option(cli_model_opts *o, int c, const char *arg, const char *cmd);
// The model in dir for inference: mapped in its file dtype (o->mapped), or loaded to fp32 and set to
// o->dtype, with o->adapter attached (no dropout). NULL with err set.
tf_model *cli_load_model(const char *dir, const cli_model_opts *o, tf_error *err);

#endif
