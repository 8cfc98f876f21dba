// test_limits.c — resource limits: a file-size limit (RLIMIT_FSIZE) hit in the middle of annotate's and
// index's writes is one clear error that leaves the last good output whole (and resumable); a 100 MB
// document, a 1 MB line, a 10,000-call document and an empty corpus are handled by annotate, train,
// tokenize and index with bounded memory (peak RSS of the child, from wait4) and a clear message.
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include "crash_util.h"
#include "pipeline_util.h"

#define MODEL "models/default"  // 4 layers, n_positions 256, a 4,096-token BPE

typedef struct {
    int exit_code;  // -1: killed by a signal
    long maxrss_kb;
    char err[8192];  // stderr
    char out[8192];  // the start of stdout
} limited_run;

// Runs `BIN ARGS` with RLIMIT_FSIZE = fsize bytes (0: no limit); collects its exit code, peak RSS,
// stderr and the start of stdout.
static void run_limited(long fsize, limited_run *r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void run_limited(long fsize, limited_run *r, const char *fmt, ...) {
    char args[4096], cmd[8192], errp[64], outp[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(errp, sizeof errp, "/tmp/tf_limits_%d.err", (int)getpid());
    snprintf(outp, sizeof outp, "/tmp/tf_limits_%d.out", (int)getpid());
    snprintf(cmd, sizeof cmd, "exec %s %s >%s 2>%s", cli_bin(), args, outp, errp);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        if (fsize > 0) {
            struct rlimit rl = {(rlim_t)fsize, (rlim_t)fsize};
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(126);
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
    r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->maxrss_kb = ru.ru_maxrss;
    FILE *f = fopen(errp, "r");
    size_t n = f ? fread(r->err, 1, sizeof r->err - 1, f) : 0;
    r->err[n] = '\0';
    if (f) fclose(f);
    f = fopen(outp, "r");
    n = f ? fread(r->out, 1, sizeof r->out - 1, f) : 0;
    r->out[n] = '\0';
    if (f) fclose(f);
    unlink(errp);
    unlink(outp);
}

static int asan(void) { return getenv("TF_ASAN") != NULL; }  // sanitizer builds: RSS is not comparable

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

// ---- file-size limits ------------------------------------------------------------------------------
Test(limits, annotate_file_size_limit_is_one_clear_error_and_keeps_whole_lines, .timeout = 300) {
    char dir[] = "/tmp/tf_limits_ann_XXXXXX", corpus[300], a[300], b[300], rb[300], ra[300];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(corpus, sizeof corpus, "%s/corpus.jsonl", dir);
    FILE *f = fopen(corpus, "w");
    for (int d = 0; d < 40; d++)
        fprintf(f, "{\"id\": \"d%d\", \"text\": \"Of %d pears and %d plums, %d were sold, a total of %d.\", "
                   "\"date\": \"2023-03-%02d\"}\n", d, 20 + d, 5 + d % 7, 9, 25 + d, 1 + d % 28);
    fclose(f);
    snprintf(a, sizeof a, "%s/a.jsonl", dir);
    snprintf(b, sizeof b, "%s/b.jsonl", dir);
    snprintf(ra, sizeof ra, "%s/a.rej", dir);
    snprintf(rb, sizeof rb, "%s/b.rej", dir);
    const char *common = "annotate --model " MODEL " --data %s --tools calculator,calendar --proposer tool "
                         "--tau-f -100 --top-k 2 --samples 2 --threads 1 --quiet --out %s --rejected %s";
    limited_run r;
    run_limited(0, &r, common, corpus, a, ra);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    size_t la = 0, lra = 0;
    char *sa = crash_slurp(a, &la), *xa = crash_slurp(ra, &lra);
    cr_assert_gt(la, 8000, "the uninterrupted output is too small to test with");
    // a limit a third of the way into the output: the write of some document fails
    long limit = (long)la / 3;
    run_limited(limit, &r, common, corpus, b, rb);
    cr_assert_eq(r.exit_code, 1, "expected exit 1, got %d: %s", r.exit_code, r.err);
    cr_assert_eq(count_lines(r.err), 1, "more than one line: %s", r.err);
    cr_assert(!strncmp(r.err, "toolformer: ", 12) && strstr(r.err, "File too large") &&
                  (strstr(r.err, b) || strstr(r.err, rb)),
              "the error does not name the file and the cause: %s", r.err);
    // what is left is a prefix of whole lines of the uninterrupted output, as the progress file says
    size_t lb = 0, lrb = 0;
    char *sb = crash_slurp(b, &lb), *xb = crash_slurp(rb, &lrb);
    cr_assert(lb < la && !memcmp(sa, sb, lb) && (lb == 0 || sb[lb - 1] == '\n'), "output is not a whole-line prefix");
    cr_assert(lrb < lra && !memcmp(xa, xb, lrb) && (lrb == 0 || xb[lrb - 1] == '\n'), "rejected file is not a prefix");
    cr_assert_leq((long)lb, limit);
    char pp[320];
    snprintf(pp, sizeof pp, "%s.progress", b);
    char *prog = crash_slurp(pp, NULL);
    cr_assert_not_null(prog);
    char *ob = strstr(prog, "\"out_bytes\":");
    cr_assert(ob && strtol(ob + 12, NULL, 10) == (long)lb, "progress and output disagree: %s (%zu bytes)", prog, lb);
    free(prog), free(sb), free(xb);
    // with the limit lifted, --resume finishes it exactly
    char args[2048];
    snprintf(args, sizeof args, common, corpus, b, rb);
    run_limited(0, &r, "%s --resume", args);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    sb = crash_slurp(b, &lb), xb = crash_slurp(rb, &lrb);
    cr_assert(lb == la && !memcmp(sa, sb, la), "resumed output differs");
    cr_assert(lrb == lra && !memcmp(xa, xb, lra), "resumed rejected file differs");
    free(sa), free(sb), free(xa), free(xb);
    rm_rf_dir(dir);
}

static long db_count(const char *path) {
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok", "%s is damaged", path);
    sqlite3_finalize(st);
    long n = crash_count_passages(db);
    sqlite3_close(db);
    return n;
}

static void write_passages(const char *path, int n, int tag) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < n; i++)
        fprintf(f, "{\"title\": \"Place %d-%d\", \"text\": \"The harbour of place %d-%d trades salt, wool and %d barrels "
                   "of oil each year along the river.\"}\n", tag, i, tag, i, i * 7 + tag);
    fclose(f);
}

Test(limits, index_file_size_limit_is_one_clear_error_and_keeps_committed_batches, .timeout = 300) {
    char dir[] = "/tmp/tf_limits_idx_XXXXXX", p1[300], p2[300], a[300], b[300];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(p1, sizeof p1, "%s/p1.jsonl", dir);
    snprintf(p2, sizeof p2, "%s/p2.jsonl", dir);
    snprintf(a, sizeof a, "%s/a.db", dir);
    snprintf(b, sizeof b, "%s/b.db", dir);
    write_passages(p1, 2000, 1);
    write_passages(p2, 20000, 2);
    limited_run r;
    // the uninterrupted build, and the one that will meet the limit while appending p2
    run_limited(0, &r, "index --data %s --data %s --out %s --batch 500", p1, p2, a);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    run_limited(0, &r, "index --data %s --out %s --batch 500", p1, b);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    long size = crash_file_size(b);
    run_limited(size + 256 * 1024, &r, "index --data %s --out %s --batch 500 --append", p2, b);
    cr_assert_eq(r.exit_code, 1, "expected exit 1, got %d: %s", r.exit_code, r.err);
    cr_assert(!strncmp(r.err, "toolformer: ", 12) && strstr(r.err, b), "the error does not name the index: %s", r.err);
    cr_assert(strstr(r.err, "full") || strstr(r.err, "I/O"), "the cause is not said: %s", r.err);
    long kept = db_count(b);  // integrity checked
    cr_assert(kept >= 2000 && kept < 22000 && (kept - 2000) % 500 == 0,
              "the index does not hold whole batches: %ld passages", kept);
    // the same build, finished with the limit lifted, holds what an uninterrupted build holds
    run_limited(0, &r, "index --data %s --out %s --batch 500 --resume", p2, b);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_eq(db_count(b), 22000);
    cr_assert_eq(db_count(a), 22000);
    rm_rf_dir(dir);
}

// ---- big and odd inputs ----------------------------------------------------------------------------
// Writes one JSONL document of about `bytes` bytes of prose with numbers.
static void write_big_doc(const char *path, long bytes, const char *id) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"id\": \"%s\", \"title\": \"Big\", \"date\": \"2023-01-05\", \"text\": \"", id);
    char block[1024];
    long written = 0;
    for (int k = 0; written < bytes; k++) {
        int n = snprintf(block, sizeof block, "The market of town %d sold %d apples and %d pears, a total of %d fruits. ",
                         k % 997, k % 89, k % 31, k % 89 + k % 31);
        fwrite(block, 1, (size_t)n, f);
        written += n;
    }
    fprintf(f, "\"}\n");
    fclose(f);
}

Test(limits, a_100mb_document_is_handled_in_bounded_memory, .timeout = 600) {
    char dir[] = "/tmp/tf_limits_big_XXXXXX", doc[300], out[300];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(doc, sizeof doc, "%s/big.jsonl", dir);
    write_big_doc(doc, 100L << 20, "big");
    long mb = crash_file_size(doc) >> 20;
    cr_assert_geq(mb, 100);
    limited_run r;
    // annotate: longer than any context and than TF_MAX_DOCUMENT_BYTES: passed over, counted, warned
    snprintf(out, sizeof out, "%s/aug.jsonl", dir);
    run_limited(0, &r, "annotate --model " MODEL " --data %s --tools calculator --proposer tool --threads 1 --quiet "
                       "--json --out %s", doc, out);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\"documents\": 1,") && strstr(r.out, "\"documents_too_long\": 1,"), "%s", r.out);
    cr_assert(strstr(r.err, "warning: 1 of 1 documents were skipped"), "%s", r.err);
    if (!asan()) cr_assert_lt(r.maxrss_kb, 64 * 1024, "annotate peak RSS %ld KB", r.maxrss_kb);
    long rss_annotate = r.maxrss_kb;
    // index: the line is reported and skipped without being held
    snprintf(out, sizeof out, "%s/big.db", dir);
    run_limited(0, &r, "index --data %s --out %s", doc, out);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert(strstr(r.err, "big.jsonl:1: line longer than 16 MiB"), "%s", r.err);
    if (!asan()) cr_assert_lt(r.maxrss_kb, 64 * 1024, "index peak RSS %ld KB", r.maxrss_kb);
    long rss_index = r.maxrss_kb;
    long rss_tok = -1, rss_train = -1;
    if (!asan()) {  // tokenize and train read it whole (it is their input): memory a small multiple of it
        run_limited(0, &r, "tokenize --model " MODEL " --file %s", doc);
        cr_assert_eq(r.exit_code, 0, "%s", r.err);
        cr_assert(strlen(r.out) > 1000 && strchr(r.out, ','), "no ids printed");
        rss_tok = r.maxrss_kb;
        cr_assert_lt(rss_tok, 3 * mb * 1024, "tokenize peak RSS %ld KB for a %ld MB file", rss_tok, mb);
        snprintf(out, sizeof out, "%s/model", dir);
        run_limited(0, &r, "train --model " MODEL " --data %s --out %s --steps 1 --batch 2 --seq-len 64 --threads 1",
                    doc, out);
        cr_assert_eq(r.exit_code, 0, "%s", r.err);
        rss_train = r.maxrss_kb;
        cr_assert_lt(rss_train, 5 * mb * 1024, "train peak RSS %ld KB for a %ld MB document", rss_train, mb);
    }
    if (getenv("TF_CRASH_VERBOSE"))
        fprintf(stderr, "limits: %ld MB document: peak RSS annotate %ld KB, index %ld KB, tokenize %ld KB, train %ld KB\n",
                mb, rss_annotate, rss_index, rss_tok, rss_train);
    rm_rf_dir(dir);
}

Test(limits, a_1mb_line_and_a_10000_call_document_are_handled, .timeout = 300) {
    char dir[] = "/tmp/tf_limits_line_XXXXXX", line[300], calls[300], out[300];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(line, sizeof line, "%s/line.jsonl", dir);
    snprintf(calls, sizeof calls, "%s/calls.jsonl", dir);
    write_big_doc(line, 1L << 20, "line");
    FILE *f = fopen(line, "a");  // and a short document after it, which is annotated
    fprintf(f, "{\"id\": \"short\", \"title\": \"Short\", \"text\": \"Of 30 pears and 12 plums, a total of 42 fruits were sold.\"}\n");
    fclose(f);
    f = fopen(calls, "w");
    fprintf(f, "{\"id\": \"calls\", \"title\": \"Calls\", \"text\": \"");
    for (int i = 0; i < 10000; i++)
        fprintf(f, "%d and %d make [Calculator(%d + %d) -> %d] %d. ", i, i + 1, i, i + 1, 2 * i + 1, 2 * i + 1);
    fprintf(f, "\"}\n");
    fclose(f);
    const char *inputs[2] = {line, calls};
    limited_run r;
    // the baseline: the short document alone (the model's scoring buffers dominate: 16 rows of 256
    // positions of 4,096 logits are 64 MiB)
    char shortdoc[300];
    snprintf(shortdoc, sizeof shortdoc, "%s/short.jsonl", dir);
    f = fopen(shortdoc, "w");
    fprintf(f, "{\"id\": \"short\", \"title\": \"Short\", \"text\": \"Of 30 pears and 12 plums, a total of 42 fruits were sold.\"}\n");
    fclose(f);
    snprintf(out, sizeof out, "%s/base.jsonl", dir);
    run_limited(0, &r, "annotate --model " MODEL " --data %s --tools calculator --proposer tool --threads 1 --quiet --out %s",
                shortdoc, out);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    long base_rss = r.maxrss_kb, rss[2][4];
    for (int k = 0; k < 2; k++) {
        const char *in = inputs[k];
        snprintf(out, sizeof out, "%s/aug%d.jsonl", dir, k);
        run_limited(0, &r, "annotate --model " MODEL " --data %s --tools calculator --proposer tool --threads 1 "
                           "--quiet --json --out %s", in, out);
        cr_assert_eq(r.exit_code, 0, "%s", r.err);
        cr_assert(strstr(r.out, "\"documents_too_long\": 1,"), "%s: %s", in, r.out);
        cr_assert(strstr(r.err, "documents were skipped: longer than the model's context of 256 tokens"), "%s", r.err);
        if (k == 0) cr_assert(strstr(r.out, "\"documents\": 2,") && strstr(r.out, "\"candidates\": 0,") == NULL,
                              "the short document was not annotated: %s", r.out);
        if (!asan())
            cr_assert_lt(r.maxrss_kb, base_rss + 16 * 1024, "annotate peak RSS %ld KB (%ld KB for the short document)",
                         r.maxrss_kb, base_rss);
        rss[k][0] = r.maxrss_kb;
        snprintf(out, sizeof out, "%s/m%d", dir, k);
        run_limited(0, &r, "finetune --model " MODEL " --data %s --out %s --steps 1 --batch 1 --seq-len 64 --threads 1 "
                           "--mask-results", in, out);
        cr_assert_eq(r.exit_code, 0, "%s", r.err);
        cr_assert(strstr(r.err, "warning: 1 of") && strstr(r.err, "only their first 65 tokens are trained on"), "%s",
                  r.err);
        if (!asan()) cr_assert_lt(r.maxrss_kb, 160 * 1024, "finetune peak RSS %ld KB", r.maxrss_kb);
        rss[k][1] = r.maxrss_kb;
        run_limited(0, &r, "tokenize --model " MODEL " --file %s", in);
        cr_assert_eq(r.exit_code, 0, "%s", r.err);
        if (!asan()) cr_assert_lt(r.maxrss_kb, 96 * 1024, "tokenize peak RSS %ld KB", r.maxrss_kb);
        rss[k][2] = r.maxrss_kb;
        snprintf(out, sizeof out, "%s/i%d.db", dir, k);
        run_limited(0, &r, "index --data %s --out %s", in, out);
        cr_assert_eq(r.exit_code, 0, "%s", r.err);
        cr_assert_eq(db_count(out), k == 0 ? 2 : 1, "%s", r.err);
        if (!asan()) cr_assert_lt(r.maxrss_kb, 96 * 1024, "index peak RSS %ld KB", r.maxrss_kb);
        rss[k][3] = r.maxrss_kb;
        if (getenv("TF_CRASH_VERBOSE"))
            fprintf(stderr, "limits: %s: peak RSS annotate %ld KB (short document alone %ld KB), finetune %ld KB, "
                    "tokenize %ld KB, index %ld KB\n", k ? "10,000-call document" : "1 MB line", rss[k][0], base_rss,
                    rss[k][1], rss[k][2], rss[k][3]);
    }
    rm_rf_dir(dir);
}

Test(limits, an_empty_corpus_gives_a_clear_message, .timeout = 120) {
    char dir[] = "/tmp/tf_limits_empty_XXXXXX", empty[300], out[300];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(empty, sizeof empty, "%s/empty.jsonl", dir);
    fclose(fopen(empty, "w"));
    limited_run r;
    snprintf(out, sizeof out, "%s/aug.jsonl", dir);
    run_limited(0, &r, "annotate --model " MODEL " --data %s --tools calculator --proposer tool --quiet --out %s", empty,
                out);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert(strstr(r.err, "empty.jsonl holds no documents"), "%s", r.err);
    cr_assert_eq(crash_file_size(out), 0);
    snprintf(out, sizeof out, "%s/model", dir);
    run_limited(0, &r, "train --model " MODEL " --data %s --out %s --steps 1", empty, out);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    cr_assert(strstr(r.err, "empty.jsonl: no tokens to train on"), "%s", r.err);
    run_limited(0, &r, "finetune --model " MODEL " --data %s --out %s --steps 1", empty, out);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert(strstr(r.err, "empty.jsonl: no tokens to train on"), "%s", r.err);
    run_limited(0, &r, "tokenize --model " MODEL " --file %s", empty);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "\n", "an empty text has no ids");
    snprintf(out, sizeof out, "%s/e.db", dir);
    run_limited(0, &r, "index --data %s --out %s", empty, out);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert(strstr(r.err, "indexed 0 passages"), "%s", r.err);
    cr_assert_eq(db_count(out), 0);
    rm_rf_dir(dir);
}
