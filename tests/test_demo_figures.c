// test_demo_figures.c — the shipped Toolformer model (models/toolformer) and the figures the docs
// give for it: its files match their checksums, `eval` runs on it out of the box, docs/demo.md's
// machine-readable figures are the ones its demo run printed (models/toolformer/figures.json), and
// scripts/demo_report.py --compare (the demo's own check) fails on a figure that differs.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_run.h"

static int sh(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

Test(demo_figures, shipped_model_matches_its_checksums) {
    cr_expect_eq(sh("cd models/toolformer && sha256sum -c --quiet SHA256SUMS"), 0,
                 "models/toolformer does not match its SHA256SUMS");
    cr_expect_eq(sh("cd models/default && sha256sum -c --quiet SHA256SUMS"), 0,
                 "models/default does not match its SHA256SUMS");
}

Test(demo_figures, docs_give_the_shipped_models_figures) {
    cr_expect_eq(sh("python3 scripts/demo_report.py --compare docs/demo.md models/toolformer/figures.json >/dev/null"), 0,
                 "docs/demo.md's demo-figures block differs from models/toolformer/figures.json "
                 "(python3 scripts/demo_report.py --compare docs/demo.md models/toolformer/figures.json)");
}

// One figure changed in a copy of the docs: the comparison names it and fails; bad input exits 2.
Test(demo_figures, compare_finds_a_changed_figure) {
    char tmpl[] = "/tmp/tf_fig_XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys; f=json.load(open(\"models/toolformer/figures.json\")); "
             "f[\"eval\"][\"ood_dates\"][\"toolformer\"] += 0.1; "
             "open(sys.argv[1], \"w\").write(\"text\\n```json demo-figures\\n\" + json.dumps(f) + \"\\n```\\n\")' %s/doc.md",
             tmpl);
    cr_assert_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "python3 scripts/demo_report.py --compare %s/doc.md models/toolformer/figures.json > %s/out 2>&1", tmpl,
             tmpl);
    cr_expect_eq(sh(cmd), 1, "a changed figure was not found");
    snprintf(cmd, sizeof cmd, "grep -q 'eval.ood_dates.toolformer' %s/out", tmpl);
    cr_expect_eq(sh(cmd), 0, "the changed figure is not named");
    snprintf(cmd, sizeof cmd, "printf 'no figures here\\n' > %s/none.md && "
                              "python3 scripts/demo_report.py --compare %s/none.md models/toolformer/figures.json 2>/dev/null",
             tmpl, tmpl);
    cr_expect_eq(sh(cmd), 2, "a file without figures is bad input");
    cr_expect_eq(sh("python3 scripts/demo_report.py --compare 2>/dev/null"), 2);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    (void)!system(cmd);
}

// `toolformer eval --tools` on the shipped model, as a new user runs it: a few of the
// out-of-template dates, where the model must call the Calendar to answer.
Test(demo_figures, shipped_model_calls_its_tools) {
    char out[8192];
    int rc = cli_run(out, sizeof out,
                     "eval --model models/toolformer --task dates --data data/ood/dates.jsonl --max-examples 8 "
                     "--tools calendar --json --quiet");
    cr_assert_eq(rc, 0, "eval failed: %s", cli_run_stderr);
    double rate = -1;
    const char *p = strstr(out, "\"call_rate\": ");
    cr_assert_not_null(p, "no call rate in %s", out);
    rate = atof(p + strlen("\"call_rate\": "));
    cr_expect_gt(rate, 0.0, "the shipped model made no call on 8 date questions: %s", out);
}
