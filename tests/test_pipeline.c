// test_pipeline.c — merging calls into text, evaluation metrics, decoding with tools, and annotate's
// exact resume after SIGKILL.
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_run.h"
#include "pipeline_util.h"
#include "tf_eval.h"
#include "tf_pipeline.h"

static tf_candidate cand(int tool, const char *input, const char *result, size_t char_pos, float score, int kept) {
    tf_candidate c = {0};
    c.tool = tool;
    c.input = strdup(input);
    c.result = strdup(result);
    c.char_pos = char_pos;
    c.score = score;
    c.kept = kept;
    return c;
}

Test(merge, inserts_kept_calls_in_order_with_the_papers_spacing) {
    tf_toolset set = {0};
    tf_error err;
    tf_tool_options opt = {0};
    cr_assert_eq(tf_toolset_parse(&set, "calculator,calendar", &opt, &err), TF_OK, "%s", err.msg);
    const char *text = "Out of 1400 participants, 400 passed. So today it is closed.";
    tf_candidates cs = {0};
    cs.cap = 8;
    cs.c = calloc(8, sizeof *cs.c);
    size_t p1 = strlen("Out of 1400 participants, 400"), p2 = strlen("Out of 1400 participants, 400 passed. So today");
    cs.c[cs.n++] = cand(1, "", "Today is Monday, January 30, 2023.", p2, 2.0f, 1);
    cs.c[cs.n++] = cand(0, "400 / 1400", "0.29", p1, 1.5f, 1);
    cs.c[cs.n++] = cand(0, "400 - 1400", "-1000", p1, 0.7f, 1);  // same place, lower score: dropped
    cs.c[cs.n++] = cand(0, "1 + 1", "2", 3, -1.0f, 0);            // not kept
    cs.kept[0] = 2, cs.kept[1] = 1;  // as tf_annotate_document counts the calls that passed
    cs.score_sum[0] = 1.5 + 0.7, cs.score_sum[1] = 2.0;
    char *x = tf_merge_calls(text, &set, &cs);
    cr_assert_str_eq(x, "Out of 1400 participants, 400 [Calculator(400 / 1400) -> 0.29] passed. So today "
                        "[Calendar() -> Today is Monday, January 30, 2023.] it is closed.");
    cr_assert_eq(cs.c[2].kept, 0);
    cr_assert(cs.c[2].displaced);
    cr_assert_eq(cs.kept[0], 1, "kept counts the calls written, not the displaced one");
    cr_assert_eq(cs.displaced[0], 1);
    cr_assert_float_eq(cs.score_sum[0], 1.5, 1e-6, "the mean score is of the calls written");
    cr_assert_eq(cs.kept[1], 1);
    cr_assert_eq(cs.displaced[1], 0);
    free(x);
    for (int k = 0; k < cs.n; k++) cs.c[k].kept = 0;
    cr_assert_null(tf_merge_calls(text, &set, &cs), "no kept call: the text is dropped");
    tf_candidates_free(&cs);
    tf_toolset_free(&set);
}

Test(eval_metrics, math_takes_the_first_number_or_the_one_after_equals) {
    cr_assert(tf_eval_math_correct(" 42 apples.", "42"));
    cr_assert(tf_eval_math_correct(" [Calculator(40 + 2) -> 42] 42 apples.", "42"), "calls are removed first");
    cr_assert_not(tf_eval_math_correct(" 41, not 42.", "42"));
    cr_assert(tf_eval_math_correct(" 5+3=8 so", "8"), "footnote 7: the number after '='");
    cr_assert(tf_eval_math_correct(" it is 1,234.5 dollars", "1234.5"));
    cr_assert(tf_eval_math_correct(" -7 degrees", "-7"));
    cr_assert_not(tf_eval_math_correct(" no number here", "3"));
    cr_assert(tf_eval_math_correct(" 0.29", "0.29"));
}

Test(eval_metrics, facts_look_within_the_first_words) {
    cr_assert(tf_eval_words_contain(" the capital is Paris.", "paris", 5));
    cr_assert_not(tf_eval_words_contain(" we all know that the capital is Paris.", "Paris", 5));
    cr_assert(tf_eval_words_contain(" [WikiSearch(France) -> France > capital Paris] Paris, of course", "Paris", 5));
    cr_assert(tf_eval_words_contain(" Buenos Aires is", "Buenos Aires", 5));
    char *s = tf_strip_calls("a [Calendar() -> Today is Monday.] b [not a call c");
    cr_assert_str_eq(s, "a b [not a call c");
    free(s);
}

// A model that has memorised one text with a call whose stated result is WRONG: decoding must run the
// tool and insert its real result, then go on.
Test(toolgen, executes_the_tool_at_the_arrow_and_inserts_its_result, .timeout = 120) {
    char dir[] = "/tmp/tf_toolgen_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    tf_tokenizer *tok;
    tf_model *m = memorised_lm(dir, CALC_DOC, &tok);
    tf_error err;
    tf_toolset set = {0};
    tf_tool_options topt = {0};
    cr_assert_eq(tf_toolset_parse(&set, "calculator", &topt, &err), TF_OK);
    tf_toolgen_options g;
    tf_toolgen_defaults(&g);
    g.max_new = 30;
    g.api_top_k = 1;  // plain greedy: the memorised " [" is the argmax
    tf_toolgen_result res;
    cr_assert_eq(tf_generate_with_tools(m, tok, &set, NULL, CALC_PROMPT, &g, &res,
                                        &err), TF_OK, "%s", err.msg);
    cr_assert_eq(res.n_calls, 1, "generated: %s", res.text);
    cr_assert_str_eq(res.calls[0].input, "12 + 30");
    cr_assert_str_eq(res.calls[0].result, "42");
    cr_assert(strncmp(res.text, " [Calculator(12 + 30) -> 42]", 28) == 0, "generated: %s", res.text);
    tf_toolgen_result_free(&res);
    // disabled: p(" [") = 0, so no call is made
    g.disable = 1;
    cr_assert_eq(tf_generate_with_tools(m, tok, &set, NULL, CALC_PROMPT, &g, &res,
                                        &err), TF_OK);
    cr_assert_eq(res.n_calls, 0, "generated: %s", res.text);
    cr_assert_null(strstr(res.text, " [Calc"), "generated: %s", res.text);
    tf_toolgen_result_free(&res);
    tf_toolset_free(&set);
    tf_tokenizer_free(tok);
    tf_model_free(m);
    rm_rf_dir(dir);
}

static long file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static char *slurp(const char *p) {
    tf_error err;
    char *s = tf_read_file(p, NULL, &err);
    cr_assert_not_null(s, "%s", err.msg);
    return s;
}

// A small corpus of arithmetic documents and a tiny model for it, in dir.
static void annotate_fixture(const char *dir, char *corpus, size_t cap) {
    snprintf(corpus, cap, "%s/corpus.jsonl", dir);
    FILE *f = fopen(corpus, "w");
    char text[256 * 40] = "";
    for (int d = 0; d < 24; d++) {
        char line[256];
        snprintf(line, sizeof line, "Out of %d apples, %d were red, so %d were green, a total of %d.", 30 + d, 10 + d, 20,
                 30 + d);
        fprintf(f, "{\"id\": \"d%d\", \"text\": \"%s\", \"date\": \"2023-01-%02d\"}\n", d, line, 1 + d);
        strcat(text, line);
        strcat(text, "\n");
    }
    fclose(f);
    tf_model_free(tiny_lm(dir, text, 1, 32, 3));
}

// tau_f -100 keeps every executed call, so the outputs are large and every document is written
#define ANNOTATE_ARGS "annotate --model %s --data %s --tools calculator,calendar --proposer tool --tau-f -100 " \
                      "--top-k 2 --samples 2 --seed 9 --threads 1 --quiet"

static int by_strcmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// The lines of a file, sorted, joined again.
static char *sorted_lines(char *s) {
    char *lines[4096];
    int n = 0;
    for (char *tok = strtok(s, "\n"); tok && n < 4096; tok = strtok(NULL, "\n")) lines[n++] = tok;
    qsort(lines, n, sizeof *lines, by_strcmp);
    size_t total = 1;
    for (int i = 0; i < n; i++) total += strlen(lines[i]) + 1;
    char *out = malloc(total), *o = out;
    for (int i = 0; i < n; i++) o += sprintf(o, "%s\n", lines[i]);
    *o = '\0';
    return out;
}

Test(annotate, shards_together_hold_the_unsharded_output, .timeout = 300) {
    char dir[] = "/tmp/tf_shard_XXXXXX", corpus[256], args[1024], out[4096], p[3][256];
    cr_assert_not_null(mkdtemp(dir));
    annotate_fixture(dir, corpus, sizeof corpus);
    snprintf(args, sizeof args, ANNOTATE_ARGS, dir, corpus);
    for (int k = 0; k < 3; k++) snprintf(p[k], sizeof p[k], "%s/out%d.jsonl", dir, k);
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s", args, p[0]), 0, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s --shard 0/2", args, p[1]), 0, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s --shard 1/2", args, p[2]), 0, "%s", cli_run_stderr);
    char *all = slurp(p[0]), *s0 = slurp(p[1]), *s1 = slurp(p[2]);
    cr_assert_gt(strlen(s0), 100);
    cr_assert_gt(strlen(s1), 100);
    char *both = malloc(strlen(s0) + strlen(s1) + 1);
    strcpy(both, s0);
    strcat(both, s1);
    char *a = sorted_lines(all), *b = sorted_lines(both);
    cr_assert_str_eq(a, b);
    free(all), free(s0), free(s1), free(both), free(a), free(b);
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s --shard 2/2", args, p[1]), 2, "K must be below N");
    rm_rf_dir(dir);
}

// SIGKILL annotate at several moments, resume each time: the output equals an uninterrupted run's.
Test(annotate, resume_after_sigkill_equals_an_uninterrupted_run, .timeout = 300) {
    char dir[] = "/tmp/tf_annotate_XXXXXX", corpus[256], a[256], b[256], ra[256], rb[256];
    cr_assert_not_null(mkdtemp(dir));
    annotate_fixture(dir, corpus, sizeof corpus);
    snprintf(a, sizeof a, "%s/a.jsonl", dir);
    snprintf(b, sizeof b, "%s/b.jsonl", dir);
    snprintf(ra, sizeof ra, "%s/a.rejected", dir);
    snprintf(rb, sizeof rb, "%s/b.rejected", dir);
    char args[1024];
    snprintf(args, sizeof args, ANNOTATE_ARGS, dir, corpus);
    char out[4096];
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s --rejected %s", args, a, ra), 0, "%s", cli_run_stderr);
    cr_assert_gt(file_size(a), 1000);
    // the interrupted runs
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "exec %s %s --out %s --rejected %s --resume >/dev/null", cli_bin(), args, b, rb);
    int kills = 0;
    for (int round = 0; round < 30; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
            _exit(127);
        }
        struct timespec ts = {0, (long)(30 + 37 * round % 200) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        if (WIFSIGNALED(st)) kills++;
        else {
            cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "resumed run failed");
            break;
        }
    }
    cr_assert_gt(kills, 0, "no run was interrupted");
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s --rejected %s --resume", args, b, rb), 0, "%s", cli_run_stderr);
    char *sa = slurp(a), *sb = slurp(b), *xa = slurp(ra), *xb = slurp(rb);
    cr_assert_str_eq(sa, sb, "resumed output differs after %d kills", kills);
    cr_assert_str_eq(xa, xb, "resumed rejected file differs after %d kills", kills);
    free(sa), free(sb), free(xa), free(xb);
    rm_rf_dir(dir);
}

// The prompt proposer end to end on a random model: positions from p(" [" | P(x), x) (tau_s 0: every
// position qualifies), calls sampled from forked caches until "]" or "->"; whatever the model writes
// (a random model rarely writes a valid call), every document is processed without error.
Test(annotate, prompt_proposer_samples_from_forked_caches, .timeout = 300) {
    char dir[] = "/tmp/tf_prompt_XXXXXX", corpus[256], out_path[256], out[8192];
    cr_assert_not_null(mkdtemp(dir));
    annotate_fixture(dir, corpus, sizeof corpus);
    snprintf(out_path, sizeof out_path, "%s/out.jsonl", dir);
    // an external tool with a short zero-shot prompt that fits the tiny model's context
    cr_assert_eq(cli_run(out, sizeof out,
                         "annotate --model %s --data %s --tool 'Echo=python3 examples/tools/units.py' --proposer prompt "
                         "--tau-s 0 --tau-f -100 --top-k 3 --samples 4 --max-docs 4 --threads 1 --quiet --json --out %s",
                         dir, corpus, out_path),
                 0, "%s", cli_run_stderr);
    cr_assert(strstr(out, "\"documents\": 4") != NULL, "%s", out);
    cr_assert_not_null(strstr(out, "\"tool\": \"Echo\", \"candidates\": "), "%s", out);
    rm_rf_dir(dir);
}

// Calls go between words, never inside one: every kept call's char_pos is a word boundary.
Test(annotate, calls_are_placed_between_words, .timeout = 300) {
    char dir[] = "/tmp/tf_words_XXXXXX", corpus[256], out_path[256], out[4096];
    cr_assert_not_null(mkdtemp(dir));
    annotate_fixture(dir, corpus, sizeof corpus);
    snprintf(out_path, sizeof out_path, "%s/out.jsonl", dir);
    char args[1024];
    snprintf(args, sizeof args, ANNOTATE_ARGS, dir, corpus);
    cr_assert_eq(cli_run(out, sizeof out, "%s --top-k 50 --out %s", args, out_path), 0, "%s", cli_run_stderr);
    char *s = slurp(out_path);
    int calls = 0;
    for (char *p = strstr(s, "\"char_pos\":"); p; p = strstr(p + 1, "\"char_pos\":")) calls++;
    cr_assert_gt(calls, 10);
    // in x*, a call's " [" never follows a letter or digit directly and "]" is never followed by one
    for (char *p = strstr(s, " ["); p; p = strstr(p + 1, " [")) {
        if (strncmp(p, " [Calculator(", 13) && strncmp(p, " [Calendar(", 11)) continue;
        char *end = strchr(p, ']');
        cr_assert_not_null(end);
        cr_assert(!isalnum((unsigned char)end[1]), "a call splits a word: %.60s", p);
    }
    free(s);
    rm_rf_dir(dir);
}

// Calls f(ctx, doc, call, rejected) for every call in annotate's output (rejected 0) and then for
// every line of its rejected file (rejected 1; NULL: none).
typedef void (*call_visitor)(void *ctx, int doc, const cJSON *call, int rejected);
static void each_scored_call(const char *out_path, const char *rej_path, call_visitor f, void *ctx) {
    for (int rejected = 0; rejected < (rej_path ? 2 : 1); rejected++) {
        char *s = slurp(rejected ? rej_path : out_path), *save;
        for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            cJSON *j = cJSON_Parse(line), *c;
            cr_assert_not_null(j, "not JSON: %.80s", line);
            int d = cJSON_GetObjectItem(j, "doc_index")->valueint;
            if (rejected) f(ctx, d, j, 1);
            else cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "calls")) f(ctx, d, c, 0);
            cJSON_Delete(j);
        }
        free(s);
    }
}

static int tool_index(const cJSON *call) {  // 0 Calculator, 1 Calendar
    return strcmp(cJSON_GetObjectItem(call, "tool")->valuestring, "Calendar") == 0;
}

// The best score of each tool's calls in each document of annotate's output (and rejected file, when
// given: every scored call then counts), -INFINITY for none, and the most calls one tool has in one
// document of the output.
typedef struct {
    float best[32][2];  // [document][tool: 0 Calculator, 1 Calendar]
    int kept[32][2];    // calls in the output
    int most;
} calls_by_doc;

static void note_call(void *ctx, int d, const cJSON *c, int rejected) {
    calls_by_doc *r = ctx;
    int t = tool_index(c);
    float score = (float)cJSON_GetObjectItem(c, "score")->valuedouble;
    cr_assert(d >= 0 && d < 32);
    if (!rejected && ++r->kept[d][t] > r->most) r->most = r->kept[d][t];
    if (score > r->best[d][t]) r->best[d][t] = score;
}

static calls_by_doc read_calls(const char *path, const char *rejected) {
    calls_by_doc r = {.most = 0};
    for (int d = 0; d < 32; d++) r.best[d][0] = r.best[d][1] = -INFINITY;
    each_scored_call(path, rejected, note_call, &r);
    return r;
}

typedef struct {
    const calls_by_doc *kept;  // the capped run's output
    int capped;
} capped_check;

// a rejected call marked capped scores no better than the call its tool kept in that document
static void check_capped(void *ctx, int d, const cJSON *c, int rejected) {
    capped_check *cc = ctx;
    if (!rejected || !cJSON_IsTrue(cJSON_GetObjectItem(c, "capped"))) return;
    float best = cc->kept->best[d][tool_index(c)];
    if (best > -INFINITY) cr_assert_leq(cJSON_GetObjectItem(c, "score")->valuedouble, best + 1e-6);
    cc->capped++;
}

// --max-calls 1 keeps each tool's best call in each document; the others are reported as capped.
Test(annotate, max_calls_keeps_the_best_scores, .timeout = 300) {
    char dir[] = "/tmp/tf_maxcalls_XXXXXX", corpus[256], args[1024], out[4096], all[256], one[256], rej[256];
    char rej_all[256];
    cr_assert_not_null(mkdtemp(dir));
    annotate_fixture(dir, corpus, sizeof corpus);
    snprintf(args, sizeof args, ANNOTATE_ARGS, dir, corpus);
    snprintf(all, sizeof all, "%s/all.jsonl", dir);
    snprintf(one, sizeof one, "%s/one.jsonl", dir);
    snprintf(rej, sizeof rej, "%s/one.rejected.jsonl", dir);
    snprintf(rej_all, sizeof rej_all, "%s/all.rejected.jsonl", dir);
    // tau_f -100: the uncapped run rejects only the calls that lost their position to a better one
    cr_assert_eq(cli_run(out, sizeof out, "%s --top-k 6 --out %s --rejected %s", args, all, rej_all), 0, "%s",
                 cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "%s --top-k 6 --max-calls 1 --out %s --rejected %s --json", args, one, rej), 0,
                 "%s", cli_run_stderr);
    calls_by_doc a = read_calls(all, rej_all), b = read_calls(one, NULL);
    cr_assert_gt(a.most, 1, "without a cap some tool has several calls in a document");
    cr_assert_eq(b.most, 1);
    int compared = 0;
    for (int d = 0; d < 32; d++)
        for (int t = 0; t < 2; t++)
            if (b.best[d][t] > -INFINITY) {  // the one call left is the best the uncapped run scored
                cr_assert_float_eq(b.best[d][t], a.best[d][t], 1e-6, "document %d tool %d", d, t);
                compared++;
            }
    cr_assert_gt(compared, 10);
    // the capped calls are in the rejected file, marked, none better than the call kept
    capped_check cc = {&b, 0};
    each_scored_call(one, rej, check_capped, &cc);
    cr_assert_gt(cc.capped, 10);
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s --set calendar.max_calls=-1", args, one), 2, "a negative cap");
    rm_rf_dir(dir);
}

// compare's loss of one variant (name, placement) from its --json output
static double compare_loss(const char *json, const char *name, const char *placement) {
    cJSON *j = cJSON_Parse(json), *v;
    cr_assert_not_null(j, "compare printed no JSON: %.200s", json);
    double loss = NAN;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(j, "variants"))
        if (!strcmp(cJSON_GetObjectItem(v, "name")->valuestring, name) &&
            !strcmp(cJSON_GetObjectItem(v, "placement")->valuestring, placement))
            loss = cJSON_GetObjectItem(v, "loss")->valuedouble;
    cJSON_Delete(j);
    cr_assert(!isnan(loss), "no %s/%s variant", name, placement);
    return loss;
}

// "doc pos tool input" lines of calls, appended to a growing buffer
typedef struct {
    char *s;
    size_t len, cap;
} key_lines;

static void add_key(void *ctx, int d, const cJSON *c, int rejected) {
    (void)rejected;
    key_lines *k = ctx;
    const char *input = cJSON_GetObjectItem(c, "input")->valuestring;
    if (k->len + strlen(input) + 64 > k->cap) cr_assert_not_null(k->s = realloc(k->s, k->cap *= 2));
    k->len += sprintf(k->s + k->len, "%d %d %s %s\n", d, cJSON_GetObjectItem(c, "char_pos")->valueint,
                      cJSON_GetObjectItem(c, "tool")->valuestring, input);
}

// Every call a run scored (its output's calls and its rejected file) as sorted "doc pos tool input" lines.
static char *scored_calls(const char *out_path, const char *rej_path) {
    key_lines k = {malloc(1 << 16), 0, 1 << 16};
    cr_assert_not_null(k.s);
    k.s[0] = '\0';
    each_scored_call(out_path, rej_path, add_key, &k);
    char *sorted = sorted_lines(k.s);
    free(k.s);
    return sorted;
}

// --placement inline scores each call where it stands in the text: the same candidates as the
// default prefix run, and each kept call's L+ is compare's inline with_result loss (prefix: its
// prefix one)
Test(annotate, placement_inline_scores_the_call_at_its_position, .timeout = 300) {
    char dir[] = "/tmp/tf_placement_XXXXXX", corpus[256], args[1024], out[8192], path[2][256], rej[2][256];
    const char *placement[2] = {"prefix", "inline"};
    cr_assert_not_null(mkdtemp(dir));
    annotate_fixture(dir, corpus, sizeof corpus);
    snprintf(args, sizeof args, ANNOTATE_ARGS, dir, corpus);
    int checked[2] = {0, 0}, differ = 0;
    for (int p = 0; p < 2; p++) {
        snprintf(path[p], sizeof path[p], "%s/%s.jsonl", dir, placement[p]);
        snprintf(rej[p], sizeof rej[p], "%s/%s.rejected.jsonl", dir, placement[p]);
        cr_assert_eq(cli_run(out, sizeof out, "%s --max-docs 4 --placement %s --out %s --rejected %s", args,
                             placement[p], path[p], rej[p]), 0, "%s", cli_run_stderr);
        char *s = slurp(path[p]), *save;
        for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            cJSON *j = cJSON_Parse(line);
            cr_assert_not_null(j);
            const char *src = cJSON_GetObjectItem(j, "source_text")->valuestring;
            cJSON *calls = cJSON_GetObjectItem(j, "calls");
            for (int k = 0; k < cJSON_GetArraySize(calls) && k < 2; k++) {
                cJSON *c = cJSON_GetArrayItem(calls, k);
                char at[256], cmp[8192];
                snprintf(at, sizeof at, "%.*s", cJSON_GetObjectItem(c, "char_pos")->valueint, src);  // found at 0
                cr_assert_eq(cli_run(cmp, sizeof cmp, "compare --model %s --text '%s' --call '%s(%s)' --at '%s' "
                                     "--result '%s' --threads 1 --json", dir, src,
                                     cJSON_GetObjectItem(c, "tool")->valuestring,
                                     cJSON_GetObjectItem(c, "input")->valuestring, at,
                                     cJSON_GetObjectItem(c, "result")->valuestring), 0, "%s", cli_run_stderr);
                cr_assert_float_eq(cJSON_GetObjectItem(c, "loss_plus")->valuedouble,
                                   compare_loss(cmp, "with_result", placement[p]), 1e-4, "%s L+ at '%s'",
                                   placement[p], at);
                differ += fabs(cJSON_GetObjectItem(c, "loss_plus")->valuedouble -
                               compare_loss(cmp, "with_result", placement[1 - p])) > 1e-3;
                checked[p]++;
            }
            cJSON_Delete(j);
        }
        free(s);
    }
    cr_assert_gt(checked[0], 4);
    cr_assert_gt(checked[1], 4);
    cr_assert_gt(differ, checked[0], "the two placements score different contexts");
    char *a = scored_calls(path[0], rej[0]), *b = scored_calls(path[1], rej[1]);
    cr_assert_str_eq(a, b, "the placement changes the scores, not the candidates");
    cr_assert_gt(strlen(a), 100);
    free(a);
    free(b);
    cr_assert_eq(cli_run(out, sizeof out, "%s --placement middle --out %s", args, path[0]), 2, "an unknown placement");
    rm_rf_dir(dir);
}
