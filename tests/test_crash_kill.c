// test_crash_kill.c — SIGKILL at seeded random moments of `annotate`, `train` and `index`, many times,
// each time followed by --resume: the final outputs equal an uninterrupted run's (byte for byte where
// the run is deterministic), with no record lost or duplicated and no torn checkpoint.
#include <criterion/criterion.h>
#include <sqlite3.h>

#include "crash_util.h"
#include "pipeline_util.h"

// Kills per command: 24, or TF_CRASH_KILLS for a longer soak (docs/reliability.md).
static int want_kills(void) {
    const char *e = getenv("TF_CRASH_KILLS");
    int n = e ? atoi(e) : 0;
    return n > 0 ? n : 24;
}
#define WANT_KILLS want_kills()

static char *mkdir_tmp(char *tmpl) {
    cr_assert_not_null(mkdtemp(tmpl));
    return tmpl;
}


// ---- annotate ------------------------------------------------------------------------------------
static long file_bytes(void *path) { return crash_file_size(path); }

Test(crash, annotate_killed_24_times_resumes_to_the_uninterrupted_output, .timeout = 600) {
    char dir[] = "/tmp/tf_crash_ann_XXXXXX";
    mkdir_tmp(dir);
    char corpus[300], a[300], b[300], ra[300], rb[300], args[2048], text[64 * 120] = "";
    snprintf(corpus, sizeof corpus, "%s/corpus.jsonl", dir);
    FILE *f = fopen(corpus, "w");
    for (int d = 0; d < 150; d++) {
        char line[160];
        snprintf(line, sizeof line, "Of %d pears and %d plums, %d were sold, a total of %d.", 20 + d, 5 + d % 7, 9, 25 + d);
        fprintf(f, "{\"id\": \"d%d\", \"text\": \"%s\", \"date\": \"2023-02-%02d\"}\n", d, line, 1 + d % 28);
        if (d < 40) strcat(strcat(text, line), "\n");
    }
    fclose(f);
    tf_model_free(tiny_lm(dir, text, 1, 32, 5));
    snprintf(a, sizeof a, "%s/a.jsonl", dir);
    snprintf(b, sizeof b, "%s/b.jsonl", dir);
    snprintf(ra, sizeof ra, "%s/a.rejected", dir);
    snprintf(rb, sizeof rb, "%s/b.rejected", dir);
    const char *common = "annotate --model %s --data %s --tools calculator,calendar --proposer tool --tau-f 0.05 "
                         "--top-k 3 --samples 3 --seed 4 --threads 1 --quiet --out %s --rejected %s";
    snprintf(args, sizeof args, common, dir, corpus, a, ra);
    double t_full = crash_time_run(args, 0);
    size_t la = 0, lra = 0;
    char *sa = crash_slurp(a, &la), *xa = crash_slurp(ra, &lra);
    cr_assert(sa && la > 1000 && xa && lra > 1000, "the uninterrupted run wrote too little to test with");
    strcat(args, " --resume");  // a finished run resumed: nothing to do, nothing changes
    double t_start = crash_time_run(args, 0);
    size_t la2 = 0;
    char *sa2 = crash_slurp(a, &la2);
    cr_assert(la2 == la && !memcmp(sa, sa2, la), "resuming a finished run changed its output");
    free(sa2);
    snprintf(args, sizeof args, common, dir, corpus, b, rb);
    strcat(args, " --resume");
    crash_stats cs;
    crash_kill_loop(args, 0, WANT_KILLS, 20 * WANT_KILLS, t_start, t_full, 0xA77A7EULL, file_bytes, b, (long)la, &cs);
    cr_assert_geq(cs.kills, WANT_KILLS, "only %d runs were killed", cs.kills);
    cr_assert_geq(cs.mid_work, 4, "only %d kills fell while the output was being written", cs.mid_work);
    char out[4096];
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 0, "%s", cli_run_stderr);
    size_t lb = 0, lrb = 0;
    char *sb = crash_slurp(b, &lb), *xb = crash_slurp(rb, &lrb);
    cr_assert(lb == la && !memcmp(sa, sb, la), "output differs after %d kills (%zu vs %zu bytes)", cs.kills, lb, la);
    cr_assert(lrb == lra && !memcmp(xa, xb, lra), "rejected file differs after %d kills", cs.kills);
    // the summary of the resumed run counts every document once
    cr_assert_eq(cli_run(out, sizeof out, "%s --json", args), 0, "%s", cli_run_stderr);
    cr_assert_not_null(strstr(out, "\"documents\": 150,"), "%s", out);
    free(sa), free(sb), free(xa), free(xb);
    rm_rf_dir(dir);
}

// ---- train ---------------------------------------------------------------------------------------
typedef struct {
    char cur[400], old[400];  // DIR/checkpoint/trainer_state.json and DIR/checkpoint.old/trainer_state.json
} train_obs;

// The step of the checkpoint on disk after a kill (-1: none yet); a torn checkpoint fails the test.
static long checkpoint_step(void *ctx) {
    train_obs *o = ctx;
    char *s = crash_slurp(o->cur, NULL);
    if (!s) s = crash_slurp(o->old, NULL);  // killed between the two renames
    if (!s) return -1;
    char *st = strstr(s, "\"step\": ");
    cr_assert(st && strstr(s, "\"log_bytes\": ") && strchr(s, '}'), "torn trainer state after a kill: %s", s);
    long v = strtol(st + 8, NULL, 10);
    free(s);
    return v;
}

// Removes the "log_bytes" field from a trainer state.
static void strip_log_bytes(char *s) {
    char *p = strstr(s, ", \"log_bytes\": ");
    if (!p) return;
    char *e = strchr(p, '}');
    memmove(p, e, strlen(e) + 1);
}

// The log without its timing field (tokens_per_s differs from run to run).
static char *log_without_timing(const char *path) {
    char *s = crash_slurp(path, NULL);
    cr_assert_not_null(s, "%s: no log", path);
    for (char *p; (p = strstr(s, ", \"tokens_per_s\": "));) {
        char *e = strchr(p, '}');
        memmove(p, e, strlen(e) + 1);
    }
    return s;
}

Test(crash, train_killed_24_times_resumes_to_the_same_model_and_log, .timeout = 600) {
    char dir[] = "/tmp/tf_crash_train_XXXXXX";
    mkdir_tmp(dir);
    char data[300], a[300], b[300], args[2048], out[4096];
    snprintf(data, sizeof data, "%s/data.jsonl", dir);
    FILE *f = fopen(data, "w");
    for (int d = 0; d < 40; d++) {
        fprintf(f, "{\"ids\": [");
        for (int i = 0; i < 40; i++) fprintf(f, "%s%d", i ? ", " : "", (d * 7 + i * i) % 63);
        fprintf(f, "]}\n");
    }
    fclose(f);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    const char *common = "train --config tests/fixtures/gpt2-tiny/config.json --data %s --out %s --log %s/log.jsonl "
                         "--steps 240 --batch 4 --seq-len 32 --lr 1e-3 --save-every 5 --threads 1 --seed 3";
    snprintf(args, sizeof args, common, data, a, a);
    tf_error err;
    cr_assert_eq(tf_mkdir_p(a, &err), TF_OK, "%s", err.msg);
    double t_full = crash_time_run(args, 0);
    strcat(args, " --resume");
    double t_start = crash_time_run(args, 0);
    snprintf(args, sizeof args, common, data, b, b);
    strcat(args, " --resume");
    cr_assert_eq(tf_mkdir_p(b, &err), TF_OK, "%s", err.msg);
    train_obs obs;
    snprintf(obs.cur, sizeof obs.cur, "%s/checkpoint/trainer_state.json", b);
    snprintf(obs.old, sizeof obs.old, "%s/checkpoint.old/trainer_state.json", b);
    crash_stats cs;
    crash_kill_loop(args, 0, WANT_KILLS, 20 * WANT_KILLS, t_start, t_full, 0x7EA1ULL, checkpoint_step, &obs, 240, &cs);
    cr_assert_geq(cs.kills, WANT_KILLS, "only %d runs were killed", cs.kills);
    cr_assert_geq(cs.mid_work, 4, "only %d kills fell while the run was training", cs.mid_work);
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 0, "%s", cli_run_stderr);
    const char *files[] = {"model.safetensors", "config.json", "checkpoint/model.safetensors",
                           "checkpoint/optimizer.safetensors", "checkpoint/trainer_state.json"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char pa[400], pb[400];
        snprintf(pa, sizeof pa, "%s/%s", a, files[k]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[k]);
        size_t la = 0, lb = 0;
        char *sa = crash_slurp(pa, &la), *sb = crash_slurp(pb, &lb);
        cr_assert(sa && sb, "%s missing", files[k]);
        if (strstr(files[k], "trainer_state")) {  // the log's length depends on its timing fields
            strip_log_bytes(sa), strip_log_bytes(sb);
            la = strlen(sa), lb = strlen(sb);
        }
        cr_assert(la == lb && !memcmp(sa, sb, la), "%s differs from the uninterrupted run's after %d kills", files[k],
                  cs.kills);
        free(sa), free(sb);
    }
    char la[400], lb[400];
    snprintf(la, sizeof la, "%s/log.jsonl", a);
    snprintf(lb, sizeof lb, "%s/log.jsonl", b);
    char *ga = log_without_timing(la), *gb = log_without_timing(lb);
    cr_assert_str_eq(gb, ga, "the log lost or repeated a step after %d kills", cs.kills);
    free(ga), free(gb);
    // nothing left behind: no checkpoint.new / checkpoint.old, no temporary files
    char cmd[800];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -a %s %s/checkpoint | grep -e '\\.tmp' -e 'checkpoint\\.')\"", b, b);
    cr_assert_eq(system(cmd), 0, "temporary files left in %s", b);
    rm_rf_dir(dir);
}

// ---- index ---------------------------------------------------------------------------------------
// Every passage with its rowid, in rowid order, after SQLite's and FTS5's integrity checks.
static char *index_dump(const char *db_path) {
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "%s", db_path);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    size_t cap = 1 << 20, n = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT rowid, title, text FROM passages ORDER BY rowid", -1, &st, NULL),
                 SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 1), *x = (const char *)sqlite3_column_text(st, 2);
        size_t need = strlen(t) + strlen(x) + 32;
        if (n + need >= cap) out = realloc(out, cap = 2 * (cap + need));
        n += (size_t)sprintf(out + n, "%lld\t%s\t%s\n", (long long)sqlite3_column_int64(st, 0), t, x);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

typedef struct {
    const char *db;
} index_obs;

// Passages committed in the index after a kill (-1: no index yet).
static long index_rows(void *ctx) {
    index_obs *o = ctx;
    if (crash_file_size(o->db) <= 0) return -1;
    sqlite3 *db = NULL;
    long n = -1;
    if (sqlite3_open_v2(o->db, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)  // rolls a hot journal back
        n = crash_count_passages(db);
    sqlite3_close(db);
    return n;
}

Test(crash, index_killed_24_times_resumes_to_the_same_passages, .timeout = 600) {
    char dir[] = "/tmp/tf_crash_idx_XXXXXX";
    mkdir_tmp(dir);
    char p1[300], p2[300], a[300], b[300], args[2048], out[4096];
    snprintf(p1, sizeof p1, "%s/p1.jsonl", dir);
    snprintf(p2, sizeof p2, "%s/p2.jsonl", dir);
    const char *words[] = {"river", "mountain", "flag", "red", "king", "harbour", "music", "Ghana", "treaty", "salt"};
    uint64_t s = 77;
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(k ? p2 : p1, "w");
        for (int i = 0; i < 6000; i++) {
            if (i % 997 == 5) fprintf(f, "{\"title\": \"broken %d\"\n", i);  // malformed: skipped, counted
            fprintf(f, "{\"title\": \"P%d-%d\", \"text\": \"", k, i);
            for (int w = 0; w < 24; w++) fprintf(f, "%s%s", w ? " " : "", words[(int)(crash_rand01(&s) * 10)]);
            fprintf(f, "\"}\n");
        }
        fclose(f);
    }
    snprintf(a, sizeof a, "%s/a.db", dir);
    snprintf(b, sizeof b, "%s/b.db", dir);
    snprintf(args, sizeof args, "index --data %s --data %s --out %s --batch 150", p1, p2, a);
    double t0 = crash_now();
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 1, "malformed lines make the exit status 1: %s", cli_run_stderr);
    double t_full = crash_now() - t0;
    char *want_err = strstr(cli_run_stderr, "indexed ");
    cr_assert_not_null(want_err, "%s", cli_run_stderr);
    char want_summary[512];
    snprintf(want_summary, sizeof want_summary, "%s", want_err);
    *strstr(want_summary, a) = '\0';  // "indexed N passages into " — the same counts for the resumed build
    snprintf(args, sizeof args, "index --data %s --data %s --out %s --batch 150 --resume", p1, p2, a);
    double t_start = crash_time_run(args, 1);  // a finished build resumed: nothing is added
    char *da = index_dump(a);
    snprintf(args, sizeof args, "index --data %s --data %s --out %s --batch 150 --resume", p1, p2, b);
    index_obs obs = {b};
    crash_stats cs;
    // a finished build exits 1: it skipped the malformed lines
    crash_kill_loop(args, 1, WANT_KILLS, 20 * WANT_KILLS, t_start, t_full, 0x1DE7ULL, index_rows, &obs, 12000, &cs);
    cr_assert_geq(cs.kills, WANT_KILLS, "only %d runs were killed", cs.kills);
    cr_assert_geq(cs.mid_work, 4, "only %d kills fell while passages were being committed", cs.mid_work);
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 1, "%s", cli_run_stderr);
    cr_assert_not_null(strstr(cli_run_stderr, want_summary), "resumed: %s\nuninterrupted: %s", cli_run_stderr,
                       want_summary);
    char *db = index_dump(b);
    cr_assert_gt(strlen(da), 100000);
    cr_assert_str_eq(db, da, "the index lost or repeated passages after %d kills", cs.kills);
    free(da), free(db);
    rm_rf_dir(dir);
}
