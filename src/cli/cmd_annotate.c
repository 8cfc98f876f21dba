// cmd_annotate.c — `toolformer annotate`: C -> C* (sample or propose calls, execute, filter, merge).
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "tf_dist.h"
#include "tf_outguard.h"
#include "tf_pipeline.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: toolformer annotate --model DIR --data corpus.jsonl --tools LIST --out augmented.jsonl\n"
            "                           [--proposer prompt|tool|model] [--tau-s F] [--tau-f F] [--top-k K]\n"
            "                           [--samples M] [--max-calls N] [--set TOOL.KEY=VALUE] [--max-docs N]\n"
            "                           [--placement prefix|inline]\n"
            "                           [--rejected FILE] [--seed S] [--resume|--force] [--shard K/N] [--batch B] [--json]\n"
            "                           [--progress auto|bar|lines|none] [--quiet]\n"
            "                           [tool options]\n"
            "                           [--dtype fp32|bf16] [--mmap]\n\n"
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

static int set_threshold(tf_tool_thresholds *th, const char *key, double v) {
    if (!strcmp(key, "tau_s")) th->tau_s = (float)v;
    else if (!strcmp(key, "tau_f")) th->tau_f = (float)v;
    else if (!strcmp(key, "top_k") && v >= 0 && v <= 100000) th->top_k = (int)v;
    else if (!strcmp(key, "samples") && v >= 0 && v <= 1000) th->samples = (int)v;
    else if (!strcmp(key, "max_calls") && v >= 0 && v <= 100000) th->max_calls = (int)v;
    else return -1;
    return 0;
}

// Under mpirun: the summary of all shards on every rank (sums; the longest time; complete counts
// the finished shards).
static int gather_summary(tf_annotate_summary *s, int n_tools, tf_error *err) {
    double v[5 + 6 * TF_MAX_TOOLS];
    int n = 0;
    v[n++] = (double)s->docs;
    v[n++] = (double)s->docs_written;
    v[n++] = s->complete;
    v[n++] = (double)s->too_long;
    v[n++] = (double)s->docs_run;
    for (int t = 0; t < n_tools && t < TF_MAX_TOOLS; t++) {
        v[n++] = (double)s->proposed[t];
        v[n++] = (double)s->executed[t];
        v[n++] = (double)s->kept[t], v[n++] = (double)s->displaced[t];
        v[n++] = (double)s->timed_out[t];
        v[n++] = s->score_sum[t];
    }
    if (tf_dist_sum_f64(v, (size_t)n, err) || tf_dist_max_f64(&s->seconds, 1, err)) return err->code;
    n = 0;
    s->docs = (long)v[n++];
    s->docs_written = (long)v[n++];
    s->complete = (int)v[n++];
    s->too_long = (long)v[n++];
    s->docs_run = (long)v[n++];
    for (int t = 0; t < n_tools && t < TF_MAX_TOOLS; t++) {
        s->proposed[t] = (long)v[n++];
        s->executed[t] = (long)v[n++];
        s->kept[t] = (long)v[n++], s->displaced[t] = (long)v[n++];
        s->timed_out[t] = (long)v[n++];
        s->score_sum[t] = v[n++];
    }
    return TF_OK;
}

// The prompt proposer puts each tool's few-shot prompt before the document: a prompt that leaves no
// room in the model's context for a document and a call makes every document "too long". Warns
// (before the run, not only in its summary) for the tools whose prompt does not fit, naming
// --proposer tool; -1 with err set only when a prompt cannot be tokenized.
static int check_prompts_fit(const tf_toolset *set, const tf_tokenizer *tok, const tf_model *m, int call_tokens,
                             tf_error *err) {
    int fit = 0, n_pos = m->cfg.n_positions;
    char names[256] = "";
    long longest = 0;
    for (int t = 0; t < set->n; t++) {
        const char *prompt = set->tools[t]->prompt;
        int *ids = NULL, n = 0;
        if (!prompt) continue;  // reported when it is used
        if (tf_tokenizer_encode(tok, prompt, strlen(prompt), 0, &ids, &n, err)) return -1;
        free(ids);
        if (n + 2 + call_tokens + 1 <= n_pos) {
            fit++;
            continue;
        }
        if (n > longest) longest = n;
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s (%d tokens)", l ? ", " : "", set->tools[t]->name, n);
    }
    if (!names[0]) return 0;
    fprintf(stderr, "toolformer annotate: warning: --proposer prompt: the few-shot prompt of %s is longer than the "
            "model's context of %d tokens with a document and a call (--max-call-tokens %d), so %s; use --proposer "
            "tool (the tools propose the calls), or a model with a longer context\n", names, n_pos, call_tokens,
            fit ? "those tools skip every document" : "every document will be skipped");
    return 0;
}

// Joins path.shard-K-of-N for every K into path.
static int merge_all(const char *path, int world, tf_error *err) {
    char **names = calloc((size_t)world, sizeof *names);
    int rc = names ? TF_OK : tf_errorf(err, TF_ENOMEM, "out of memory");
    for (int k = 0; !rc && k < world; k++) {
        size_t len = strlen(path) + 48;
        if (!(names[k] = malloc(len))) rc = tf_errorf(err, TF_ENOMEM, "out of memory");
        else snprintf(names[k], len, "%s.shard-%d-of-%d", path, k, world);
    }
    if (!rc) rc = tf_merge_shards(path, (const char *const *)names, world, 0, NULL, err);
    for (int k = 0; names && k < world; k++) free(names[k]);
    free(names);
    return rc;
}

int cmd_annotate(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", 1, 0, 'm'},   {"data", 1, 0, 'd'},     {"out", 1, 0, 'o'},      {"proposer", 1, 0, 'p'},
        {"tau-s", 1, 0, 'S'},   {"tau-f", 1, 0, 'F'},    {"top-k", 1, 0, 'k'},    {"samples", 1, 0, 'n'}, {"max-calls", 1, 0, 'K'},
        {"set", 1, 0, 'x'},     {"max-docs", 1, 0, 'M'}, {"rejected", 1, 0, 'r'}, {"seed", 1, 0, 's'},
        {"resume", 0, 0, 'R'},  {"force", 0, 0, 'f'}, {"shard", 1, 0, 'h' + 256}, {"batch", 1, 0, 'b'}, {"json", 0, 0, 'j'},
        {"threads", 1, 0, 't'}, {"temperature", 1, 0, 'T'}, {"max-call-tokens", 1, 0, 'c'}, {"quiet", 0, 0, 'q'},
        {"placement", 1, 0, 'P'}, {"help", 0, 0, 'h'},    CLI_TOOL_OPTIONS,        CLI_MODEL_OPTIONS,       CLI_PROGRESS_OPTION, {0, 0, 0, 0}};
    const char *model_dir = NULL, *sets[32];
    int n_sets = 0, json = 0, c, h, tau_f_set = 0, shard_set = 0;
    double tau_s = -1, tau_f = -1, temp = 1.0;
    long top_k = -1, samples = -1, max_calls = -1, v, threads = 0, call_tokens = 32, batch = 16;
    tf_annotate_run run = {.shard_k = 0, .shard_n = 1};
    tf_proposer proposer = TF_PROPOSER_PROMPT;
    tf_placement placement = TF_PLACE_PREFIX;
    uint64_t seed = 1;
    cli_model_opts mo = {TF_DTYPE_FP32, 0, NULL};
    cli_tools tools = {0};
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if ((h = cli_tools_option(&tools, c, optarg, "annotate")) || (h = cli_model_option(&mo, c, optarg, "annotate")) ||
            (h = cli_progress_option(c, optarg, "annotate"))) {
            if (h < 0) return CLI_USAGE;
            continue;
        }
        switch (c) {
        case 'm': model_dir = optarg; break;
        case 'd': run.data = optarg; break;
        case 'o': run.out = optarg; break;
        case 'p':
            if (!strcmp(optarg, "prompt")) proposer = TF_PROPOSER_PROMPT;
            else if (!strcmp(optarg, "tool")) proposer = TF_PROPOSER_TOOL;
            else if (!strcmp(optarg, "model")) proposer = TF_PROPOSER_MODEL;
            else return cli_usage_error("annotate", "--proposer is prompt, tool or model");
            break;
        case 'S': if (cli_float(optarg, &tau_s)) return cli_usage_error("annotate", "--tau-s wants a number"); break;
        case 'F': if (cli_float(optarg, &tau_f)) return cli_usage_error("annotate", "--tau-f wants a number"); tau_f_set = 1; break;
        case 'k': if (cli_int(optarg, 0, 100000, &top_k)) return cli_usage_error("annotate", "--top-k wants 0..100000"); break;
        case 'n': if (cli_int(optarg, 0, 1000, &samples)) return cli_usage_error("annotate", "--samples wants 0..1000"); break;
        case 'K': if (cli_int(optarg, 0, 100000, &max_calls)) return cli_usage_error("annotate", "--max-calls wants 0..100000"); break;
        case 'x': if (n_sets >= 32) return cli_usage_error("annotate", "at most 32 --set"); sets[n_sets++] = optarg; break;
        case 'M': if (cli_int(optarg, 1, 1L << 50, &run.max_docs)) return cli_usage_error("annotate", "--max-docs wants a positive integer"); break;
        case 'P':
            if (!strcmp(optarg, "prefix")) placement = TF_PLACE_PREFIX;
            else if (!strcmp(optarg, "inline")) placement = TF_PLACE_INLINE;
            else return cli_usage_error("annotate", "--placement is prefix or inline");
            break;
        case 'r': run.rejected = optarg; break;
        case 's': if (cli_int(optarg, 0, 1L << 62, &v)) return cli_usage_error("annotate", "--seed wants an integer >= 0"); seed = (uint64_t)v; break;
        case 'R': run.resume = 1; break;
        case 'f': run.force = 1; break;
        case 'h' + 256:
            if (cli_shard(optarg, &run.shard_k, &run.shard_n))
                return cli_usage_error("annotate", "--shard wants K/N with 0 <= K < N");
            shard_set = 1;
            break;
        case 'b': if (cli_int(optarg, 1, 4096, &batch)) return cli_usage_error("annotate", "--batch wants 1..4096"); break;
        case 'j': json = 1; break;
        case 't': if (cli_int(optarg, 1, 1024, &threads)) return cli_usage_error("annotate", "--threads wants 1..1024"); break;
        case 'T': if (cli_float(optarg, &temp) || temp < 0) return cli_usage_error("annotate", "--temperature wants a number >= 0"); break;
        case 'c': if (cli_int(optarg, 1, 1024, &call_tokens)) return cli_usage_error("annotate", "--max-call-tokens wants 1..1024"); break;
        case 'q': run.quiet = 1; break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("annotate", "unknown option");
        }
    }
    if (cli_no_arguments("annotate", argc, argv, optind)) return CLI_USAGE;
    if (!model_dir || !run.data || !run.out) return cli_usage_error("annotate", "--model, --data and --out are required");
    if (run.resume && run.force) return cli_usage_error("annotate", "--resume continues OUT and --force replaces it: give one");
    run.model_dir = model_dir;
    tf_error err = {0};
    tf_toolset set = {0};
    tf_model *m = NULL;
    int rc = CLI_OK;
    if (tf_dist_init(&argc, &argv, &err)) return cli_fail(&err);
    // under mpirun: rank K is shard K/N, writing OUT.shard-K-of-N
    int world = tf_dist_size(), rank = tf_dist_rank();
    const char *out_all = run.out, *rej_all = run.rejected;
    char out_k[4096], rej_k[4096];
    if (world > 1) {
        if (shard_set) {
            rc = cli_usage_error("annotate", "--shard is taken from the rank under mpirun (rank K of N is shard K/N)");
            goto done;
        }
        run.shard_k = rank;
        run.shard_n = world;
        snprintf(out_k, sizeof out_k, "%s.shard-%d-of-%d", out_all, rank, world);
        run.out = out_k;
        if (rej_all) {
            snprintf(rej_k, sizeof rej_k, "%s.shard-%d-of-%d", rej_all, rank, world);
            run.rejected = rej_k;
        }
        if (rank) run.quiet = 1;
        // rank 0 joins the shards into OUT (and REJECTED) at the end: the output rule holds for them
        // too (no input among them; an existing one only with --resume or --force), checked before
        // any shard is written
        tf_outguard g;
        tf_guard_init(&g, "annotate", run.resume ? TF_OUT_RESUME : run.force ? TF_OUT_FORCE : TF_OUT_NEW,
                      "continue it with --resume, replace it with --force, or choose another --out");
        int grc = tf_guard_input(&g, "--data", run.data, &err) || tf_guard_input(&g, "--model", model_dir, &err) ||
                  tf_guard_output(&g, "--out", out_all, TF_OUT_REGULAR, &err) ||
                  tf_guard_output(&g, "--rejected", rej_all, TF_OUT_REGULAR, &err) || tf_guard_check(&g, &err);
        tf_guard_release(&g);
        if (grc) goto fail;
        if (!threads && !getenv("OMP_NUM_THREADS")) {  // processes on one machine share its cores
            threads = tf_physical_cores() / tf_dist_local_size();
            if (threads < 1) threads = 1;
        }
    }
    tf_set_threads((int)threads);
    const tf_tokenizer *tok = cli_tokenizer(model_dir, &err);
    if (!tok || cli_tools_build(&tools, &set, 1, &err)) goto fail;
    tf_annotate_defaults(&run.opt, &set);
    run.opt.proposer = proposer;
    run.opt.placement = placement;
    run.opt.seed = seed;
    run.opt.temperature = (float)temp;
    run.opt.max_call_tokens = (int)call_tokens;
    run.opt.batch = (int)batch;
    for (int t = 0; t < set.n && t < TF_MAX_TOOLS; t++) {
        if (tau_s >= 0) run.opt.th[t].tau_s = (float)tau_s;
        if (tau_f_set) run.opt.th[t].tau_f = (float)tau_f;
        if (top_k >= 0) run.opt.th[t].top_k = (int)top_k;
        if (samples >= 0) run.opt.th[t].samples = (int)samples;
        if (max_calls >= 0) run.opt.th[t].max_calls = (int)max_calls;
    }
    for (int k = 0; k < n_sets; k++) {
        char name[64], key[32];
        double val;
        const char *dot = strchr(sets[k], '.'), *eq = strchr(sets[k], '=');
        tf_tool *tool = NULL;
        if (dot && eq && dot < eq && (size_t)(dot - sets[k]) < sizeof name && (size_t)(eq - dot - 1) < sizeof key) {
            snprintf(name, sizeof name, "%.*s", (int)(dot - sets[k]), sets[k]);
            snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
            tool = tf_toolset_find(&set, name);
        }
        int idx = -1;
        for (int t = 0; tool && t < set.n; t++)
            if (set.tools[t] == tool) idx = t;
        if (idx < 0 || cli_float(eq + 1, &val) || set_threshold(&run.opt.th[idx], key, val)) {
            rc = cli_usage_error("annotate", "--set '%s': want TOOL.KEY=VALUE with a selected tool and KEY one of "
                                 "tau_s, tau_f, top_k, samples, max_calls", sets[k]);
            goto done;
        }
    }
    if (!(m = cli_load_model(model_dir, &mo, &err))) goto fail;
    if (proposer == TF_PROPOSER_PROMPT && (rc = check_prompts_fit(&set, tok, m, (int)call_tokens, &err)) < 0) goto fail;
    rc = CLI_OK;
    char settings[1024], mpath[4096];
    snprintf(settings, sizeof settings, "today %s, index %016llx, qa-model %s, timeout %d ms, external %d",
             tools.opt.today ? tools.opt.today : "(the clock)",
             tools.opt.index_path ? (unsigned long long)tf_file_fingerprint(tools.opt.index_path) : 0ULL,
             tools.opt.qa_model ? tools.opt.qa_model : "-", tools.opt.timeout_ms, tools.n_external);
    run.settings = settings;
    run.model_id = tf_file_fingerprint(tf_path_join(mpath, sizeof mpath, model_dir, "model.safetensors")) ^
                   3 * tf_file_fingerprint(tf_path_join(mpath, sizeof mpath, model_dir, "config.json"));
    tf_annotate_summary sum;
    if (tf_annotate_corpus(m, tok, &set, &run, &sum, &err)) goto fail;
    if (world > 1) {
        if (gather_summary(&sum, set.n, &err)) goto fail;
        if (rank) goto done;
        if (sum.complete == world) {  // every shard is done: one file in corpus order, as one process writes
            if (merge_all(out_all, world, &err) || (rej_all && merge_all(rej_all, world, &err))) goto fail;
            fprintf(stderr, "annotate: %d shards merged into %s%s%s\n", world, out_all, rej_all ? " and " : "",
                    rej_all ? rej_all : "");
        } else {
            fprintf(stderr, "annotate: not every shard is finished (--max-docs?); continue with --resume, then "
                    "toolformer merge-shards\n");
        }
    }
    if (sum.docs == 0)
        fprintf(stderr, "toolformer annotate: warning: %s holds no documents%s\n", run.data,
                run.shard_n > 1 ? " for this shard" : "");
    if (sum.too_long > 0)
        fprintf(stderr, "toolformer annotate: warning: %ld of %ld documents were skipped: longer than the model's "
                "context of %d tokens (with the tool's prompt and a call), or than %zu MiB; split them to annotate "
                "them\n", sum.too_long, sum.docs, m->cfg.n_positions, TF_MAX_DOCUMENT_BYTES >> 20);
    if (json) {
        cli_json j;
        cli_json_begin(&j, stdout);
        cli_json_int(&j, "documents", sum.docs);
        cli_json_int(&j, "documents_written", sum.docs_written);
        cli_json_int(&j, "documents_too_long", sum.too_long);
        cli_json_number(&j, "seconds", "%.3f", sum.seconds);
        cli_json_number(&j, "documents_per_s", "%.3f", sum.seconds > 0 ? sum.docs_run / sum.seconds : 0.0);
        cli_json_array(&j, "tools");
        for (int t = 0; t < set.n; t++) {
            const tf_tool_thresholds *th = &run.opt.th[t];
            cli_json_object(&j, NULL);
            cli_json_string(&j, "tool", set.tools[t]->name);
            cli_json_int(&j, "candidates", sum.proposed[t]);
            cli_json_int(&j, "executed", sum.executed[t]);
            cli_json_int(&j, "no_result", sum.proposed[t] - sum.executed[t] - sum.timed_out[t]);
            cli_json_int(&j, "timed_out", sum.timed_out[t]);
            cli_json_int(&j, "kept", sum.kept[t]);
            cli_json_int(&j, "displaced", sum.displaced[t]);
            cli_json_number(&j, "mean_score", "%.4f", sum.kept[t] ? sum.score_sum[t] / sum.kept[t] : 0.0);
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
        cli_json_string(&j, "model", model_dir);
        cli_json_string(&j, "data", run.data);
        cli_json_string(&j, "proposer", PROPOSERS[run.opt.proposer]);
        cli_json_string(&j, "placement", run.opt.placement == TF_PLACE_INLINE ? "inline" : "prefix");
        cli_json_uint(&j, "seed", (unsigned long long)run.opt.seed);
        cli_json_number(&j, "temperature", "%g", run.opt.temperature);
        cli_json_int(&j, "max_call_tokens", run.opt.max_call_tokens);
        cli_json_string(&j, "version", TF_VERSION);
        rc = cli_json_end(&j, "annotate");
    } else {
        printf("%ld documents, %ld written with calls (%.1f documents/s%s)\n", sum.docs, sum.docs_written,
               sum.seconds > 0 ? sum.docs_run / sum.seconds : 0.0, sum.docs_run < sum.docs ? " in this run" : "");
        printf("%-12s %10s %10s %10s %10s %11s\n", "tool", "candidates", "executed", "kept", "displaced", "mean score");
        for (int t = 0; t < set.n; t++)
            printf("%-12s %10ld %10ld %10ld %10ld %11.3f\n", set.tools[t]->name, sum.proposed[t], sum.executed[t],
                   sum.kept[t], sum.displaced[t], sum.kept[t] ? sum.score_sum[t] / sum.kept[t] : 0.0);
    }
    goto done;
fail:
    rc = cli_fail(&err);
done:
    tf_toolset_free(&set);
    tf_model_free(m);
    if (rc != CLI_OK && rc != CLI_USAGE) tf_dist_abort(rc);  // the other processes would wait forever
    tf_dist_finalize();
    return rc;
}
