// cmd_annotate.c — `toolformer annotate`: C -> C* (sample or propose calls, execute, filter, merge).
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "annotate_run.h"
#include "tf_dist.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: toolformer annotate --model DIR --data corpus.jsonl --tools LIST --out augmented.jsonl\n"
            "                           [--proposer prompt|tool|model] [--tau-s F] [--tau-f F] [--top-k K]\n"
            "                           [--samples M] [--max-calls N] [--set TOOL.KEY=VALUE] [--max-docs N]\n"
            "                           [--placement prefix|inline]\n"
            "                           [--rejected FILE] [--seed S] [--resume|--force] [--shard K/N] [--batch B] [--json]\n"
            "                           [--progress auto|bar|lines|none] [--quiet]\n"
            "                           [tool options]\n"
            "                           [--dtype fp32|bf16] [--mmap|--mmap-copy]\n\n"
            "For every document and every tool, independently (Schick et al. 2023, section 2): the tool's\n"
            "prefilter; candidate positions i with p(\" [\" | prefix) > tau_s, the top k; up to m calls per\n"
            "position; execution; the filter L- - L+ >= tau_f with the call as a prefix; then all kept calls\n"
            "merged into the text. Defaults are the paper's: tau_s 0.05, tau_f 1.0, k 5, m 5, every call\n"
            "that passes kept; Calculator and MT tau_s 0, k 20, m 10, tau_f 0.5.\n"
            "  --proposer P    prompt: sample calls with the tool's few-shot prompt (default);\n"
            "                  model: sample from a model already fine-tuned on calls (no prompt);\n"
            "                  tool: the tool proposes the calls (for small models), positions ranked by p\n"
            "  --tau-s/--tau-f/--top-k/--samples   override for every tool\n"
            "  --max-calls N   keep at most N calls of a tool per document, the best scores (0: all)\n"
            "  --set TOOL.KEY=VALUE   override for one tool: KEY is tau_s, tau_f, top_k, samples or\n"
            "                  max_calls\n"
            "  --placement P    where the filter puts the call when it scores the text: prefix, before\n"
            "                  it (the paper's choice for a model not yet fine-tuned on calls; default),\n"
            "                  or inline, at the position, as the fine-tuned model will see it\n"
            "  --rejected FILE  also write every scored call that was not kept\n"
            "  --resume         continue a run that was interrupted (OUT.progress); a different run (corpus,\n"
            "                  model, tools, options) is refused\n"
            "  --force          replace an existing OUT (without --resume or --force it is refused)\n"
            "  --shard K/N      process documents with index %% N == K (0 <= K < N)\n"
            "  --max-docs N     stop after N documents of this shard (continue later with --resume)\n"
            "  --seed S         sampling seed (default 1; each document's sampling is seeded from it)\n"
            "  --batch B        rows per scoring forward pass (default 16)\n"
            "  --temperature T  sampling temperature for calls (default 1.0)\n"
            "  --max-call-tokens N  tokens sampled for one call before giving up (default 32)\n"
            "  --threads N      compute threads (default: the physical cores)\n"
            "  --quiet          no progress on stderr (--progress none)\n"
            "  --json           print the summary as JSON\n" CLI_PROGRESS_HELP CLI_MODEL_HELP CLI_TOOL_HELP
            "\nUnder mpirun -np N (a build with Open MPI) rank K processes shard K/N into OUT.shard-K-of-N\n"
            "(and REJECTED.shard-K-of-N), each with its own progress file and --resume; when every shard is\n"
            "done, rank 0 joins them into OUT (as `toolformer merge-shards` does) and prints the summary of\n"
            "all. Threads per process default to the cores / processes per machine. See docs/scaling.md.\n");
}

// Parses and checks the command line into a. *done = 1 when the command is over (--help printed, or a
// usage error): the return value is then its exit code.
static int parse(int argc, char **argv, annotate_args *a, int *done) {
    static const struct option opts[] = {
        {"model", 1, 0, 'm'},   {"data", 1, 0, 'd'},     {"out", 1, 0, 'o'},      {"proposer", 1, 0, 'p'},
        {"tau-s", 1, 0, 'S'},   {"tau-f", 1, 0, 'F'},    {"top-k", 1, 0, 'k'},    {"samples", 1, 0, 'n'}, {"max-calls", 1, 0, 'K'},
        {"set", 1, 0, 'x'},     {"max-docs", 1, 0, 'M'}, {"rejected", 1, 0, 'r'}, {"seed", 1, 0, 's'},
        {"resume", 0, 0, 'R'},  {"force", 0, 0, 'f'}, {"shard", 1, 0, 'h' + 256}, {"batch", 1, 0, 'b'}, {"json", 0, 0, 'j'},
        {"threads", 1, 0, 't'}, {"temperature", 1, 0, 'T'}, {"max-call-tokens", 1, 0, 'c'}, {"quiet", 0, 0, 'q'},
        {"placement", 1, 0, 'P'}, {"help", 0, 0, 'h'},    CLI_TOOL_OPTIONS,        CLI_MODEL_OPTIONS,       CLI_PROGRESS_OPTION, {0, 0, 0, 0}};
    int c, h;
    long v;
    *a = (annotate_args){.tau_s = -1, .tau_f = -1, .temperature = 1.0, .top_k = -1, .samples = -1, .max_calls = -1,
                         .call_tokens = 32, .batch = 16, .proposer = TF_PROPOSER_PROMPT, .placement = TF_PLACE_PREFIX,
                         .seed = 1, .run = {.shard_k = 0, .shard_n = 1}, .model = {TF_DTYPE_FP32, 0, NULL}};
    tf_annotate_run *run = &a->run;
    *done = 1;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if ((h = cli_tools_option(&a->tools, c, optarg, "annotate")) || (h = cli_model_option(&a->model, c, optarg, "annotate")) ||
            (h = cli_progress_option(c, optarg, "annotate"))) {
            if (h < 0) return CLI_USAGE;
            continue;
        }
        switch (c) {
        case 'm': a->model_dir = optarg; break;
        case 'd': run->data = optarg; break;
        case 'o': run->out = optarg; break;
        case 'p':
            if (!strcmp(optarg, "prompt")) a->proposer = TF_PROPOSER_PROMPT;
            else if (!strcmp(optarg, "tool")) a->proposer = TF_PROPOSER_TOOL;
            else if (!strcmp(optarg, "model")) a->proposer = TF_PROPOSER_MODEL;
            else return cli_usage_error("annotate", "--proposer is prompt, tool or model");
            break;
        case 'S': if (cli_float(optarg, &a->tau_s)) return cli_usage_error("annotate", "--tau-s wants a number"); break;
        case 'F': if (cli_float(optarg, &a->tau_f)) return cli_usage_error("annotate", "--tau-f wants a number"); a->tau_f_set = 1; break;
        case 'k': if (cli_int(optarg, 0, 100000, &a->top_k)) return cli_usage_error("annotate", "--top-k wants 0..100000"); break;
        case 'n': if (cli_int(optarg, 0, 1000, &a->samples)) return cli_usage_error("annotate", "--samples wants 0..1000"); break;
        case 'K': if (cli_int(optarg, 0, 100000, &a->max_calls)) return cli_usage_error("annotate", "--max-calls wants 0..100000"); break;
        case 'x': if (a->n_sets >= TF_MAX_TOOLS) return cli_usage_error("annotate", "at most %d --set", TF_MAX_TOOLS); a->sets[a->n_sets++] = optarg; break;
        case 'M': if (cli_int(optarg, 1, 1L << 50, &run->max_docs)) return cli_usage_error("annotate", "--max-docs wants a positive integer"); break;
        case 'P':
            if (!strcmp(optarg, "prefix")) a->placement = TF_PLACE_PREFIX;
            else if (!strcmp(optarg, "inline")) a->placement = TF_PLACE_INLINE;
            else return cli_usage_error("annotate", "--placement is prefix or inline");
            break;
        case 'r': run->rejected = optarg; break;
        case 's': if (cli_int(optarg, 0, 1L << 62, &v)) return cli_usage_error("annotate", "--seed wants an integer >= 0"); a->seed = (uint64_t)v; break;
        case 'R': run->resume = 1; break;
        case 'f': run->force = 1; break;
        case 'h' + 256:
            if (cli_shard(optarg, &run->shard_k, &run->shard_n))
                return cli_usage_error("annotate", "--shard wants K/N with 0 <= K < N");
            a->shard_set = 1;
            break;
        case 'b': if (cli_int(optarg, 1, 4096, &a->batch)) return cli_usage_error("annotate", "--batch wants 1..4096"); break;
        case 'j': a->json = 1; break;
        case 't': if (cli_int(optarg, 1, 1024, &a->threads)) return cli_usage_error("annotate", "--threads wants 1..1024"); break;
        case 'T': if (cli_float(optarg, &a->temperature) || a->temperature < 0) return cli_usage_error("annotate", "--temperature wants a number >= 0"); break;
        case 'c': if (cli_int(optarg, 1, 1024, &a->call_tokens)) return cli_usage_error("annotate", "--max-call-tokens wants 1..1024"); break;
        case 'q': run->quiet = 1; break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("annotate", "unknown option");
        }
    }
    if (cli_no_arguments("annotate", argc, argv, optind)) return CLI_USAGE;
    if (!a->model_dir || !run->data || !run->out) return cli_usage_error("annotate", "--model, --data and --out are required");
    if (run->resume && run->force) return cli_usage_error("annotate", "--resume continues OUT and --force replaces it: give one");
    *done = 0;
    return CLI_OK;
}

static int print_json(const annotate_args *a, const annotate_outcome *o) {
    const tf_annotate_summary *sum = &o->sum;
    const tf_annotate_options *opt = &a->run.opt;
    cli_json j;
    cli_json_begin(&j, stdout);
    cli_json_int(&j, "documents", sum->docs);
    cli_json_int(&j, "documents_written", sum->docs_written);
    cli_json_int(&j, "documents_too_long", sum->too_long);
    cli_json_number(&j, "seconds", "%.3f", sum->seconds);
    cli_json_number(&j, "documents_per_s", "%.3f", sum->seconds > 0 ? sum->docs_run / sum->seconds : 0.0);
    cli_json_array(&j, "tools");
    for (int t = 0; t < o->set.n; t++) {
        const tf_tool_thresholds *th = &opt->th[t];
        cli_json_object(&j, NULL);
        cli_json_string(&j, "tool", o->set.tools[t]->name);
        cli_json_int(&j, "candidates", sum->proposed[t]);
        cli_json_int(&j, "executed", sum->executed[t]);
        cli_json_int(&j, "no_result", sum->proposed[t] - sum->executed[t] - sum->timed_out[t]);
        cli_json_int(&j, "timed_out", sum->timed_out[t]);
        cli_json_int(&j, "kept", sum->kept[t]);
        cli_json_int(&j, "displaced", sum->displaced[t]);
        cli_json_number(&j, "mean_score", "%.4f", sum->kept[t] ? sum->score_sum[t] / sum->kept[t] : 0.0);
        cli_json_number(&j, "tau_s", "%g", th->tau_s);
        cli_json_number(&j, "tau_f", "%g", th->tau_f);
        cli_json_int(&j, "top_k", th->top_k);
        cli_json_int(&j, "samples", th->samples);
        cli_json_int(&j, "max_calls", th->max_calls);
        cli_json_close(&j);
    }
    cli_json_close(&j);
    // the run's settings, for `toolformer report`
    static const char *const PROPOSERS[] = {"prompt", "tool", "model"};
    cli_json_object(&j, "settings");
    cli_json_string(&j, "model", a->model_dir);
    cli_json_string(&j, "data", a->run.data);
    cli_json_string(&j, "proposer", PROPOSERS[opt->proposer]);
    cli_json_string(&j, "placement", opt->placement == TF_PLACE_INLINE ? "inline" : "prefix");
    cli_json_uint(&j, "seed", (unsigned long long)opt->seed);
    cli_json_number(&j, "temperature", "%g", opt->temperature);
    cli_json_int(&j, "max_call_tokens", opt->max_call_tokens);
    cli_json_string(&j, "version", TF_VERSION);
    return cli_json_end(&j, "annotate");
}

static void print_text(const annotate_outcome *o) {
    const tf_annotate_summary *sum = &o->sum;
    printf("%ld documents, %ld written with calls (%.1f documents/s%s)\n", sum->docs, sum->docs_written,
           sum->seconds > 0 ? sum->docs_run / sum->seconds : 0.0, sum->docs_run < sum->docs ? " in this run" : "");
    printf("%-12s %10s %10s %10s %10s %11s\n", "tool", "candidates", "executed", "kept", "displaced", "mean score");
    for (int t = 0; t < o->set.n; t++)
        printf("%-12s %10ld %10ld %10ld %10ld %11.3f\n", o->set.tools[t]->name, sum->proposed[t], sum->executed[t],
               sum->kept[t], sum->displaced[t], sum->kept[t] ? sum->score_sum[t] / sum->kept[t] : 0.0);
}

// The warnings a summary carries: no documents, or documents skipped as too long.
static void warn(const annotate_args *a, const annotate_outcome *o) {
    if (o->sum.docs == 0)
        fprintf(stderr, "toolformer annotate: warning: %s holds no documents%s\n", a->run.data,
                a->run.shard_n > 1 ? " for this shard" : "");
    if (o->sum.too_long > 0)
        fprintf(stderr, "toolformer annotate: warning: %ld of %ld documents were skipped: longer than the model's "
                "context of %d tokens (with the tool's prompt and a call), or than %zu MiB; split them to annotate "
                "them\n", o->sum.too_long, o->sum.docs, o->m->cfg.n_positions, TF_MAX_DOCUMENT_BYTES >> 20);
}

int cmd_annotate(int argc, char **argv) {
    annotate_args a;
    int done, rc = parse(argc, argv, &a, &done);
    if (done) return rc;
    tf_error err = {0};
    if (tf_dist_init(&argc, &argv, &err)) return cli_fail(&err);
    annotate_outcome o;
    rc = annotate_execute(&a, &o);
    if (rc == CLI_OK && o.report) {
        warn(&a, &o);
        if (a.json) rc = print_json(&a, &o);
        else print_text(&o);
    }
    annotate_done(&o, rc);
    return rc;
}
