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
int cli_float(const char *s, double *out);

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
// Prints s as a JSON string (escaped) to f.
void cli_print_json_string(FILE *f, const char *s);

// Subcommands: each takes argv[0] = its own name and returns an exit code.
int cmd_loss(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_tool(int argc, char **argv);
int cmd_index(int argc, char **argv);

#endif
