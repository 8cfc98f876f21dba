// cmd_eval.c — `toolformer eval`: a task in the paper's style, with tools on, disabled, or none.
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tf_eval.h"
#include "tf_outguard.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: toolformer eval --model DIR --task math|dates|facts|ppl --data FILE [--tools LIST]\n"
            "                       [--disable-tools | --no-tools] [--api-top-k K] [--max-new N]\n"
            "                       [--max-examples N] [--details FILE [--force]] [--json] [tool options]\n"
            "                       [--dtype fp32|bf16] [--mmap|--mmap-copy] [--progress auto|bar|lines|none] [--quiet]\n\n"
            "Zero-shot, greedy, at most one call, a call started whenever \" [\" is among the top-k (k = 10)\n"
            "tokens (Toolformer, section 4.2). Data: JSONL {\"prompt\", \"answer\", \"date\"} per line;\n"
            "for ppl, {\"text\"} per line. Metrics (Appendix C): math, the first number generated (after\n"
            "\"=\" when there is an equation); facts and dates, the answer within the first 5 words;\n"
            "ppl, perplexity of the plain text with calls disabled. Call rates are per tool.\n"

            "  --disable-tools   Toolformer (disabled): p(\" [\") = 0\n"
            "  --no-tools        plain decoding even with tools listed\n"
            "  --max-new N       tokens per answer (default 24; decoding also stops at a newline)\n"
            "  --details FILE    one JSON line per example (prompt, answer, generated, correct, calls); an\n"
            "                    existing FILE is refused unless --force\n"
            "  --force           replace an existing --details FILE\n"
            "  --max-examples N  evaluate the first N examples only\n"
            "  --api-top-k K     start a call when \" [\" is among the K most likely tokens (default 10)\n"
            "  --words N         facts and dates: the answer must be within the first N words (default 5)\n"
            "  --threads N       compute threads (default: the physical cores)\n"
            "  --quiet           no progress on stderr (--progress none)\n"
            "  --json            print the result as JSON\n" CLI_PROGRESS_HELP CLI_MODEL_HELP
            "The tools the model may call (without --tools it decodes without tools):\n" CLI_TOOL_HELP);
}

int cmd_eval(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", 1, 0, 'm'},         {"task", 1, 0, 'k'},     {"data", 1, 0, 'd'},      {"disable-tools", 0, 0, 'D'},
        {"no-tools", 0, 0, 'N'},      {"api-top-k", 1, 0, 'K'}, {"max-new", 1, 0, 'n'},  {"max-examples", 1, 0, 'x'},
        {"details", 1, 0, 'o'},       {"json", 0, 0, 'j'},     {"threads", 1, 0, 't'},   {"words", 1, 0, 'w'},
        {"quiet", 0, 0, 'q'},         {"force", 0, 0, 'f'},    {"help", 0, 0, 'h'},     CLI_TOOL_OPTIONS,         CLI_MODEL_OPTIONS,        CLI_PROGRESS_OPTION, {0, 0, 0, 0}};
    const char *model_dir = NULL, *task = NULL, *data = NULL, *details = NULL;
    int json = 0, c, h, force = 0;
    long v, threads = 0;
    tf_eval_options o;
    tf_eval_defaults(&o);
    cli_tools tools = {0};
    cli_model_opts mo = {TF_DTYPE_FP32, 0, NULL};
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if ((h = cli_tools_option(&tools, c, optarg, "eval")) || (h = cli_model_option(&mo, c, optarg, "eval")) ||
            (h = cli_progress_option(c, optarg, "eval"))) {
            if (h < 0) return CLI_USAGE;
            continue;
        }
        switch (c) {
        case 'm': model_dir = optarg; break;
        case 'k': task = optarg; break;
        case 'd': data = optarg; break;
        case 'D': o.gen.disable = 1; break;
        case 'N': o.gen.no_tools = 1; break;
        case 'K': if (cli_int(optarg, 0, 1 << 20, &v)) return cli_usage_error("eval", "--api-top-k wants an integer >= 0"); o.gen.api_top_k = (int)v; break;
        case 'n': if (cli_int(optarg, 1, 1 << 20, &v)) return cli_usage_error("eval", "--max-new wants a positive integer"); o.gen.max_new = (int)v; break;
        case 'x': if (cli_int(optarg, 1, 1L << 40, &o.max_examples)) return cli_usage_error("eval", "--max-examples wants a positive integer"); break;
        case 'w': if (cli_int(optarg, 1, 1000, &v)) return cli_usage_error("eval", "--words wants 1..1000"); o.n_words = (int)v; break;
        case 'o': details = optarg; break;
        case 'j': json = 1; break;
        case 'f': force = 1; break;
        case 'q': o.quiet = 1; break;
        case 't': if (cli_int(optarg, 1, 1024, &threads)) return cli_usage_error("eval", "--threads wants 1..1024"); break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("eval", "unknown option");
        }
    }
    if (cli_no_arguments("eval", argc, argv, optind)) return CLI_USAGE;
    if (!model_dir || !task || !data) return cli_usage_error("eval", "--model, --task and --data are required");
    int t = tf_task_parse(task);
    if (t < 0) return cli_usage_error("eval", "--task is math, dates, facts or ppl");
    o.task = (tf_task)t;
    tf_set_threads((int)threads);
    tf_error err = {0};
    tf_toolset set = {0};
    tf_model *m = NULL;
    int rc = CLI_OK;
    tf_outguard g;  // the output rule (tf_outguard.h), before anything is loaded or written
    tf_guard_init(&g, "eval", force ? TF_OUT_FORCE : TF_OUT_NEW, "replace it with --force or choose another --details");
    if (tf_guard_input(&g, "--data", data, &err) || tf_guard_input(&g, "--model", model_dir, &err) ||
        tf_guard_output(&g, "--details", details, 0, &err) || tf_guard_check(&g, &err) ||
        (details && tf_guard_lock(&g, details, &err)))
        goto fail;
    const tf_tokenizer *tok = cli_tokenizer(model_dir, &err);
    if (!tok || cli_tools_build(&tools, &set, 0, &err) || !(m = cli_load_model(model_dir, &mo, &err))) goto fail;
    if (details && !(o.details = fopen(details, "w"))) {
        tf_errorf(&err, TF_EIO, "%s: cannot open for writing: %s", details, strerror(errno));
        goto fail;
    }
    tf_eval_result r;
    if (tf_eval_run(m, tok, &set, data, &o, &r, &err)) goto fail;
    const char *mode = o.gen.no_tools || set.n == 0 ? "none" : o.gen.disable ? "disabled" : "on";
    if (r.too_long)
        fprintf(stderr, "toolformer: warning: %ld prompts leave no room in the model's context of %d tokens: "
                "not scored (\"too_long\")\n", r.too_long, m->cfg.n_positions);
    if (json) {
        cli_json j;
        cli_json_begin(&j, stdout);
        cli_json_string(&j, "task", task);
        cli_json_string(&j, "tools", mode);
        cli_json_int(&j, "n", r.n);
        if (o.task == TF_TASK_PPL) {
            cli_json_int(&j, "tokens", r.tokens);
            cli_json_number(&j, "mean_nll", "%.6f", r.mean_nll);
            cli_json_number(&j, "ppl", "%.4f", r.ppl);
        } else {
            cli_json_int(&j, "correct", r.correct);
            cli_json_number(&j, "accuracy", "%.4f", r.accuracy);
            cli_json_number(&j, "call_rate", "%.4f", r.n ? (double)r.any_call / r.n : 0.0);
            cli_json_object(&j, "call_rate_per_tool");
            for (int k = 0; k < set.n; k++)
                cli_json_number(&j, set.tools[k]->name, "%.4f", r.n ? (double)r.with_call[k] / r.n : 0.0);
            cli_json_close(&j);
        }
        if (r.too_long) cli_json_int(&j, "too_long", r.too_long);
        cli_json_number(&j, "seconds", "%.2f", r.seconds);
        cli_json_string(&j, "model", model_dir);
        cli_json_string(&j, "data", data);
        cli_json_string(&j, "version", TF_VERSION);
        rc = cli_json_end(&j, "eval");
    } else if (o.task == TF_TASK_PPL) {
        printf("ppl: %ld documents, %ld tokens, mean NLL %.4f, perplexity %.3f\n", r.n, r.tokens, r.mean_nll, r.ppl);
    } else {
        printf("%s (tools %s): %ld/%ld correct = %.1f%%, calls in %.1f%% of examples\n", task, mode, r.correct, r.n,
               100 * r.accuracy, r.n ? 100.0 * r.any_call / r.n : 0.0);
        for (int k = 0; k < set.n; k++)
            printf("  %-12s call rate %.1f%%\n", set.tools[k]->name, r.n ? 100.0 * r.with_call[k] / r.n : 0.0);
    }
    goto done;
fail:
    rc = cli_fail(&err);
done:
    if (o.details && tf_fclose_checked(o.details, details, &err) && rc == CLI_OK) rc = cli_fail(&err);
    tf_guard_release(&g);
    tf_toolset_free(&set);
    tf_model_free(m);
    return rc;
}
