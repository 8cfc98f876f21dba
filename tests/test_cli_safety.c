// test_cli_safety.c — no command destroys a user's data (issue 21): the output rule run as a table
// over every writing command (out = in, out = an existing finished output, a second writer, an
// unwritable second output; the inputs' checksums unchanged), run identity on --resume, and each
// numbered finding of the issue with its reproducer.
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MODEL "models/default"

static char err_text[8192];  // stderr of the last run

// Runs "cd dir && BIN args" through the shell: stdout into out (may be NULL), stderr into err_text;
// the exit code (-1 when killed by a signal). {M} in args becomes the absolute model directory.
static int run_in(const char *dir, char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int run_in(const char *dir, char *out, size_t cap, const char *fmt, ...) {
    char args[4096], expanded[8192], cmd[8192 + 2 * PATH_MAX + 128], bin[PATH_MAX], model[PATH_MAX], errpath[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    const char *b = getenv("TF_BIN");
    cr_assert_not_null(realpath(b && *b ? b : "build/toolformer", bin));
    cr_assert_not_null(realpath(MODEL, model));
    size_t n = 0;
    for (const char *p = args; *p && n + PATH_MAX < sizeof expanded; p++) {
        if (!strncmp(p, "{M}", 3)) {
            n += (size_t)snprintf(expanded + n, sizeof expanded - n, "%s", model);
            p += 2;
        } else {
            expanded[n++] = *p;
        }
    }
    expanded[n] = '\0';
    snprintf(errpath, sizeof errpath, "/tmp/tf_safety_%d.err", (int)getpid());
    snprintf(cmd, sizeof cmd, "cd '%s' && %s %s 2>%s", dir, bin, expanded, errpath);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char sink[4096];
    size_t got = out ? fread(out, 1, cap - 1, p) : 0;
    if (out) out[got] = '\0';
    while (fread(sink, 1, sizeof sink, p) > 0) {
    }
    int st = pclose(p);
    FILE *f = fopen(errpath, "r");
    got = f ? fread(err_text, 1, sizeof err_text - 1, f) : 0;
    err_text[got] = '\0';
    if (f) fclose(f);
    unlink(errpath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *dir, const char *name, const char *text) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f, "%s", p);
    fputs(text, f);
    fclose(f);
}

// FNV-1a of a file's bytes (0 when it cannot be read), and its size in *size.
static unsigned long long checksum(const char *dir, const char *name, long *size) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    unsigned long long h = 0xcbf29ce484222325ULL;
    long n = 0;
    int c;
    if (!f) {
        if (size) *size = -1;
        return 0;
    }
    while ((c = fgetc(f)) != EOF) {
        h = (h ^ (unsigned)c) * 0x100000001b3ULL;
        n++;
    }
    fclose(f);
    if (size) *size = n;
    return h;
}

static int exists(const char *dir, const char *name) {
    char p[PATH_MAX];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static const char *CORPUS = "{\"text\": \"The price was 12 + 30 = 42 dollars in total.\"}\n"
                            "{\"text\": \"Out of 1400 people, 400 said yes.\"}\n"
                            "{\"text\": \"We paid 7 * 8 = 56 for the tickets.\"}\n";
static const char *EVAL = "{\"prompt\": \"12 + 30 =\", \"answer\": \"42\"}\n";

static void make_dir(char *dir) {
    strcpy(dir, "/tmp/tf_safety_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    write_file(dir, "corpus.jsonl", CORPUS);
    write_file(dir, "eval.jsonl", EVAL);
}

static void rm_dir(const char *dir) {
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

#define ANN "annotate --model {M} --tools calculator --proposer tool --tau-f -100 --top-k 2 --samples 2 --threads 1 --quiet"

// One writing command: how it writes OUT normally, with OUT = an input, and with an unwritable
// second output (NULL when it has one output only). force: the option that replaces an existing
// OUT. Inputs: the files whose checksums must not change.
typedef struct {
    const char *name, *write, *out_is_input, *bad_second, *force, *out;
    const char *inputs[4];
} writer;

static const writer WRITERS[] = {
    {"annotate --out", ANN " --data corpus.jsonl --out out.jsonl", ANN " --data corpus.jsonl --out corpus.jsonl",
     ANN " --data corpus.jsonl --out out.jsonl --rejected /nonexistent/dir/r.jsonl", "--force", "out.jsonl",
     {"corpus.jsonl"}},
    {"annotate --rejected", ANN " --data corpus.jsonl --out o2.jsonl --rejected rej.jsonl",
     ANN " --data corpus.jsonl --out o2.jsonl --rejected corpus.jsonl", NULL, "--force", "rej.jsonl", {"corpus.jsonl"}},
    {"eval --details", "eval --model {M} --task math --data eval.jsonl --details det.jsonl --max-new 4 --quiet",
     "eval --model {M} --task math --data eval.jsonl --details eval.jsonl --max-new 4 --quiet", NULL, "--force",
     "det.jsonl", {"eval.jsonl"}},
};

// Every writing command, four ways; the inputs (and an existing finished output) keep their bytes.
Test(safety, every_writer_keeps_inputs_and_finished_outputs, .timeout = 300) {
    for (size_t w = 0; w < sizeof WRITERS / sizeof WRITERS[0]; w++) {
        const writer *r = &WRITERS[w];
        char dir[64];
        make_dir(dir);
        unsigned long long in_sum[4];
        for (int i = 0; i < 4 && r->inputs[i]; i++) in_sum[i] = checksum(dir, r->inputs[i], NULL);
        // 1. out = in: refused, naming the clash
        cr_assert_eq(run_in(dir, NULL, 0, "%s", r->out_is_input), 2, "%s: out = in: %s", r->name, err_text);
        cr_assert(strstr(err_text, "same file as the input"), "%s: %s", r->name, err_text);
        // 2. an unwritable second output: refused before the first is created
        if (r->bad_second) {
            cr_assert_eq(run_in(dir, NULL, 0, "%s", r->bad_second), 1, "%s: %s", r->name, err_text);
            cr_assert(strstr(err_text, "/nonexistent/dir") && strstr(err_text, "does not exist"), "%s", err_text);
            cr_assert(!exists(dir, r->out), "%s: %s was created before the second output was checked", r->name, r->out);
        }
        // 3. a finished output is not overwritten without --force
        cr_assert_eq(run_in(dir, NULL, 0, "%s", r->write), 0, "%s: %s", r->name, err_text);
        long size;
        unsigned long long out_sum = checksum(dir, r->out, &size);
        cr_assert_gt(size, 0, "%s wrote nothing to %s", r->name, r->out);
        cr_assert_eq(run_in(dir, NULL, 0, "%s", r->write), 2, "%s: rerun: %s", r->name, err_text);
        cr_assert(strstr(err_text, "exists") && strstr(err_text, r->force), "%s: %s", r->name, err_text);
        cr_assert_eq(checksum(dir, r->out, NULL), out_sum, "%s: the finished output changed", r->name);
        // 4. a second writer (this test holds OUT.lock) fails at once, naming the file
        char lock[PATH_MAX];
        snprintf(lock, sizeof lock, "%s/%s.lock", dir, r->out);
        int fd = open(lock, O_RDWR | O_CREAT, 0644);
        cr_assert(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
        cr_assert_neq(run_in(dir, NULL, 0, "%s %s", r->write, r->force), 0, "%s: ran beside a lock holder", r->name);
        cr_assert(strstr(err_text, "being written by another toolformer process") && strstr(err_text, r->out), "%s: %s",
                  r->name, err_text);
        close(fd);
        unlink(lock);
        cr_assert_eq(checksum(dir, r->out, NULL), out_sum, "%s: the output changed under another writer", r->name);
        // --force replaces it
        cr_assert_eq(run_in(dir, NULL, 0, "%s %s", r->write, r->force), 0, "%s --force: %s", r->name, err_text);
        cr_assert(!exists(dir, "out.jsonl.lock") && !exists(dir, "det.jsonl.lock"), "a lock file was left behind");
        for (int i = 0; i < 4 && r->inputs[i]; i++)
            cr_assert_eq(checksum(dir, r->inputs[i], NULL), in_sum[i], "%s changed %s", r->name, r->inputs[i]);
        rm_dir(dir);
    }
}

// #1: the reproducers as written, through a relative path and a symlink too.
Test(safety, issue1_annotate_out_equal_to_data_is_refused) {
    char dir[64];
    make_dir(dir);
    unsigned long long sum = checksum(dir, "corpus.jsonl", NULL);
    cr_assert_eq(symlink("corpus.jsonl", strcat(strcpy((char[128]){0}, dir), "/link.jsonl")), 0);
    mkdir(strcat(strcpy((char[128]){0}, dir), "/sub"), 0755);
    const char *outs[] = {"corpus.jsonl", "sub/../corpus.jsonl", "link.jsonl"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(run_in(dir, NULL, 0, ANN " --data corpus.jsonl --out %s", outs[i]), 2, "%s", err_text);
        cr_assert(strstr(err_text, "--out") && strstr(err_text, "same file as the input --data"), "%s", err_text);
    }
    cr_assert_eq(checksum(dir, "corpus.jsonl", NULL), sum);
    rm_dir(dir);
}

// #2: a finished --out is not truncated by a run without --resume; #4: an output cut shorter than its
// progress record is an error on --resume, never padded.
Test(safety, issue2_4_finished_and_cut_outputs) {
    char dir[64], out[4096];
    make_dir(dir);
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data corpus.jsonl --out o.jsonl"), 0, "%s", err_text);
    long size;
    unsigned long long sum = checksum(dir, "o.jsonl", &size);
    cr_assert_gt(size, 100);
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data corpus.jsonl --out o.jsonl"), 2);
    cr_assert(strstr(err_text, "--out o.jsonl exists") && strstr(err_text, "--resume"), "%s", err_text);
    cr_assert_eq(checksum(dir, "o.jsonl", NULL), sum);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/o.jsonl", dir);
    cr_assert_eq(truncate(p, size / 2), 0);
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data corpus.jsonl --out o.jsonl --resume"), 1);
    cr_assert(strstr(err_text, "o.jsonl holds") && strstr(err_text, "records"), "%s", err_text);
    long after;
    checksum(dir, "o.jsonl", &after);
    cr_assert_eq(after, size / 2, "the cut output was changed (%ld bytes, was %ld)", after, size / 2);
    rm_dir(dir);
}

// #5: /dev/stdout as --out (it needs a progress file and cutting back) is refused with what to do.
Test(safety, issue5_out_to_a_stream_is_refused) {
    char dir[64], out[4096];
    make_dir(dir);
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data corpus.jsonl --out /dev/stdout"), 2, "%s", err_text);
    cr_assert(strstr(err_text, "not a regular file") && strstr(err_text, "write to a regular file"), "%s", err_text);
    cr_assert_eq(out[0], '\0', "something was written to stdout: %s", out);
    rm_dir(dir);
}

// #6: --resume of a different run (tools, corpus, options) is refused naming the first difference;
// the rate after a resume counts only this run's documents.
Test(safety, issue6_resume_of_a_different_run_is_refused) {
    char dir[64], out[4096];
    make_dir(dir);
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data corpus.jsonl --out o.jsonl --max-docs 1"), 0, "%s", err_text);
    cr_assert_eq(run_in(dir, out, sizeof out,
                        "annotate --model {M} --tools calendar --proposer tool --tau-f -100 --top-k 2 --samples 2 "
                        "--threads 1 --quiet --data corpus.jsonl --out o.jsonl --resume"), 2);
    cr_assert(strstr(err_text, "different run") && strstr(err_text, "tools was Calculator, now Calendar"), "%s", err_text);
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data corpus.jsonl --out o.jsonl --resume --seed 5"), 2);
    cr_assert(strstr(err_text, "its seed was 1, now 5"), "%s", err_text);
    write_file(dir, "other.jsonl", "{\"text\": \"Something else: 1 + 1 = 2 entirely.\"}\n"
                                   "{\"text\": \"Out of 1400 people, 400 said yes.\"}\n"
                                   "{\"text\": \"We paid 7 * 8 = 56 for the tickets.\"}\n");
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data other.jsonl --out o.jsonl --resume"), 2);
    cr_assert(strstr(err_text, "different run") && strstr(err_text, "corpus"), "%s", err_text);
    // the same run continues, and its rate is this run's documents over this run's time
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data corpus.jsonl --out o.jsonl --resume --json"), 0, "%s",
                 err_text);
    char *r = strstr(out, "\"documents_per_s\": ");
    cr_assert_not_null(r, "%s", out);
    cr_assert_lt(strtod(r + 19, NULL), 10000.0, "rate after resume: %s", out);
    rm_dir(dir);
}
