// main.c — the `toolformer` command: dispatches to one subcommand per file in src/cli/.
#include "cli.h"
#include "tf_dist.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command COMMANDS[] = {
    {"loss", cmd_loss, "mean negative log-likelihood of a token sequence"},
    {"generate", cmd_generate, "decode from a prompt (greedy or sampled) with a KV cache"},
    {"train", cmd_train, "pretrain or fine-tune a model on JSONL text (AdamW)"},
    {"tokenize", cmd_tokenize, "text to token ids"},
    {"detokenize", cmd_detokenize, "token ids to text"},
    {"tokenizer", cmd_tokenizer, "tokenizer tools: `tokenizer train` builds a BPE vocabulary"},
    {"tool", cmd_tool, "run one tool on an input (Calendar, Calculator, WikiSearch, QA, MT, ...)"},
    {"index", cmd_index, "build a WikiSearch index (SQLite FTS5) from passages JSONL"},
    {"compare", cmd_compare, "the filter's three losses for one call at one place of a text"},
    {"annotate", cmd_annotate, "sample, execute and filter API calls over a corpus (C -> C*)"},
    {"finetune", cmd_finetune, "fine-tune a model on augmented text (C*)"},
    {"merge-shards", cmd_merge_shards, "join annotate shards (--shard K/N, mpirun) in corpus order"},
    {"eval", cmd_eval, "evaluate tool use: math, dates, facts, perplexity"},
    {"convert", cmd_convert, "rewrite a model in another dtype (bf16, f16, f32) or sharding"},
    {"merge-adapter", cmd_merge_adapter, "merge a LoRA adapter (PEFT format) into its base model"},
    {"serve", cmd_serve, "serve generation with tools over HTTP (OpenAI's completions API)"},
    {"report", cmd_report, "one self-contained HTML page with plots from a run's directory"},
};
static const int NUM_COMMANDS = sizeof COMMANDS / sizeof COMMANDS[0];

static void usage(FILE *out) {
    fprintf(out, "usage: toolformer <command> [options]   (toolformer <command> --help for more)\n"
                 "       toolformer --version\n\n"
                 "Every command that writes files refuses to overwrite one of its inputs or a finished output\n"
                 "(--resume, --append or --force say what to do with an existing one), and `--` ends the options.\n\n"
                 "commands:\n");
    for (int i = 0; i < NUM_COMMANDS; i++)
        fprintf(out, "  %-14s %s\n", COMMANDS[i].name, COMMANDS[i].help);
}

int main(int argc, char **argv) {
    // OpenMP threads that spin while waiting cost whole time slices when the cores are shared (up to
    // 50x slower decoding measured, docs/benchmarks.md); libgomp reads its wait policy when it loads,
    // so when the user has not chosen one, choose "passive" and start again with it.
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);  // only returns on failure: then go on as we are
    }
    // a file-size limit or a closed pipe must become a clear write error, not a silent death
    signal(SIGXFSZ, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
        printf("toolformer %s (C11; %s)\n", TF_VERSION,
               tf_dist_available() ? "built with Open MPI" : "single process, built without MPI");
        return CLI_OK;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    for (int i = 0; i < NUM_COMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) {
            int rc = COMMANDS[i].run(argc - 1, argv + 1);
            cli_text_cleanup();
            return rc;
        }
    fprintf(stderr, "toolformer: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
