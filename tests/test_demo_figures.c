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
#include "tmp_util.h"

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
                 "docs/demo.md's figures (its demo-figures block, held-out table, perplexity) differ from "
                 "models/toolformer/figures.json (python3 scripts/demo_report.py --compare docs/demo.md "
                 "models/toolformer/figures.json)");
    const char *docs[] = {"README.md", "models/toolformer/README.md"};
    for (int i = 0; i < 2; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "python3 scripts/demo_report.py --compare %s models/toolformer/figures.json >/dev/null", docs[i]);
        cr_expect_eq(sh(cmd), 0, "%s's held-out table or perplexity differs from models/toolformer/figures.json (%s)",
                     docs[i], cmd);
    }
    cr_expect_eq(sh("python3 scripts/demo_report.py --compare models/toolformer/README.md models/toolformer/figures.json "
                    "| grep -q 'all 47 figures agree'"), 0, "models/toolformer/README.md: 9 rows x 5 cells and a perplexity");
}

// Writes a Markdown file with the Python program py (its arguments: the path and a delta) twice,
// as figures.json gives it (delta 0) and with one cell moved by delta; --compare must find all n
// figures equal in the first, and in the second name key with the line it stands on.
static void expect_compare_reads(const char *py, const char *delta, int n, const char *key, int line) {
    char tmpl[64];
    tmp_dir_make(tmpl, sizeof tmpl, "fig");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 -c '%s' %s/same.md 0 && python3 -c '%s' %s/diff.md %s", py, tmpl, py, tmpl, delta);
    cr_assert_eq(sh(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "python3 scripts/demo_report.py --compare %s/same.md models/toolformer/figures.json > %s/out",
             tmpl, tmpl);
    cr_expect_eq(sh(cmd), 0, "the table as figures.json gives it does not agree (%s/same.md)", tmpl);
    snprintf(cmd, sizeof cmd, "grep -q 'all %d figures agree' %s/out", n, tmpl);
    cr_expect_eq(sh(cmd), 0, "%d figures expected in %s/same.md", n, tmpl);
    snprintf(cmd, sizeof cmd, "python3 scripts/demo_report.py --compare %s/diff.md models/toolformer/figures.json > %s/out",
             tmpl, tmpl);
    cr_expect_eq(sh(cmd), 1, "a changed cell was not found (%s/diff.md)", tmpl);
    snprintf(cmd, sizeof cmd, "grep -q '%s: .* in %s/diff.md:%d' %s/out", key, tmpl, line, tmpl);
    cr_expect_eq(sh(cmd), 0, "the changed cell %s is not named with its line %d", key, line);
    rm_rf_dir(tmpl);
}

// A held-out table and the perplexity sentence as README.md writes them: read cell by cell, one
// changed cell named with its line; a table under another header is not read. 3 rows x 5 cells and
// the two perplexities: 17 figures.
Test(demo_figures, compare_reads_the_tables_and_the_perplexity) {
    const char *py =
        "import json,sys; f=json.load(open(\"models/toolformer/figures.json\")); e=f[\"eval\"]; d=float(sys.argv[2]); "
        "rows=[(\"math (recipe)\",\"math\"),(\"word problems (everyday)\",\"ood_math\"),(\"facts (everyday)\",\"ood_facts\")]; "
        "t=\"| held-out set | n | base | Toolformer | Toolformer (disabled) | call rate |\\n|---|---|---|---|---|---|\\n\"; "
        "t+=\"\".join(\"| %s | %d | %.1f%% | **%.1f%%** | %.1f%% | %.1f%% |\\n\" % (l, e[k][\"n\"], e[k][\"base\"], "
        "e[k][\"toolformer\"] + (d if k == \"ood_math\" else 0), e[k][\"disabled\"], e[k][\"call_rate\"]) for l, k in rows); "
        "t+=\"\\n| facts (recipe) | n |\\n|---|---|\\n| facts (recipe) | 1 | 2 | 3 | 4 | 5 |\\n\"; "
        "t+=\"\\nPerplexity with calls disabled: Toolformer %.2f, control %.2f.\\n\" % (f[\"ppl\"][\"toolformer\"], f[\"ppl\"][\"control\"]); "
        "open(sys.argv[1], \"w\").write(t)";
    expect_compare_reads(py, "0.1", 17, "eval.ood_math.toolformer", 4);
}

// The annotation rounds' table as docs/demo.md writes it ("kept (+ displaced) / executed (mean
// score)" a tool): documents, then kept, displaced, executed and mean score of 3 tools, 13 figures;
// a changed mean score is named with its line.
Test(demo_figures, compare_reads_the_rounds_table) {
    const char *py =
        "import json,sys; r=json.load(open(\"models/toolformer/figures.json\"))[\"rounds\"][\"round2\"]; d=float(sys.argv[2]); "
        "tools=[\"Calendar\",\"Calculator\",\"WikiSearch\"]; "
        "cell=lambda t: \"%d (+ %d) / %s (%.2f)\" % (r[\"kept\"][t], r[\"displaced\"][t], "
        "format(r[\"executed\"][t], \",\"), r[\"mean_score\"][t] + (d if t == \"WikiSearch\" else 0)); "
        "t=\"| round | proposer, filter\\x27s model | documents with kept calls | Calendar kept / executed (mean score) | \"; "
        "t+=\"Calculator kept (+ displaced) / executed (mean score) | WikiSearch |\\n|---|---|---|---|---|---|\\n\"; "
        "t+=\"| 2 | tools | **%d** | %s |\\n\" % (r[\"documents_written\"], \" | \".join(cell(x) for x in tools)); "
        "open(sys.argv[1], \"w\").write(t)";
    expect_compare_reads(py, "0.01", 13, "rounds.round2.mean_score.WikiSearch", 3);
}

// One figure changed in a copy of the docs: the comparison names it and fails; bad input exits 2.
Test(demo_figures, compare_finds_a_changed_figure) {
    char tmpl[64];
    tmp_dir_make(tmpl, sizeof tmpl, "fig");
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
    snprintf(cmd, sizeof cmd, "printf '| round | proposer, filter\\047s model | documents with kept calls | Calendar |\\n"
                              "| 1 | tools | 5 | 216 of 3983 |\\n' > %s/garbled.md && "
                              "python3 scripts/demo_report.py --compare %s/garbled.md models/toolformer/figures.json "
                              "> %s/garbled.out 2>&1",
             tmpl, tmpl, tmpl);
    cr_expect_eq(sh(cmd), 2, "a garbled rounds cell is bad input");
    snprintf(cmd, sizeof cmd, "grep -q 'garbled.md:2: Calendar' %s/garbled.out", tmpl);
    cr_expect_eq(sh(cmd), 0, "a rounds cell not written as 'kept / executed (mean score)' must be refused with its line");
    cr_expect_eq(sh("python3 scripts/demo_report.py --compare 2>/dev/null"), 2);
    rm_rf_dir(tmpl);
}

// scripts/demo_failures.py counts each wrong answer by its first call, one class each, and each
// round's useful calls (the number or word the text states next).
Test(demo_figures, failures_are_counted_by_first_call) {
    char tmpl[64];
    tmp_dir_make(tmpl, sizeof tmpl, "fail");
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %s && printf '%%s\\n' "
             "'{\"answer\":\"42\",\"correct\":true,\"calls\":[{\"tool\":\"Calculator\",\"result\":\"42\"}]}' "
             "'{\"answer\":\"42\",\"correct\":false,\"calls\":[{\"tool\":\"Calculator\",\"result\":\"42\"}]}' "
             "'{\"answer\":\"42\",\"correct\":false,\"calls\":[{\"tool\":\"Calculator\",\"result\":\"41\"}]}' "
             "'{\"answer\":\"42\",\"correct\":false,\"calls\":[{\"tool\":\"Calendar\",\"result\":\"Today\"}]}' "
             "'{\"answer\":\"42\",\"correct\":false,\"calls\":[]}' "
             "'{\"answer\":\"42\",\"correct\":false,\"calls\":[{\"tool\":\"Calculator\",\"result\":null}]}' "
             "> eval_ood_math_toolformer.details.jsonl && printf '%%s\\n' "
             "'{\"answer\":\"Lima\",\"correct\":false,\"calls\":[{\"tool\":\"WikiSearch\",\"result\":\"Peru > The capital of Peru is Lima.\"}]}' "
             "'{\"answer\":\"Lima\",\"correct\":false,\"calls\":[{\"tool\":\"WikiSearch\",\"result\":\"Fiji dollar > money\"}]}' "
             "> eval_facts_toolformer.details.jsonl && printf '%%s\\n' "
             "'{\"source_text\":\"Sum: 42 in all, Lima.\",\"calls\":[{\"tool\":\"Calculator\",\"result\":\"42\",\"char_pos\":4},"
             "{\"tool\":\"Calculator\",\"result\":\"41\",\"char_pos\":4},{\"tool\":\"Calendar\",\"result\":\"Today\",\"char_pos\":0},"
             "{\"tool\":\"WikiSearch\",\"result\":\"Peru > The capital of Peru is Lima.\",\"char_pos\":16},"
             "{\"tool\":\"WikiSearch\",\"result\":\"Fiji dollar\",\"char_pos\":16}]}' "
             "> round1.jsonl && cd - >/dev/null && "
             "python3 scripts/demo_failures.py %s > %s/out", tmpl, tmpl, tmpl);
    cr_assert_eq(sh(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd,
             "grep -qx 'facts: 2 examples, 2 wrong: query missed the passage 1; right passage, answer not copied 1' %s/out && "
             "grep -qx 'ood_math: 6 examples, 5 wrong: call failed/no result 1; no call 1; other tool (Calendar) 1; "
             "right result, answer not copied 1; wrong operation or operand 1' %s/out && "
             "grep -qx 'round1: 5 calls written, 3 useful (Calculator 1/2, Calendar 1/1, WikiSearch 1/2)' %s/out",
             tmpl, tmpl, tmpl);
    cr_expect_eq(sh(cmd), 0, "unexpected counts (see %s/out)", tmpl);
    snprintf(cmd, sizeof cmd, "printf 'not json\\n' > %s/eval_dates_toolformer.details.jsonl && "
                              "python3 scripts/demo_failures.py %s >/dev/null 2>&1", tmpl, tmpl);
    cr_expect_eq(sh(cmd), 1, "a line that is not JSON must fail");
    rm_rf_dir(tmpl);
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
