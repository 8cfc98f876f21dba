// cmd_tool.c — `toolformer tool`: runs one tool once, from the command line, and prints its result.
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void usage(FILE *out) {
    fprintf(out,
        "usage: toolformer tool [options] [--] NAME [INPUT]\n"
        "       toolformer tool [options] --call '[Name(input)]'\n"
        "Runs one tool once on INPUT and prints its result (one line). A tool that gives no result\n"
        "(invalid input, nothing found, time limit) prints why on stderr and exits 1.\n\n"
        "  NAME                    calendar, calculator, wikisearch, qa, mt (any case), or a --tool name\n"
        "  INPUT                   the call's input; empty when omitted (Calendar takes none)\n"
        "  --name NAME             the same as the NAME argument\n"
        "  --input TEXT            the same as the INPUT argument; '-' reads it from stdin\n"
        "  --call '[Name(input)]'  a call in the paper's syntax; prints it completed: [Name(input) -> result]\n"
        "  --tools LIST            built-in tools to create, comma-separated (default: NAME if built in)\n"
        "  --tool NAME=COMMAND ARG...  an external tool: COMMAND runs once (no shell) and answers one JSON\n"
        "                          line per call, {\"tool\",\"input\"} -> {\"result\"} or {\"error\"} (repeatable)\n"
        "  --date YYYY-MM-DD       the document's date (Calendar)\n"
        "  --today YYYY-MM-DD      Calendar's date when there is no document date (default: the clock)\n"
        "  --index FILE.db         WikiSearch / QA index built by `toolformer index`\n"
        "  --qa-model DIR          QA reader model (default: the extractive rule)\n"
        "  --tool-timeout MS       per-call time limit (default: the tool's own; --timeout-ms is an alias)\n"
        "  --max-result N          cap on the result in bytes (default: the tool's own)\n"
        "  --json                  print {\"tool\", \"input\", \"result\"} (or \"error\") as one JSON line\n"
        "  --prompt                print the tool's few-shot sampling prompt instead of running it\n"
        "  -h, --help              this help\n"
        "  --                      ends the options: an INPUT may then start with '-'\n\n"
        "examples:\n"
        "  toolformer tool calculator '400 / 1400'            -> 0.29\n"
        "  toolformer tool calendar --date 2023-01-30         -> Today is Monday, January 30, 2023.\n"
        "  toolformer tool calculator -- '-7 + 2'             -> -5\n"
        "  toolformer tool --call '[Calculator(27 + 4 * 2)]'  -> [Calculator(27 + 4 * 2) -> 35]\n"
        "  toolformer tool --tool 'Units=python3 examples/tools/units.py' Units '5 km to miles'\n"
        "exit: 0 result printed, 1 no result or tool failure, 2 bad usage\n");
}

// Reads stdin into a malloc'd string (at most TF_TOOL_MAX_INPUT_BYTES + 1 bytes, so a longer input
// is still refused by the tool's limit); drops one trailing newline.
static char *read_stdin(void) {
    size_t cap = TF_TOOL_MAX_INPUT_BYTES + 2, n = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t r;
    while (n < cap - 1 && (r = fread(s + n, 1, cap - 1 - n, stdin)) > 0) n += r;
    s[n] = '\0';
    if (n > 0 && s[n - 1] == '\n') s[--n] = '\0';
    if (n > 0 && s[n - 1] == '\r') s[--n] = '\0';
    return s;
}

static void print_json(const char *tool, const char *input, const char *result, const char *error,
                       const char *call) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "tool", tool);
    cJSON_AddStringToObject(o, "input", input);
    if (result) cJSON_AddStringToObject(o, "result", result);
    if (error) cJSON_AddStringToObject(o, "error", error);
    if (call) cJSON_AddStringToObject(o, "call", call);
    char *s = cJSON_PrintUnformatted(o);
    if (s) printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
}

int cmd_tool(int argc, char **argv) {
    const char *name = NULL, *input = NULL, *call_text = NULL, *tools = NULL, *date = NULL;
    int json = 0, prompt = 0, npos = 0;
    tf_tool_options opt = {0};
    const char **specs = calloc((size_t)argc, sizeof *specs);
    int nspecs = 0;
    if (!specs) {
        fprintf(stderr, "toolformer: out of memory\n");
        return CLI_FAIL;
    }
    int rc = CLI_OK;
#define NEED_VALUE()                                                                              \
    if (i + 1 >= argc) {                                                                          \
        rc = cli_usage_error("tool", "%s needs a value", a);                                      \
        goto out;                                                                                 \
    }
    int options_end = 0;  // after "--" every argument is NAME or INPUT, even one starting with '-'
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        if (!options_end && !strcmp(a, "--")) {
            options_end = 1;
            continue;
        }
        if (options_end) {
            if (npos == 0 && !name) name = a, npos++;
            else if (!input) input = a, npos++;
            else { rc = cli_usage_error("tool", "unexpected argument '%s'", a); goto out; }
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            goto out;
        } else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--prompt")) prompt = 1;
        else if (!strcmp(a, "--name")) { NEED_VALUE(); name = argv[++i]; }
        else if (!strcmp(a, "--input")) { NEED_VALUE(); input = argv[++i]; }
        else if (!strcmp(a, "--call")) { NEED_VALUE(); call_text = argv[++i]; }
        else if (!strcmp(a, "--tools")) { NEED_VALUE(); tools = argv[++i]; }
        else if (!strcmp(a, "--tool")) { NEED_VALUE(); specs[nspecs++] = argv[++i]; }
        else if (!strcmp(a, "--date")) { NEED_VALUE(); date = argv[++i]; }
        else if (!strcmp(a, "--today")) { NEED_VALUE(); opt.today = argv[++i]; }
        else if (!strcmp(a, "--index")) { NEED_VALUE(); opt.index_path = argv[++i]; }
        else if (!strcmp(a, "--qa-model")) { NEED_VALUE(); opt.qa_model = argv[++i]; }
        else if (!strcmp(a, "--tool-timeout") || !strcmp(a, "--timeout-ms")) {  // --timeout-ms: the old name
            NEED_VALUE();
            if (cli_int(argv[++i], 1, 3600000, &v)) { rc = cli_usage_error("tool", "%s: expected milliseconds 1..3600000, got '%s'", a, argv[i]); goto out; }
            opt.timeout_ms = (int)v;
        } else if (!strcmp(a, "--max-result")) {
            NEED_VALUE();
            if (cli_int(argv[++i], 1, 1 << 20, &v)) { rc = cli_usage_error("tool", "--max-result: expected 1..1048576, got '%s'", argv[i]); goto out; }
            opt.max_result_bytes = (int)v;
        } else if (a[0] == '-' && a[1] != '\0') {
            rc = cli_usage_error("tool", "unknown option '%s'", a);
            goto out;
        } else if (npos == 0 && !name) {
            name = a, npos++;
        } else if (!input) {
            input = a, npos++;
        } else {
            rc = cli_usage_error("tool", "unexpected argument '%s'", a);
            goto out;
        }
    }
#undef NEED_VALUE

    tf_call call = {0};
    int have_call = 0;
    tf_error err = {0};
    if (call_text) {
        if (name || input) {
            rc = cli_usage_error("tool", "give either --call or NAME [INPUT], not both");
            goto out;
        }
        if (tf_call_parse(call_text, strlen(call_text), &call, &err) || call.end != strlen(call_text)) {
            rc = cli_usage_error("tool", "--call: '%.80s' is not one call [Name(input)]%s%s", call_text,
                                 err.msg[0] ? ": " : "", err.msg);
            tf_call_free(&call);
            goto out;
        }
        have_call = 1;
        name = call.name;
        input = call.input;
    }
    if (!name) {
        rc = cli_usage_error("tool", "no tool NAME given");
        goto out_call;
    }

    char *stdin_input = NULL;
    if (input && !strcmp(input, "-")) {
        stdin_input = read_stdin();
        if (!stdin_input) {
            fprintf(stderr, "toolformer: out of memory\n");
            rc = CLI_FAIL;
            goto out_call;
        }
        input = stdin_input;
    }
    if (!input) input = "";

    // an external tool may not take a built-in tool's name that --tools selects (it would silently
    // replace the built-in one)
    static const char *BUILTIN[] = {"calendar", "calculator", "wikisearch", "qa", "mt"};
    tf_toolset set = {0};
    for (int k = 0; tools && k < nspecs; k++) {
        size_t nl = strcspn(specs[k], "=");
        for (size_t b = 0; b < sizeof BUILTIN / sizeof BUILTIN[0]; b++) {
            if (nl != strlen(BUILTIN[b]) || strncasecmp(specs[k], BUILTIN[b], nl)) continue;
            for (const char *p = tools; *p;) {
                size_t l = strcspn(p, ",");
                const char *q = p;
                size_t ql = l;
                while (ql && (*q == ' ' || *q == '\t')) q++, ql--;
                while (ql && (q[ql - 1] == ' ' || q[ql - 1] == '\t')) ql--;
                if (ql == nl && !strncasecmp(q, specs[k], nl)) {
                    rc = cli_usage_error("tool", "--tool %.*s=... and --tools %s both name '%.*s': the built-in tool "
                                         "and an external one cannot share a name; rename the external tool",
                                         (int)nl, specs[k], tools, (int)nl, specs[k]);
                    goto out_set;
                }
                p += l + (p[l] == ',');
            }
        }
    }
    for (int k = 0; k < nspecs; k++) {
        tf_tool *t = tf_tool_create_external(specs[k], &opt, &err);
        if (!t || tf_toolset_add(&set, t, &err)) {
            rc = cli_fail(&err);
            goto out_set;
        }
    }
    if (tools) {
        if (tf_toolset_parse(&set, tools, &opt, &err)) {
            rc = cli_fail(&err);
            goto out_set;
        }
    } else if (!tf_toolset_find(&set, name)) {
        tf_tool *t = tf_tool_create(name, &opt, &err);
        if (!t || tf_toolset_add(&set, t, &err)) {
            rc = cli_fail(&err);
            goto out_set;
        }
    }
    tf_tool *tool = tf_toolset_find(&set, name);
    if (!tool) {
        rc = cli_usage_error("tool", "tool '%s' is not among --tools %s", name, tools ? tools : "");
        goto out_set;
    }
    if (prompt) {
        printf("%s\n", tool->prompt ? tool->prompt : "");
        goto out_set;
    }

    char *out = malloc(TF_TOOL_RESULT_CAP);
    if (!out) {
        fprintf(stderr, "toolformer: out of memory\n");
        rc = CLI_FAIL;
        goto out_set;
    }
    tf_tool_context ctx = {.date = date};
    if (tf_tool_execute(tool, input, date ? &ctx : NULL, out, TF_TOOL_RESULT_CAP, &err) == TF_OK) {
        char *formatted = have_call ? tf_call_format(tool->name, input, out) : NULL;
        if (json) print_json(tool->name, input, out, NULL, formatted);
        else printf("%s\n", formatted ? formatted : out);
        free(formatted);
    } else {
        if (json) print_json(tool->name, input, NULL, err.msg, NULL);
        rc = cli_fail(&err);
        if (rc == CLI_USAGE) rc = CLI_FAIL;  // a tool's refusal is bad input, not bad usage
    }
    free(out);
out_set:
    tf_toolset_free(&set);
    free(stdin_input);
out_call:
    tf_call_free(&call);
out:
    free(specs);
    return rc;
}
