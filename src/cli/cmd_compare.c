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
            "                          [--dtype fp32|bf16] [--mmap]\n\n"
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

static const char *VARIANT_NAMES[3] = {"with_result", "without_result", "plain"};

int cmd_compare(int argc, char **argv) {
    static const struct option opts[] = {{"model", 1, 0, 'm'},  {"text", 1, 0, 't'},   {"call", 1, 0, 'c'},
                                         {"at", 1, 0, 'a'},     {"date", 1, 0, 'd'},   {"result", 1, 0, 'r'},
                                         {"tau-f", 1, 0, 'f'},  {"json", 0, 0, 'j'},   {"threads", 1, 0, 'n'},
                                         {"help", 0, 0, 'h'},   CLI_TOOL_OPTIONS,      CLI_MODEL_OPTIONS,
                                         {0, 0, 0, 0}};
    const char *model_dir = NULL, *text = NULL, *call_arg = NULL, *at = NULL, *date = NULL, *given = NULL;
    double tau_f = -1;
    long threads = 0;
    int json = 0, c, h;
    cli_tools tools = {0};
    cli_model_opts mo = {TF_DTYPE_FP32, 0, NULL};
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if ((h = cli_tools_option(&tools, c, optarg, "compare")) || (h = cli_model_option(&mo, c, optarg, "compare"))) {
            if (h < 0) return CLI_USAGE;
            continue;
        }
        switch (c) {
        case 'm': model_dir = optarg; break;
        case 't': text = optarg; break;
        case 'c': call_arg = optarg; break;
        case 'a': at = optarg; break;
        case 'd': date = optarg; break;
        case 'r': given = optarg; break;
        case 'f': if (cli_float(optarg, &tau_f)) return cli_usage_error("compare", "--tau-f wants a number"); break;
        case 'j': json = 1; break;
        case 'n': if (cli_int(optarg, 1, 1024, &threads)) return cli_usage_error("compare", "--threads wants 1..1024"); break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("compare", "unknown option");
        }
    }
    if (cli_no_arguments("compare", argc, argv, optind)) return CLI_USAGE;
    if (!model_dir || !text || !call_arg || !at)
        return cli_usage_error("compare", "--model, --text, --call and --at are required");
    if (given && (strchr(given, ']') || strchr(given, '[') || strstr(given, "->")))
        return cli_usage_error("compare", "--result '%s' holds '[', ']' or '->', which would end the call's text "
                               "early; give the result without them", given);
    tf_set_threads((int)threads);
    tf_error err = {0};
    int rc = CLI_OK;
    tf_model *m = NULL;
    tf_toolset set = {0};
    tf_call call = {0};
    int *x = NULL, nx = 0, *ids[2] = {NULL, NULL}, nids[2] = {0, 0}, *sep = NULL, nsep = 0, *rows[6] = {0};
    char *ztext[2] = {NULL, NULL}, result[TF_TOOL_RESULT_CAP];
    // the call
    size_t cl = strlen(call_arg);
    char *wrapped = malloc(cl + 3);
    if (!wrapped) return CLI_FAIL;
    snprintf(wrapped, cl + 3, "[%s]", call_arg);
    int prc = tf_call_parse(wrapped, cl + 2, &call, &err);
    free(wrapped);
    if (prc) return cli_usage_error("compare", "--call '%s' is not a call like 'Calendar()' or 'Calculator(2 + 3)'", call_arg);
    // where it goes: right after the first occurrence of --at
    const char *hit = strstr(text, at);
    if (!hit) {
        tf_call_free(&call);
        return cli_usage_error("compare", "--at '%s' does not occur in the text", at);
    }
    size_t char_pos = (size_t)(hit - text) + strlen(at);
    const tf_tokenizer *tok = cli_tokenizer(model_dir, &err);
    if (!tok || !(m = cli_load_model(model_dir, &mo, &err))) goto fail;
    if (tf_tokenizer_encode(tok, text, strlen(text), 0, &x, &nx, &err)) goto fail;
    int pos = -1;
    size_t off = 0;
    for (int i = 0; i < nx && off <= char_pos; i++) {
        if (off == char_pos) pos = i;
        size_t bl = 0;
        tf_tokenizer_token_bytes(tok, x[i], &bl);
        off += bl;
    }
    if (pos < 1) {
        tf_errorf(&err, TF_EBADARG, "--at: byte %zu of the text is %s", char_pos,
                  char_pos == 0 ? "its start (the first token has nothing to predict it from)"
                  : char_pos >= strlen(text) ? "its end (no continuation to score)"
                                             : "inside a token; end --at on a token boundary (e.g. before a space)");
        goto fail;
    }
    // the result
    if (given) {
        snprintf(result, sizeof result, "%s", given);
    } else {
        cli_tools t2 = tools;
        if (!t2.list && !t2.n_external) t2.list = call.name;  // the tool the call names
        if (cli_tools_build(&t2, &set, 1, &err)) goto fail;
        tf_tool *tool = tf_toolset_find(&set, call.name);
        if (!tool) {
            tf_errorf(&err, TF_EBADARG, "no tool called '%s' is selected", call.name);
            goto fail;
        }
        tf_tool_context ctx = {date};
        if (tf_tool_execute(tool, call.input, &ctx, result, sizeof result, &err)) goto fail;
    }
    if (tau_f < 0) tau_f = tf_tool_default_thresholds(call.name).tau_f;
    ztext[0] = tf_call_text(call.name, call.input, result, 1);
    ztext[1] = tf_call_text(call.name, call.input, NULL, 1);
    for (int k = 0; k < 2; k++) {
        if (!ztext[k]) {
            tf_errorf(&err, TF_EBADARG, "the call %s(%s) with result '%s' cannot be written as call text", call.name,
                      call.input, k ? "" : result);
            goto fail;
        }
        if (tf_tokenizer_encode(tok, ztext[k], strlen(ztext[k]), 0, &ids[k], &nids[k], &err)) goto fail;
    }
    if (tf_tokenizer_encode(tok, "\n", 1, 0, &sep, &nsep, &err)) goto fail;
    // one window of x for all six rows, so that every variant scores the same continuation ids
    int cap = m->cfg.n_positions, s = tf_window_start(pos, nx, nids[0] + nsep, cap);
    tf_scored_row sr[6];
    for (int place = 0; place < 2; place++)
        for (int v = 0; v < 3; v++) {
            int r = 3 * place + v, cs0, nc;
            rows[r] = malloc(sizeof(int) * cap);
            int len = rows[r] ? tf_build_row(rows[r], cap, v < 2 ? ids[v] : NULL, v < 2 ? nids[v] : 0, sep, nsep, x, nx,
                                             pos, s, place ? TF_PLACE_INLINE : TF_PLACE_PREFIX, &cs0, &nc)
                              : -1;
            if (len < 0) {
                tf_errorf(&err, TF_EBADARG, "the call and the text do not fit the model's context (%d tokens)", cap);
                goto fail;
            }
            sr[r] = (tf_scored_row){rows[r], len, cs0, nc};
        }
    float loss[6];
    if (tf_score_rows(m, sr, 6, 6, loss, &err)) goto fail;
    float lminus = loss[2] < loss[1] ? loss[2] : loss[1], score = lminus - loss[0];
    int passes = score >= tau_f;
    if (json) {
        cli_json j;
        cli_json_begin(&j, stdout);
        cli_json_string(&j, "call", ztext[0] + 1);
        cli_json_int(&j, "token_pos", pos);
        cli_json_uint(&j, "char_pos", char_pos);
        cli_json_array(&j, "variants");
        for (int r = 0; r < 6; r++) {
            cli_json_object(&j, NULL);
            cli_json_string(&j, "name", VARIANT_NAMES[r % 3]);
            cli_json_string(&j, "placement", r < 3 ? "prefix" : "inline");
            cli_json_ids(&j, "context_ids", sr[r].ids, sr[r].cont_start);
            cli_json_ids(&j, "continuation_ids", sr[r].ids + sr[r].cont_start, sr[r].n_cont);
            cli_json_number(&j, "loss", "%.6f", loss[r]);
            cli_json_close(&j);
        }
        cli_json_close(&j);
        cli_json_number(&j, "tau_f", "%g", tau_f);
        cli_json_number(&j, "score", "%.6f", score);
        cli_json_number(&j, "score_inline", "%.6f", (loss[5] < loss[4] ? loss[5] : loss[4]) - loss[3]);
        cli_json_bool(&j, "passes", passes);
        rc = cli_json_end(&j, "compare");
    } else {
        char *cont = tf_tokenizer_decode(tok, x + pos, sr[0].n_cont, NULL, &err);
        printf("call      %s\n", ztext[0] + 1);
        printf("position  token %d (byte %zu); continuation scored: \"%s\"\n\n", pos, char_pos, cont ? cont : "?");
        free(cont);
        printf("%-16s %10s %10s\n", "loss", "prefix", "inline");
        for (int v = 0; v < 3; v++) printf("%-16s %10.4f %10.4f\n", VARIANT_NAMES[v], loss[v], loss[3 + v]);
        printf("\nL- = min(plain, without_result) = %.4f   L+ = %.4f   score L- - L+ = %.4f   tau_f = %g   %s\n",
               lminus, loss[0], score, tau_f, passes ? "KEEP" : "DISCARD");
    }
    goto done;
fail:
    rc = cli_fail(&err);
done:
    for (int r = 0; r < 6; r++) free(rows[r]);
    for (int k = 0; k < 2; k++) {
        free(ids[k]);
        free(ztext[k]);
    }
    free(sep);
    free(x);
    tf_call_free(&call);
    tf_toolset_free(&set);
    tf_model_free(m);
    return rc;
}
