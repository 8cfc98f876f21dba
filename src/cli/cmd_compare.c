// cmd_compare.c — `toolformer compare`: the three losses of the Toolformer filter (with result,
// without result, plain text) for one call at one place of a text, with the call as a prefix (the
// filter's placement) and inline, over exactly the same continuation tokens.
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tf_pipeline.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: toolformer compare --model DIR --text TEXT --call 'Tool(input)' --at 'TEXT BEFORE'\n"
            "                          [--date YYYY-MM-DD] [--result R] [--tau-f F] [--json] [tool options]\n"
            "                          [--dtype fp32|bf16] [--mmap|--mmap-copy]\n\n"
            "Places the call right after the first occurrence of --at (which must end on a token boundary),\n"
            "runs the tool (or takes --result), and prints the filter's losses over the next 5 tokens\n"
            "x_i..x_{i+4}, weighted 1/3, 4/15, 1/5, 2/15, 1/15 (Schick et al. 2023, section 2):\n"
            "  with_result     L(e(c, r)),  without_result  L(e(c, eps)),  plain  L(eps)\n"
            "each with the call as a prefix (the filter's placement; joined to the text by a newline) and\n"
            "inline. score = min(plain, without_result) - with_result (prefix); passes when score >= tau_f.\n"
            "  --date D     the document's date (Calendar)\n"
            "  --result R   use R as the call's result instead of running the tool\n"
            "  --tau-f F    filtering threshold (default: the tool's, 1.0 or 0.5)\n"            "  --threads N  compute threads (default: the physical cores)\n"
            "  --json       print variants (name, placement, context_ids, continuation_ids, loss), tau_f,\n"
            "               score, passes\n" CLI_MODEL_HELP CLI_TOOL_HELP);
}

static const char *VARIANT_NAMES[TF_NUM_VARIANTS] = {"with_result", "without_result", "plain"};

typedef struct {
    const char *model_dir, *text, *call, *at, *date, *result;
    double tau_f;  // < 0: the tool's default
    long threads;
    int json;
    cli_tools tools;
    cli_model_opts model;
} compare_args;

// Parses and checks the command line into a. *done = 1 when the command is over (--help printed, or a
// usage error): the return value is then its exit code.
static int parse(int argc, char **argv, compare_args *a, int *done) {
    static const struct option opts[] = {{"model", 1, 0, 'm'},  {"text", 1, 0, 't'},   {"call", 1, 0, 'c'},
                                         {"at", 1, 0, 'a'},     {"date", 1, 0, 'd'},   {"result", 1, 0, 'r'},
                                         {"tau-f", 1, 0, 'f'},  {"json", 0, 0, 'j'},   {"threads", 1, 0, 'n'},
                                         {"help", 0, 0, 'h'},   CLI_TOOL_OPTIONS,      CLI_MODEL_OPTIONS,
                                         {0, 0, 0, 0}};
    int c, h;
    *a = (compare_args){.tau_f = -1, .model = {TF_DTYPE_FP32, 0, NULL}};
    *done = 1;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if ((h = cli_tools_option(&a->tools, c, optarg, "compare")) || (h = cli_model_option(&a->model, c, optarg, "compare"))) {
            if (h < 0) return CLI_USAGE;
            continue;
        }
        switch (c) {
        case 'm': a->model_dir = optarg; break;
        case 't': a->text = optarg; break;
        case 'c': a->call = optarg; break;
        case 'a': a->at = optarg; break;
        case 'd': a->date = optarg; break;
        case 'r': a->result = optarg; break;
        case 'f': if (cli_float(optarg, &a->tau_f)) return cli_usage_error("compare", "--tau-f wants a number"); break;
        case 'j': a->json = 1; break;
        case 'n': if (cli_int(optarg, 1, 1024, &a->threads)) return cli_usage_error("compare", "--threads wants 1..1024"); break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("compare", "unknown option");
        }
    }
    if (cli_no_arguments("compare", argc, argv, optind)) return CLI_USAGE;
    if (!a->model_dir || !a->text || !a->call || !a->at)
        return cli_usage_error("compare", "--model, --text, --call and --at are required");
    if (a->result && (strchr(a->result, ']') || strchr(a->result, '[') || strstr(a->result, "->")))
        return cli_usage_error("compare", "--result '%s' holds '[', ']' or '->', which would end the call's text "
                               "early; give the result without them", a->result);
    *done = 0;
    return CLI_OK;
}

// The tools for running the call: the selected ones, or (none selected) the tool the call names.
static int make_tools(void *ctx, const char *tool_name, tf_toolset *set, tf_error *err) {
    cli_tools t = *(const cli_tools *)ctx;
    if (!t.list && !t.n_external) t.list = tool_name;
    return cli_tools_build(&t, set, 1, err);
}

static int print_json(const tf_compare_result *r, size_t char_pos) {
    cli_json j;
    cli_json_begin(&j, stdout);
    cli_json_string(&j, "call", r->call_text + 1);
    cli_json_int(&j, "token_pos", r->token_pos);
    cli_json_uint(&j, "char_pos", char_pos);
    cli_json_array(&j, "variants");
    for (int k = 0; k < 2 * TF_NUM_VARIANTS; k++) {
        cli_json_object(&j, NULL);
        cli_json_string(&j, "name", VARIANT_NAMES[k % TF_NUM_VARIANTS]);
        cli_json_string(&j, "placement", k < TF_NUM_VARIANTS ? "prefix" : "inline");
        cli_json_ids(&j, "context_ids", r->rows[k].ids, r->rows[k].cont_start);
        cli_json_ids(&j, "continuation_ids", r->rows[k].ids + r->rows[k].cont_start, r->rows[k].n_cont);
        cli_json_number(&j, "loss", "%.6f", r->loss[k]);
        cli_json_close(&j);
    }
    cli_json_close(&j);
    cli_json_number(&j, "tau_f", "%g", r->tau_f);
    cli_json_number(&j, "score", "%.6f", r->score);
    cli_json_number(&j, "score_inline", "%.6f", r->score_inline);
    cli_json_bool(&j, "passes", r->passes);
    return cli_json_end(&j, "compare");
}

static void print_text(const tf_compare_result *r, size_t char_pos, const tf_tokenizer *tok) {
    tf_error err = {0};
    char *cont = tf_tokenizer_decode(tok, r->x + r->token_pos, r->rows[0].n_cont, NULL, &err);
    printf("call      %s\n", r->call_text + 1);
    printf("position  token %d (byte %zu); continuation scored: \"%s\"\n\n", r->token_pos, char_pos, cont ? cont : "?");
    free(cont);
    printf("%-16s %10s %10s\n", "loss", "prefix", "inline");
    for (int v = 0; v < TF_NUM_VARIANTS; v++)
        printf("%-16s %10.4f %10.4f\n", VARIANT_NAMES[v], r->loss[v], r->loss[TF_NUM_VARIANTS + v]);
    printf("\nL- = min(plain, without_result) = %.4f   L+ = %.4f   score L- - L+ = %.4f   tau_f = %g   %s\n",
           r->loss_minus, r->loss[TF_VARIANT_WITH_RESULT], r->score, r->tau_f, r->passes ? "KEEP" : "DISCARD");
}

int cmd_compare(int argc, char **argv) {
    compare_args a;
    int done, rc = parse(argc, argv, &a, &done);
    if (done) return rc;
    tf_set_threads((int)a.threads);
    // the call, and where it goes: right after the first occurrence of --at
    tf_error err = {0};
    tf_call call = {0};
    size_t cl = strlen(a.call);
    char *wrapped = malloc(cl + 3);
    if (!wrapped) return CLI_FAIL;
    snprintf(wrapped, cl + 3, "[%s]", a.call);
    int prc = tf_call_parse(wrapped, cl + 2, &call, &err);
    free(wrapped);
    if (prc) return cli_usage_error("compare", "--call '%s' is not a call like 'Calendar()' or 'Calculator(2 + 3)'", a.call);
    const char *hit = strstr(a.text, a.at);
    if (!hit) {
        tf_call_free(&call);
        return cli_usage_error("compare", "--at '%s' does not occur in the text", a.at);
    }
    tf_compare_request req = {.text = a.text, .call = &call, .char_pos = (size_t)(hit - a.text) + strlen(a.at),
                              .result = a.result, .date = a.date, .tau_f = a.tau_f,
                              .make_tools = make_tools, .make_tools_ctx = &a.tools};
    tf_compare_result res = {0};
    tf_model *m = NULL;
    const tf_tokenizer *tok = cli_tokenizer(a.model_dir, &err);
    if (!tok || !(m = cli_load_model(a.model_dir, &a.model, &err)) || tf_compare_call(m, tok, &req, &res, &err)) {
        rc = cli_fail(&err);
    } else if (a.json) {
        rc = print_json(&res, req.char_pos);
    } else {
        print_text(&res, req.char_pos, tok);
    }
    tf_compare_result_free(&res);
    tf_call_free(&call);
    tf_model_free(m);
    return rc;
}
