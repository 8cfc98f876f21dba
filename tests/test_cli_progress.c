// test_cli_progress.c — --progress on every long command (issue 21): with stderr a file (never a
// terminal here), `--progress lines` prints one record per interval and one when done, in the format
// docs/cli.md gives; `none` prints nothing; the default (auto) stays silent for a run shorter than
// one interval off a terminal; `bar` draws in place; a bad mode is a usage error.
#include <criterion/criterion.h>
#include <limits.h>
#include <string.h>
#include <math.h>

#include "cli_run.h"
#include "pipeline_util.h"

#define FIX "tests/fixtures/"

static char tmp[64];
static char out[8192];

static void make_tmp(void) {
    tmp_dir_make(tmp, sizeof tmp, "progress");
    char p[128];
    snprintf(p, sizeof p, "%s/ids.jsonl", tmp);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    for (int r = 0; r < 4; r++) {
        fputs("{\"ids\": [", f);
        for (int i = 0; i < 12; i++) fprintf(f, "%s%d", i ? ", " : "", 1 + r + 4 * i);
        fputs("]}\n", f);
    }
    fclose(f);
    snprintf(p, sizeof p, "%s/passages.jsonl", tmp);
    f = fopen(p, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 50; i++) fprintf(f, "{\"title\": \"T%d\", \"text\": \"Passage number %d is here.\"}\n", i, i);
    fclose(f);
    snprintf(p, sizeof p, "%s/corpus.jsonl", tmp);
    f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("{\"text\": \"The price was 12 + 30 = 42 dollars in total.\"}\n"
          "{\"text\": \"We paid 7 * 8 = 56 for the tickets.\"}\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/eval.jsonl", tmp);
    f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("{\"prompt\": \"12 + 30 =\", \"answer\": \"42\"}\n{\"prompt\": \"2 + 3 =\", \"answer\": \"5\"}\n", f);
    fclose(f);
}

static void clean_tmp(void) { rm_rf_dir(tmp); }

TestSuite(cli_progress, .init = make_tmp, .fini = clean_tmp, .timeout = 120);

// Checks every line of cli_run_stderr that starts with "progress " against the documented format
// "progress LABEL DONE/TOTAL PCT% RATE/s elapsed Es (eta Es | done)[; EXTRA]" (or, without a total,
// "progress LABEL DONE RATE/s elapsed Es[ done][; EXTRA]"); returns how many there are, the number
// of "done" records in *n_done, and requires the done counts never to decrease.
static int check_lines(const char *label, int *n_done) {
    int n = 0;
    long last = -1;
    *n_done = 0;
    for (const char *l = cli_run_stderr; *l;) {
        const char *eol = strchr(l, '\n');
        cr_assert_not_null(eol, "an unterminated progress line: %s", l);
        cr_assert(!memchr(l, '\r', (size_t)(eol - l)), "a bar in lines mode: %s", cli_run_stderr);
        if (!strncmp(l, "progress ", 9)) {
            char lab[64], line[512];
            long done, total = -1;
            double pct, rate, el, eta;
            int used = 0;
            snprintf(line, sizeof line, "%.*s", (int)(eol - l), l);
            if (sscanf(line, "progress %63s %ld/%ld %lf%% %lf/s elapsed %lfs%n", lab, &done, &total, &pct, &rate, &el,
                       &used) == 6) {
                cr_assert(total > 0 && pct >= 0 && pct <= 100.0 + 1e-9, "%s", line);
                cr_assert(fabs(pct - 100.0 * done / total) < 0.06, "percentage of %ld/%ld: %s", done, total, line);
            } else {
                cr_assert_eq(sscanf(line, "progress %63s %ld %lf/s elapsed %lfs%n", lab, &done, &rate, &el, &used), 4,
                             "not a progress record: '%s'", line);
            }
            cr_assert_str_eq(lab, label, "%s", line);
            cr_assert(rate >= 0 && el >= 0 && done >= last, "%s", line);
            last = done;
            const char *rest = line + used;
            if (!strncmp(rest, " done", 5)) {
                ++*n_done;
                rest += 5;
            } else if (!strncmp(rest, " eta ", 5)) {
                cr_assert((sscanf(rest, " eta %lfs", &eta) == 1 && eta >= 0) || !strncmp(rest, " eta ?", 6), "%s", line);
                rest = strchr(rest, ';') ? strchr(rest, ';') : "";
            }
            cr_assert(!*rest || !strncmp(rest, "; ", 2), "after the numbers: '%s' in %s", rest, line);
            n++;
        }
        l = eol + 1;
    }
    return n;
}

#define TRAIN "train --config " FIX "gpt2-tiny/config.json --data %s/ids.jsonl --steps 3 --batch 2 --seq-len 8 --threads 1"

Test(cli_progress, lines_mode_prints_a_record_per_interval_and_one_when_done) {
    char args[512];
    snprintf(args, sizeof args, TRAIN " --out %s/a --progress lines", tmp, tmp);
    cr_assert_eq(cli_run_with("TF_PROGRESS_INTERVAL=0", out, sizeof out, args), 0, "%s", cli_run_stderr);
    int n_done, n = check_lines("train", &n_done);
    cr_assert_eq(n, 4, "3 steps and the end: %s", cli_run_stderr);
    cr_assert_eq(n_done, 1, "%s", cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, "progress train 3/3 100.0% ") && strstr(cli_run_stderr, "; loss "), "%s",
              cli_run_stderr);
    // a long interval: the end only
    snprintf(args, sizeof args, TRAIN " --out %s/b --progress lines", tmp, tmp);
    cr_assert_eq(cli_run_with("TF_PROGRESS_INTERVAL=1000", out, sizeof out, args), 0, "%s", cli_run_stderr);
    cr_assert_eq(check_lines("train", &n_done), 1, "%s", cli_run_stderr);
    cr_assert_eq(n_done, 1);
    // TF_PROGRESS=lines does what --progress lines does
    snprintf(args, sizeof args, TRAIN " --out %s/c", tmp, tmp);
    cr_assert_eq(cli_run_with("TF_PROGRESS=lines TF_PROGRESS_INTERVAL=0", out, sizeof out, args), 0, "%s",
                 cli_run_stderr);
    cr_assert_eq(check_lines("train", &n_done), 4, "%s", cli_run_stderr);
}

Test(cli_progress, none_and_auto_off_a_terminal_stay_quiet) {
    char args[512];
    snprintf(args, sizeof args, TRAIN " --out %s/a --progress none", tmp, tmp);
    cr_assert_eq(cli_run_with("TF_PROGRESS=lines TF_PROGRESS_INTERVAL=0", out, sizeof out, args), 0, "%s",
                 cli_run_stderr);
    cr_assert_null(strstr(cli_run_stderr, "progress"), "--progress none wins over TF_PROGRESS: %s", cli_run_stderr);
    // auto, stderr a file, a run shorter than the interval: nothing
    snprintf(args, sizeof args, TRAIN " --out %s/b", tmp, tmp);
    cr_assert_eq(cli_run_with("TF_PROGRESS_INTERVAL=1000", out, sizeof out, args), 0, "%s", cli_run_stderr);
    cr_assert_null(strstr(cli_run_stderr, "progress"), "%s", cli_run_stderr);
    // auto with every update past the interval: periodic records and the end, as lines
    snprintf(args, sizeof args, TRAIN " --out %s/c --progress auto", tmp, tmp);
    cr_assert_eq(cli_run_with("TF_PROGRESS_INTERVAL=0", out, sizeof out, args), 0, "%s", cli_run_stderr);
    int n_done;
    cr_assert_eq(check_lines("train", &n_done), 4, "%s", cli_run_stderr);
    cr_assert_eq(n_done, 1);
}

Test(cli_progress, bar_mode_draws_in_place) {
    char args[512];
    snprintf(args, sizeof args, TRAIN " --out %s/a --progress bar", tmp, tmp);
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 0, "%s", cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, "\rtrain [") && strstr(cli_run_stderr, "3/3"), "%s", cli_run_stderr);
    cr_assert_null(strstr(cli_run_stderr, "progress train"), "%s", cli_run_stderr);
}

Test(cli_progress, a_bad_mode_is_a_usage_error) {
    const char *cmds[] = {"train --progress sometimes", "finetune --progress yes", "annotate --progress 2",
                          "eval --progress ''", "index --progress x", "convert --progress bars",
                          "merge-adapter --progress x", "tokenizer train --progress x", "index --progress"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cr_assert_eq(cli_run(out, sizeof out, "%s", cmds[i]), 2, "%s: %s", cmds[i], cli_run_stderr);
        cr_assert(strstr(cli_run_stderr, "--progress"), "%s: %s", cmds[i], cli_run_stderr);
    }
}

// Every other long command takes --progress lines and reports in the same format.
Test(cli_progress, every_long_command_reports_in_lines) {
    struct {
        const char *label, *fmt;
    } cmds[] = {
        {"index", "index --data %s/passages.jsonl --out %s/ix.db --batch 10"},
        {"tensors", "convert --model " FIX "gpt2-tiny --out %s/bf --dtype bf16%.0s"},
        {"tensors", "merge-adapter --model " FIX "gpt2-tiny --adapter " FIX "lora-gpt2 --out %s/m%.0s"},
        {"annotate", "annotate --model models/default --tools calculator --proposer tool --top-k 2 --samples 1 "
                     "--threads 1 --data %s/corpus.jsonl --out %s/aug.jsonl"},
        {"math", "eval --model models/default --task math --max-new 4 --threads 1 --data %s/eval.jsonl%.0s"},
        {"finetune", "finetune --model " FIX "gpt2-tiny --data %s/ids.jsonl --steps 2 --batch 2 --seq-len 8 "
                     "--threads 1 --out %s/ft"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char args[1024], a2[1100];
        snprintf(args, sizeof args, cmds[i].fmt, tmp, tmp);
        snprintf(a2, sizeof a2, "%s --progress lines", args);
        cr_assert_eq(cli_run_with("TF_PROGRESS_INTERVAL=0", out, sizeof out, a2), 0, "%s: %s", a2, cli_run_stderr);
        int n_done;
        const char *label = strcmp(cmds[i].label, "finetune") ? cmds[i].label : "train";
        int n = check_lines(label, &n_done);
        cr_assert_geq(n, 2, "%s: %s", a2, cli_run_stderr);
        cr_assert_eq(n_done, 1, "%s: %s", a2, cli_run_stderr);
    }
}

// eval counts the examples (non-blank lines) of a regular file up front, so its progress has a
// total without --max-examples; --max-examples caps it; a pipe is read once, without a total.
Test(cli_progress, eval_progress_has_a_total_for_a_file_and_none_for_a_pipe) {
    char p[128], args[512], pre[256];
    snprintf(p, sizeof p, "%s/eval3.jsonl", tmp);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("{\"prompt\": \"12 + 30 =\", \"answer\": \"42\"}\n\n{\"prompt\": \"2 + 3 =\", \"answer\": \"5\"}\n  \t\n"
          "{\"prompt\": \"7 * 8 =\", \"answer\": \"56\"}", f);  // blank lines, no newline at the end
    fclose(f);
    const char *EVAL = "eval --model models/default --task math --max-new 4 --threads 1 --progress lines";
    int n_done;
    snprintf(args, sizeof args, "%s --data %s", EVAL, p);
    cr_assert_eq(cli_run_with("TF_PROGRESS_INTERVAL=0", out, sizeof out, args), 0, "%s", cli_run_stderr);
    cr_assert_eq(check_lines("math", &n_done), 4, "3 examples and the end: %s", cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, "progress math 1/3 ") && strstr(cli_run_stderr, "progress math 3/3 100.0% "),
              "%s", cli_run_stderr);
    snprintf(args, sizeof args, "%s --data %s --max-examples 2", EVAL, p);
    cr_assert_eq(cli_run_with("TF_PROGRESS_INTERVAL=0", out, sizeof out, args), 0, "%s", cli_run_stderr);
    check_lines("math", &n_done);
    cr_assert(strstr(cli_run_stderr, "progress math 2/2 100.0% ") && !strstr(cli_run_stderr, "/3 "), "%s",
              cli_run_stderr);
    // a pipe: no total, the same examples
    snprintf(pre, sizeof pre, "cat %s | TF_PROGRESS_INTERVAL=0", p);
    snprintf(args, sizeof args, "%s --data /dev/stdin", EVAL);
    cr_assert_eq(cli_run_with(pre, out, sizeof out, args), 0, "%s", cli_run_stderr);
    cr_assert_eq(check_lines("math", &n_done), 4, "%s", cli_run_stderr);
    cr_assert_eq(n_done, 1);
    cr_assert(strstr(cli_run_stderr, "progress math 3 ") && !strstr(cli_run_stderr, "/3 "), "%s", cli_run_stderr);
}

// annotate counts the documents of a regular corpus file up front, so its progress has a total
// without --max-docs: the whole corpus, a shard's share of it (--shard K/N: every Nth document);
// --max-docs caps it; a pipe is read once, without a total.
Test(cli_progress, annotate_progress_has_a_total_for_a_file_and_none_for_a_pipe) {
    char p[128], args[768], pre[256];
    snprintf(p, sizeof p, "%s/corpus5.jsonl", tmp);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 5; i++) fprintf(f, "{\"text\": \"We paid %d + 3 = %d dollars.\"}\n%s", 10 + i, 13 + i, i == 2 ? "\n" : "");
    fclose(f);
    const char *ANN = "annotate --model models/default --tools calculator --proposer tool --top-k 1 --samples 1 "
                      "--threads 1 --progress lines";
    int n_done;
    struct {
        const char *extra, *last, *absent;
    } runs[] = {
        {"", "progress annotate 5/5 100.0% ", NULL},
        {"--shard 1/2", "progress annotate 2/2 100.0% ", "/5 "},  // documents 1 and 3
        {"--shard 0/2", "progress annotate 3/3 100.0% ", "/5 "},  // 0, 2 and 4
        {"--max-docs 2", "progress annotate 2/2 100.0% ", "/5 "},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        snprintf(args, sizeof args, "%s --data %s --out %s/run%zu.jsonl %s", ANN, p, tmp, i, runs[i].extra);
        cr_assert_eq(cli_run_with("TF_PROGRESS_INTERVAL=0", out, sizeof out, args), 0, "%s: %s", args, cli_run_stderr);
        check_lines("annotate", &n_done);
        cr_assert(strstr(cli_run_stderr, runs[i].last), "%s: %s", args, cli_run_stderr);
        cr_assert(!runs[i].absent || !strstr(cli_run_stderr, runs[i].absent), "%s: %s", args, cli_run_stderr);
    }
    snprintf(pre, sizeof pre, "cat %s | TF_PROGRESS_INTERVAL=0", p);
    snprintf(args, sizeof args, "%s --data /dev/stdin --out %s/pipe.jsonl", ANN, tmp);
    cr_assert_eq(cli_run_with(pre, out, sizeof out, args), 0, "%s", cli_run_stderr);
    check_lines("annotate", &n_done);
    cr_assert_eq(n_done, 1);
    cr_assert(strstr(cli_run_stderr, "progress annotate 5 ") && !strstr(cli_run_stderr, "/5 "), "%s", cli_run_stderr);
}
