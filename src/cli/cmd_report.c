// cmd_report.c — `toolformer report DIR`: one self-contained HTML page from what a run wrote into DIR.
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tf_outguard.h"
#include "tf_report.h"

#include <dirent.h>
#include <sys/stat.h>

// Records every JSON and JSONL file directly in dir as an input of g (what the page is made from).
static int guard_run_files(tf_outguard *g, const char *dir, tf_error *err) {
    DIR *d = opendir(dir);
    if (!d) return TF_OK;  // the report names a missing or unreadable directory itself
    struct dirent *e;
    char p[4096];
    int rc = TF_OK;
    while (!rc && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        int json = (n > 5 && !strcmp(e->d_name + n - 5, ".json")) || (n > 6 && !strcmp(e->d_name + n - 6, ".jsonl"));
        if (json && snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p) rc = tf_guard_input(g, "DIR", p, err);
    }
    closedir(d);
    return rc;
}

static void help(FILE *f) {
    fprintf(f,
            "usage: toolformer report DIR [--out FILE.html] [--force]\n\n"
            "Writes one self-contained HTML page (inline SVG and CSS: no script, nothing fetched; readable\n"
            "offline and printable) from what a run wrote into DIR (the names scripts/demo.sh uses):\n"
            "  NAME.summary.json, NAME.jsonl, NAME.rejected.jsonl   annotate --json, --out, --rejected: the\n"
            "        funnel per tool (candidates; no result, over the time limit; executed; displaced; kept), the\n"
            "        histogram of L- - L+ with tau_f, a sample of kept and rejected calls, the settings\n"
            "        (tau_s, tau_f, k, m, model, seed)\n"
            "  compare_*.json                   compare --json: the filter's three losses (the seed's example)\n"
            "  eval_TASK_VARIANT.json, eval_TASK_VARIANT.details.jsonl, ppl_NAME.json   eval --json, --details\n"
            "  *.log.jsonl, finetune*.json      finetune --log, --json: the loss curves\n"
            "A missing file leaves its section out with a note; a malformed one is an error.\n"
            "  --out FILE   the page (default DIR/report.html); an existing file is kept unless --force\n"
            "  --force      replace an existing page\n");
}

// Parses the options, builds the page in memory from the run directory (src/report) and writes it
// atomically, so a failed build never leaves half a page; an existing page is kept without --force.
int cmd_report(int argc, char **argv) {
    static const struct option opts[] = {
        {"out", 1, 0, 'o'}, {"force", 0, 0, 'f'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL, *dir = NULL;
    int force = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'f': force = 1; break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("report", "unknown option");
        }
    }
    if (optind + 1 != argc) return cli_usage_error("report", "give one run directory (toolformer report DIR)");
    // the run directory is the one positional argument; the page goes beside its inputs by default
    dir = argv[optind];
    char def[4096];
    if (!out) {
        if (snprintf(def, sizeof def, "%s/report.html", dir) >= (int)sizeof def)
            return cli_usage_error("report", "the directory's name is too long");
        out = def;
    }
    tf_error err = {0};
    // the output rule (tf_outguard.h): the page is never one of the run's files, an existing page
    // is replaced only with --force, and a second writer of the same page fails at once
    tf_outguard g;
    tf_guard_init(&g, "report", force ? TF_OUT_FORCE : TF_OUT_NEW, "replace it with --force or choose another --out");
    if (guard_run_files(&g, dir, &err) || tf_guard_output(&g, "--out", out, TF_OUT_REGULAR, &err) ||
        tf_guard_check(&g, &err) || tf_guard_lock(&g, out, &err)) {
        tf_guard_release(&g);
        return cli_fail(&err);
    }
    char *page = NULL;
    size_t len = 0;
    // the page is written to a memory stream first: tf_report_write reports a malformed input as an
    // error, and nothing is written to --out then
    FILE *mem = open_memstream(&page, &len);
    if (!mem) {
        tf_guard_release(&g);
        tf_errorf(&err, TF_ENOMEM, "out of memory");
        return cli_fail(&err);
    }
    tf_report_stats st;
    int rc = tf_report_write(dir, mem, &st, &err);
    if (fclose(mem) && !rc) rc = tf_errorf(&err, TF_ENOMEM, "out of memory building the page");
    if (!rc) rc = tf_write_file_atomic(out, page, len, &err);
    free(page);
    tf_guard_release(&g);
    if (rc) return cli_fail(&err);
    // one line on stdout: where the page is and what it holds
    printf("%s: %d sections", out, st.sections);
    if (st.missing) printf(", %d parts left out for want of their input (noted on the page)", st.missing);
    printf("\n");
    return CLI_OK;
}
