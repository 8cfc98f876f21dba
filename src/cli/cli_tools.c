// cli_tools.c — the tool options shared by the pipeline subcommands.
#include <string.h>

#include "cli.h"

int cli_tools_option(cli_tools *t, int c, const char *arg, const char *cmd) {
    long v;
    switch (c) {
    case 1001: t->list = arg; return 1;
    case 1002:
        if (t->n_external >= 16) {
            cli_usage_error(cmd, "at most 16 --tool options");
            return -1;
        }
        t->external[t->n_external++] = arg;
        return 1;
    case 1003: t->opt.index_path = arg; if (!t->tool_only) t->tool_only = "--index"; return 1;
    case 1004: t->opt.today = arg; if (!t->tool_only) t->tool_only = "--today"; return 1;
    case 1005: t->opt.qa_model = arg; if (!t->tool_only) t->tool_only = "--qa-model"; return 1;
    case 1006:
        if (!t->tool_only) t->tool_only = "--tool-timeout";
        if (cli_int(arg, 1, 3600000, &v)) {
            cli_usage_error(cmd, "--tool-timeout wants milliseconds (1..3600000)");
            return -1;
        }
        t->opt.timeout_ms = (int)v;
        return 1;
    default: return 0;
    }
}

int cli_tools_build(const cli_tools *t, tf_toolset *set, int required, tf_error *err) {
    memset(set, 0, sizeof *set);
    if (t->tool_only && !(t->list && *t->list) && !t->n_external)
        return tf_errorf(err, TF_EBADARG, "%s is a tool option, but no tool is selected: add --tools LIST (or --tool "
                         "NAME=CMD), or drop %s", t->tool_only, t->tool_only);
    if (t->list && *t->list && tf_toolset_parse(set, t->list, &t->opt, err)) return err->code;
    for (int i = 0; i < t->n_external; i++) {
        tf_tool *x = tf_tool_create_external(t->external[i], &t->opt, err);
        if (!x || tf_toolset_add(set, x, err)) return err->code;
    }
    if (required && set->n == 0) return tf_errorf(err, TF_EBADARG, "no tools selected (use --tools or --tool)");
    return TF_OK;
}
