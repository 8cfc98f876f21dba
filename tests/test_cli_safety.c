// test_cli_safety.c — no command destroys a user's data (issue 21): the output rule run as a table
// over every writing command (out = in, out = an existing finished output, a second writer, an
// unwritable second output; the inputs' checksums unchanged), run identity on --resume, and each
// numbered finding of the issue with its reproducer.
#include <cjson/cJSON.h>
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
#include <math.h>

#include "kernels/vecmath.h"

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

static const char *IDS = "{\"ids\": [1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45]}\n"
                         "{\"ids\": [2, 6, 10, 14, 18, 22, 26, 30, 34, 38, 42, 46]}\n"
                         "{\"ids\": [3, 7, 11, 15, 19, 23, 27, 31, 35, 39, 43, 47]}\n"
                         "{\"ids\": [4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48]}\n";
static const char *PASSAGES = "{\"title\": \"Nile\", \"text\": \"The Nile is a river in Africa.\"}\n"
                              "{\"title\": \"Everest\", \"text\": \"Mount Everest is a mountain in Asia.\"}\n";

// A scratch directory with a corpus, eval data, token-id data, passages, two annotate shards, a
// copy of the tiny GPT-2 fixture (tiny/) and a text corpus named like a tokenizer file.
static void make_dir(char *dir) {
    strcpy(dir, "/tmp/tf_safety_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    write_file(dir, "corpus.jsonl", CORPUS);
    write_file(dir, "eval.jsonl", EVAL);
    write_file(dir, "ids.jsonl", IDS);
    write_file(dir, "passages.jsonl", PASSAGES);
    write_file(dir, "a.jsonl", "{\"doc_index\": 0, \"text\": \"a\"}\n{\"doc_index\": 2, \"text\": \"c\"}\n");
    write_file(dir, "b.jsonl", "{\"doc_index\": 1, \"text\": \"b\"}\n");
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "cp -r tests/fixtures/gpt2-tiny '%s/tiny' && mkdir '%s/t0'", dir, dir);
    cr_assert_eq(system(cmd), 0);
    write_file(dir, "t0/tokenizer.json", "Some plain text to learn a vocabulary from, twice over.\n"
                                          "Some plain text to learn a vocabulary from, twice over.\n");
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
#define TRAIN_ARGS " --data ids.jsonl --steps 2 --batch 2 --seq-len 8 --threads 1"
    {"train", "train --config tiny/config.json" TRAIN_ARGS " --out tr",
     "train --config tiny/config.json" TRAIN_ARGS " --out tr --log ids.jsonl",
     "train --config tiny/config.json" TRAIN_ARGS " --out tr --log /nonexistent/dir/log.jsonl", "--force",
     "tr/model.safetensors", {"ids.jsonl", "tiny/config.json"}},
    {"finetune", "finetune --model tiny" TRAIN_ARGS " --out ft", "finetune --model tiny" TRAIN_ARGS " --out tiny",
     "finetune --model tiny" TRAIN_ARGS " --out ft --log /nonexistent/dir/log.jsonl", "--force",
     "ft/model.safetensors", {"ids.jsonl", "tiny/model.safetensors", "tiny/config.json"}},
    {"index", "index --data passages.jsonl --out ix.db", "index --data passages.jsonl --out passages.jsonl", NULL,
     "--append", "ix.db", {"passages.jsonl"}},
    {"merge-shards", "merge-shards --out m.jsonl a.jsonl b.jsonl", "merge-shards --out a.jsonl a.jsonl b.jsonl", NULL,
     "--force", "m.jsonl", {"a.jsonl", "b.jsonl"}},
    {"tokenizer train", "tokenizer train --data t0/tokenizer.json --vocab-size 270 --out tok",
     "tokenizer train --data t0/tokenizer.json --vocab-size 270 --out t0", NULL, "--force", "tok/tokenizer.json",
     {"t0/tokenizer.json"}},
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
        cr_assert_eq(strchr(err_text, '\n'), err_text + strlen(err_text) - 1, "%s: not one line: %s", r->name, err_text);
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
        cr_assert(!exists(dir, lock + strlen(dir) + 1), "%s: the lock file was left behind", r->name);
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

// #16: vm_expf on NaN (a NaN logit) is NaN, with no undefined shift (the ASan/UBSan build of this test
// aborted at vecmath.h's `<< 23` of a negative value).
Test(safety, issue16_expf_of_nan_is_nan_without_undefined_behaviour) {
    volatile float nan_in = NAN;
    cr_assert(isnan(vm_expf(nan_in)));
    cr_assert(isnan(vm_expf(-nan_in)));
    cr_assert_float_eq(vm_expf(0.0f), 1.0f, 1e-6f);
    cr_assert_float_eq(vm_expf(1.0f), expf(1.0f), 1e-6f * expf(1.0f));
    cr_assert_eq(vm_expf(-1000.0f) >= 0.0f && vm_expf(-1000.0f) < 1e-37f, 1);
}

// #6 (finetune) and #7: --resume of a checkpoint with other data or options is refused naming the
// difference; --stop-after does not claim a model was written.
Test(safety, issue6_7_finetune_resume_identity_and_stop_after, .timeout = 120) {
    char dir[64], out[4096];
    make_dir(dir);
    const char *ft = "finetune --model tiny --steps 4 --seq-len 8 --threads 1 --out ft";
    cr_assert_eq(run_in(dir, out, sizeof out, "%s --data ids.jsonl --batch 2 --stop-after 1", ft), 0, "%s", err_text);
    cr_assert_null(strstr(out, "model written"), "%s", out);
    cr_assert(strstr(out, "stopped by --stop-after") && strstr(out, "--resume"), "%s", out);
    cr_assert(!exists(dir, "ft/model.safetensors") && exists(dir, "ft/checkpoint"));
    cr_assert_eq(run_in(dir, out, sizeof out, "%s --data ids.jsonl --batch 1 --resume", ft), 2);
    cr_assert(strstr(err_text, "different run") && strstr(err_text, "its batch was 2, now 1"), "%s", err_text);
    cr_assert_eq(run_in(dir, out, sizeof out, "%s --data ids.jsonl --batch 2 --lr 0.001 --resume", ft), 2);
    cr_assert(strstr(err_text, "its lr was"), "%s", err_text);
    write_file(dir, "ids2.jsonl", "{\"ids\": [9, 9, 9, 9, 9, 9, 9, 9, 9, 9]}\n");
    cr_assert_eq(run_in(dir, out, sizeof out, "%s --data ids2.jsonl --batch 2 --resume", ft), 2);
    cr_assert(strstr(err_text, "its data was"), "%s", err_text);
    cr_assert_eq(run_in(dir, out, sizeof out, "%s --data ids.jsonl --batch 2 --resume", ft), 0, "%s", err_text);
    cr_assert(strstr(out, "model written to ft"), "%s", out);
    rm_dir(dir);
}

// #9: a JSONL corpus with a UTF-8 byte order mark is JSONL; stdin (--data -) and a FIFO are read as
// streams.
Test(safety, issue9_bom_stdin_and_fifo_corpora, .timeout = 120) {
    char dir[64], out[4096];
    make_dir(dir);
    char bom[4096];
    snprintf(bom, sizeof bom, "\xEF\xBB\xBF%s", CORPUS);
    write_file(dir, "bom.jsonl", bom);
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data bom.jsonl --out o1.jsonl --json"), 0, "%s", err_text);
    cr_assert(strstr(out, "\"documents\": 3,"), "%s", out);
    char *text = NULL;
    FILE *f = fopen(strcat(strcpy((char[128]){0}, dir), "/o1.jsonl"), "r");
    cr_assert_not_null(f);
    size_t cap = 0;
    while (getline(&text, &cap, f) > 0) cr_assert_null(strstr(text, "\\\"text\\\""), "calls inside JSON: %s", text);
    free(text);
    fclose(f);
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data - --out o2.jsonl --json < corpus.jsonl"), 0, "%s", err_text);
    cr_assert(strstr(out, "\"documents\": 3,"), "%s", out);
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    pid_t writer = fork();  // writes the corpus into the FIFO once annotate opens it
    if (writer == 0) {
        int fd = open(fifo, O_WRONLY);
        ssize_t put = fd >= 0 ? write(fd, CORPUS, strlen(CORPUS)) : -1;
        _exit(put == (ssize_t)strlen(CORPUS) ? 0 : 1);
    }
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data fifo --out o3.jsonl --json"), 0, "%s", err_text);
    int st;
    cr_assert_eq(waitpid(writer, &st, 0), writer);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert(strstr(out, "\"documents\": 3,"), "%s", out);
    rm_dir(dir);
}

// #12: NaN and infinities are refused where a finite number is meant.
Test(safety, issue12_nan_and_infinity_are_refused) {
    char dir[64], out[4096];
    make_dir(dir);
    const char *cmds[] = {
        "generate --model {M} --prompt 'The' --temperature nan",
        "generate --model {M} --prompt 'The' --top-p nan",
        "generate --model {M} --prompt 'The' --temperature inf",
        ANN " --data corpus.jsonl --out o.jsonl --tau-f nan",
        ANN " --data corpus.jsonl --out o.jsonl --tau-s -inf",
        "compare --model {M} --text 'It is 2 + 2 = 4 here' --call 'Calculator(2 + 2)' --at ' 4' --tau-f nan",
        "finetune --model tiny --data ids.jsonl --out ft --lr nan",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cr_assert_eq(run_in(dir, out, sizeof out, "%s", cmds[i]), 2, "%s: %s", cmds[i], err_text);
        cr_assert(strstr(err_text, "wants") || strstr(err_text, "number"), "%s: %s", cmds[i], err_text);
    }
    cr_assert(!exists(dir, "o.jsonl") && !exists(dir, "ft"));
    rm_dir(dir);
}

// #17: no "unknown error": each failure names what was wrong.
Test(safety, issue17_every_error_names_what_was_wrong) {
    char dir[64], out[4096];
    make_dir(dir);
    const char *cmds[] = {
        "generate --model {M} --prompt ''",
        "loss --model {M} --text ''",
        "compare --model {M} --text 'It is 2 + 2 = 4 here' --call 'Calculator(2 + 2)' --at ' 4' --result 'x]y'",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        int rc = run_in(dir, out, sizeof out, "%s", cmds[i]);
        cr_assert(rc == 1 || rc == 2, "%s: exit %d", cmds[i], rc);
        cr_assert_null(strstr(err_text, "unknown error"), "%s: %s", cmds[i], err_text);
        cr_assert_gt(strlen(err_text), 20, "%s: %s", cmds[i], err_text);
    }
    rm_dir(dir);
}

// #20: messages that say what is wrong.
Test(safety, issue20_error_messages_name_the_problem) {
    char dir[64], out[4096];
    make_dir(dir);
    mkdir(strcat(strcpy((char[128]){0}, dir), "/adir"), 0755);
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data adir --out o.jsonl"), 2);
    cr_assert(strstr(err_text, "adir is a directory"), "%s", err_text);
    cr_assert_eq(run_in(dir, out, sizeof out, "index --data adir --out ix.db"), 2);
    cr_assert(strstr(err_text, "adir is a directory"), "%s", err_text);
    cr_assert(!exists(dir, "ix.db"), "index left a database behind");
    cr_assert_eq(run_in(dir, out, sizeof out, "generate --model nosuchdir --prompt 'x'"), 1);
    cr_assert(strstr(err_text, "nosuchdir") && strstr(err_text, "No such file or directory"), "%s", err_text);
    struct { const char *line, *want; } bad[] = {
        {"{\"text\": \"broken\"\n", "invalid JSON"},
        {"{\"text\": \"\\ud800 alone\"}\n", "lone UTF-16 surrogate"},
        {"{\"text\": \"a\0b\"}\n", "raw NUL byte"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/bad.jsonl", dir);
        FILE *f = fopen(p, "wb");
        cr_assert_not_null(f);
        fwrite(bad[i].line, 1, i == 2 ? 17 : strlen(bad[i].line), f);
        fclose(f);
        cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data bad.jsonl --out bad%zu.jsonl", i), 1, "%s", bad[i].want);
        cr_assert(strstr(err_text, bad[i].want) && strstr(err_text, "bad.jsonl:1"), "want '%s': %s", bad[i].want,
                  err_text);
    }
    cr_assert_eq(run_in(dir, out, sizeof out, "eval --model {M} --task math --data eval.jsonl --details /dev/full"), 1);
    cr_assert(strstr(err_text, "No space left on device"), "%s", err_text);
    rm_dir(dir);
}

// #21: loose parsing is gone.
Test(safety, issue21_strict_options) {
    char dir[64], out[4096];
    make_dir(dir);
    const char *usage[] = {
        "loss --model {M} --text 'hello there' stray",
        "generate --model {M} --prompt 'x' stray",
        ANN " --data corpus.jsonl --out o.jsonl stray",
        ANN " --data corpus.jsonl --out o.jsonl --shard 0/3x",
        ANN " --data corpus.jsonl --out o.jsonl --shard 1/2/3",
        "annotate --model {M} --proposer tool --data corpus.jsonl --out o.jsonl --index x.db --tools ''",
        "generate --model {M} --prompt 'x' --index x.db",
        "generate --model {M} --prompt 'x' --api-top-k 3",
        "eval --model {M} --task math --data eval.jsonl --today 2020-01-01",
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++)
        cr_assert_eq(run_in(dir, out, sizeof out, "%s", usage[i]), 2, "%s: %s", usage[i], err_text);
    cr_assert(!exists(dir, "o.jsonl"));
    cr_assert_eq(run_in(dir, out, sizeof out, "tool calculator -- '-7 + 2'"), 0, "%s", err_text);
    cr_assert_str_eq(out, "-5\n");
    cr_assert_eq(run_in(dir, out, sizeof out, "tool calculator --tool-timeout 500 '2 + 2'"), 0, "%s", err_text);
    cr_assert_eq(run_in(dir, out, sizeof out, "tool calculator --timeout-ms 500 '2 + 2'"), 0, "old name: %s", err_text);
    rm_dir(dir);
}

// #13 (second half): an external tool named like a selected built-in one is an error, not a silent
// replacement.
Test(safety, issue13_external_tool_cannot_replace_a_builtin) {
    char dir[64], out[4096];
    make_dir(dir);
    cr_assert_eq(run_in(dir, out, sizeof out, "tool --tools calculator --tool 'calculator=cat' calculator '1 + 1'"), 2,
                 "%s", err_text);
    cr_assert(strstr(err_text, "Calculator") || strstr(err_text, "calculator"), "%s", err_text);
    cr_assert_eq(run_in(dir, out, sizeof out, ANN " --data corpus.jsonl --out o.jsonl --tool 'calculator=cat'"), 2,
                 "%s", err_text);
    rm_dir(dir);
}

// #18: the prompt proposer on a model whose context cannot hold the few-shot prompt says so and
// points to --proposer tool.
Test(safety, issue18_prompt_longer_than_the_context_is_explained, .timeout = 120) {
    char dir[64], out[4096];
    make_dir(dir);
    cr_assert_eq(run_in(dir, out, sizeof out, "annotate --model {M} --tools calculator --threads 1 --quiet "
                        "--data corpus.jsonl --out o.jsonl --max-docs 1"), 0, "%s", err_text);
    cr_assert(strstr(err_text, "few-shot prompt of Calculator") && strstr(err_text, "context of 256 tokens") &&
              strstr(err_text, "every document will be skipped") && strstr(err_text, "--proposer tool"), "%s",
              err_text);
    rm_dir(dir);
}

// #22: --version, and every option a command accepts appears in its --help (the option tables are
// read from the sources: {"name", ...} entries and strcmp(a, "--name") tests).
Test(safety, issue22_version_and_help_lists_every_option) {
    char out[65536];
    cr_assert_eq(run_in(".", out, sizeof out, "--version"), 0, "%s", err_text);
    cr_assert(!strncmp(out, "toolformer ", 11), "%s", out);
    static const char *CMDS[][3] = {
        {"annotate", "annotate", NULL}, {"compare", "compare", NULL},   {"detokenize", "detokenize", NULL},
        {"eval", "eval", NULL},         {"generate", "generate", NULL}, {"index", "index", NULL},
        {"loss", "loss", NULL},         {"merge_shards", "merge-shards", NULL}, {"tokenize", "tokenize", NULL},
        {"tokenizer", "tokenizer train", NULL}, {"tool", "tool", NULL}, {"train", "train", "finetune"},
        {"convert", "convert", "merge-adapter"},
    };
    for (size_t c = 0; c < sizeof CMDS / sizeof CMDS[0]; c++) {
        char path[128], help[65536] = "", h2[65536] = "";
        snprintf(path, sizeof path, "src/cli/cmd_%s.c", CMDS[c][0]);
        FILE *f = fopen(path, "r");
        cr_assert_not_null(f, "%s", path);
        static char src[1 << 18];
        size_t n = fread(src, 1, sizeof src - 1, f);
        src[n] = '\0';
        fclose(f);
        cr_assert_eq(run_in(".", help, sizeof help, "%s --help", CMDS[c][1]), 0, "%s --help", CMDS[c][1]);
        if (CMDS[c][2]) {
            cr_assert_eq(run_in(".", h2, sizeof h2, "%s --help", CMDS[c][2]), 0);
            strncat(help, h2, sizeof help - strlen(help) - 1);
        }
        if (strstr(src, "CLI_TOOL_OPTIONS,"))
            for (const char *o = "--tools\0--tool \0--index\0--today\0--qa-model\0--tool-timeout\0"; *o; o += strlen(o) + 1)
                cr_assert(strstr(help, o), "%s --help lacks %s", CMDS[c][1], o);
        if (strstr(src, "CLI_PROGRESS_OPTION,") || strstr(src, "cli_progress_option("))
            cr_assert(strstr(help, "--progress MODE"), "%s --help lacks --progress", CMDS[c][1]);
        if (strstr(src, "CLI_MODEL_OPTIONS,"))
            cr_assert(strstr(help, "--dtype") && strstr(help, "--mmap"), "%s --help lacks --dtype/--mmap", CMDS[c][1]);
        int checked = 0;
        for (const char *p = src; (p = strstr(p, "{\"")); p++) {  // {"name", 1, 0, 'x'}
            const char *e = strchr(p + 2, '"');
            if (!e || e - p - 2 > 30 || strncmp(e, "\", ", 3) || !strchr("01nr", e[3])) continue;
            char opt[48];
            snprintf(opt, sizeof opt, "--%.*s", (int)(e - p - 2), p + 2);
            if (!strcmp(opt, "--help")) continue;
            cr_assert(strstr(help, opt), "%s accepts %s, but its --help does not mention it", CMDS[c][1], opt);
            checked++;
        }
        for (const char *p = src; (p = strstr(p, "strcmp(a, \"--")); p++) {  // hand-parsed options
            const char *s = p + 10, *e = strchr(s, '"');
            char opt[48];
            snprintf(opt, sizeof opt, "%.*s", (int)(e - s), s);
            if (!strcmp(opt, "--help") || !strcmp(opt, "--timeout-ms")) continue;  // --timeout-ms: an alias
            cr_assert(strstr(help, opt), "%s accepts %s, but its --help does not mention it", CMDS[c][1], opt);
            checked++;
        }
        cr_assert_gt(checked, 0, "no options found in %s", path);
    }
}

// index bounds what it reads: passages files over --max-total (default 64 GiB, all files together)
// are refused with one line naming the file and the limit, before the index is created; a line (one
// passage) over 16 MiB is reported naming FILE:LINE and skipped (exit 1).
Test(safety, index_bounds_its_input, .timeout = 120) {
    char dir[64], out[4096], p[PATH_MAX];
    make_dir(dir);
    snprintf(p, sizeof p, "%s/huge.jsonl", dir);
    cr_assert_eq(truncate(p, 0), -1);  // absent yet
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_eq(truncate(p, (off_t)65 << 30), 0, "a sparse 65 GiB file");
    cr_assert_eq(run_in(dir, out, sizeof out, "index --data huge.jsonl --out h.db"), 1, "%s", err_text);
    cr_assert(strstr(err_text, "--data huge.jsonl holds 69793218560 bytes") && strstr(err_text, "68719476736") &&
              strstr(err_text, "--max-total"), "%s", err_text);
    cr_assert_eq(strchr(err_text, '\n'), err_text + strlen(err_text) - 1, "not one line: %s", err_text);
    cr_assert(!exists(dir, "h.db"), "the index was created");
    unlink(p);
    // all files together; --max-total sets the limit
    long size;
    checksum(dir, "passages.jsonl", &size);
    cr_assert_eq(run_in(dir, out, sizeof out, "index --data passages.jsonl --data passages.jsonl --out h.db "
                        "--max-total %ld", size + 1), 1, "%s", err_text);
    cr_assert(strstr(err_text, "--data passages.jsonl brings the passages to") && !exists(dir, "h.db"), "%s", err_text);
    cr_assert_eq(run_in(dir, out, sizeof out, "index --data passages.jsonl --out h.db --max-total %ld", size), 0, "%s",
                 err_text);
    cr_assert_eq(run_in(dir, out, sizeof out, "index --data passages.jsonl --out h2.db --max-total 0"), 2);
    cr_assert_eq(run_in(dir, out, sizeof out, "index --data passages.jsonl --out h2.db --max-total 5x"), 2);
    // a line over 16 MiB: named and skipped, the other passages indexed
    snprintf(p, sizeof p, "%s/long.jsonl", dir);
    f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("{\"title\": \"Short\", \"text\": \"A short passage.\"}\n{\"title\": \"Long\", \"text\": \"", f);
    for (int i = 0; i < (17 << 20) / 64; i++) fputs("0123456789012345678901234567890123456789012345678901234567890123", f);
    fputs("\"}\n", f);
    fclose(f);
    cr_assert_eq(run_in(dir, out, sizeof out, "index --data long.jsonl --out l.db"), 1, "%s", err_text);
    cr_assert(strstr(err_text, "long.jsonl:2: line longer than 16 MiB") && strstr(err_text, "indexed 1 passage "),
              "%s", err_text);
    rm_dir(dir);
}

// #20 (n_positions 2^40): a context or size too large for the engine is one line naming config.json,
// the key and the value (it read 'key "n_ctx" must be an integer'), before anything is allocated.
Test(safety, issue20_huge_context_in_config_names_the_key) {
    char dir[64], out[4096], p[PATH_MAX];
    make_dir(dir);
    snprintf(p, sizeof p, "%s/tiny/config.json", dir);
    struct { const char *from, *to, *want; } cases[] = {
        {"\"n_positions\": 32", "\"n_positions\": 1099511627776", "key \"n_positions\" is 1099511627776, too large"},
        {"\"n_ctx\": 32", "\"n_ctx\": 1099511627776", "key \"n_ctx\" is 1099511627776, too large"},
        {"\"n_positions\": 32", "\"n_positions\": 100000000", "n_positions (n_ctx, max_position_embeddings) is 100000000"},
        {"\"n_layer\": 2", "\"n_layer\": 5000", "n_layer (num_hidden_layers) is 5000"},
    };
    char orig[8192];
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    size_t n = fread(orig, 1, sizeof orig - 1, f);
    orig[n] = '\0';
    fclose(f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *at = strstr(orig, cases[i].from), text[8192];
        cr_assert_not_null(at, "%s", cases[i].from);
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - orig), orig, cases[i].to, at + strlen(cases[i].from));
        write_file(dir, "tiny/config.json", text);
        const char *cmds[] = {"loss --model tiny --ids 1,2,3",
                              "train --config tiny/config.json --data ids.jsonl --steps 1 --batch 1 --seq-len 4 --out t"};
        for (int c = 0; c < 2; c++) {
            cr_assert_eq(run_in(dir, out, sizeof out, "%s", cmds[c]), 1, "%s: %s", cmds[c], err_text);
            cr_assert(strstr(err_text, "tiny/config.json: ") && strstr(err_text, cases[i].want), "%s: want '%s': %s",
                      cmds[c], cases[i].want, err_text);
            cr_assert_eq(strchr(err_text, '\n'), err_text + strlen(err_text) - 1, "not one line: %s", err_text);
        }
    }
    rm_dir(dir);
}

// convert, merge-adapter and report follow the output rule with the other commands' lines: OUT never
// one of the inputs, a finished result never replaced (convert and merge-adapter always write a new
// directory; report only with --force), a second writer refused at once (OUT.lock), an OUT whose
// directory does not exist refused before anything is written.
Test(safety, convert_merge_adapter_and_report_follow_the_output_rule, .timeout = 120) {
    char dir[64], out[4096], lock[PATH_MAX];
    make_dir(dir);
    unsigned long long cfg = checksum(dir, "tiny/config.json", NULL), wts = checksum(dir, "tiny/model.safetensors", NULL);
    char cmd[PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp -r tests/fixtures/lora-gpt2 '%s/ad'", dir);
    cr_assert_eq(system(cmd), 0);
    const char *writes[] = {"convert --model tiny --dtype bf16 --out", "merge-adapter --model tiny --adapter ad --out"};
    for (int w = 0; w < 2; w++) {
        cr_assert_eq(run_in(dir, out, sizeof out, "%s tiny", writes[w]), 2, "%s", err_text);
        cr_assert(strstr(err_text, "same file as the input --model tiny/"), "%s", err_text);
        cr_assert_eq(run_in(dir, out, sizeof out, "%s nodir/o", writes[w]), 1, "%s", err_text);
        cr_assert(strstr(err_text, "directory nodir does not exist") && !exists(dir, "nodir"), "%s", err_text);
        // a second writer: the test holds o.lock
        snprintf(lock, sizeof lock, "%s/o%d.lock", dir, w);
        int fd = open(lock, O_RDWR | O_CREAT, 0644);
        cr_assert(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
        cr_assert_eq(run_in(dir, out, sizeof out, "%s o%d", writes[w], w), 1, "%s", err_text);
        cr_assert(strstr(err_text, "being written by another toolformer process") && strstr(err_text, "lock"), "%s",
                  err_text);
        cr_assert(!exists(dir, w ? "o1" : "o0"), "written beside a lock holder");
        close(fd);
        unlink(lock);
        cr_assert_eq(run_in(dir, out, sizeof out, "%s o%d", writes[w], w), 0, "%s", err_text);
        char name[32];
        snprintf(name, sizeof name, "o%d/model.safetensors", w);
        unsigned long long done = checksum(dir, name, NULL);
        snprintf(name, sizeof name, "o%d.lock", w);
        cr_assert(!exists(dir, name), "the lock file was left behind");
        // a finished result is not replaced
        cr_assert_eq(run_in(dir, out, sizeof out, "%s o%d", writes[w], w), 2, "%s", err_text);
        cr_assert(strstr(err_text, "exists") && strstr(err_text, "would be overwritten"), "%s", err_text);
        snprintf(name, sizeof name, "o%d/model.safetensors", w);
        cr_assert_eq(checksum(dir, name, NULL), done);
    }
    cr_assert_eq(checksum(dir, "tiny/config.json", NULL), cfg);
    cr_assert_eq(checksum(dir, "tiny/model.safetensors", NULL), wts);
    // report: the page is never one of the run's files, even with --force; an existing page only with --force
    mkdir(strcat(strcpy((char[128]){0}, dir), "/run"), 0755);
    write_file(dir, "run/eval_math_on.json", "{\"task\": \"math\", \"n\": 1, \"correct\": 1, \"accuracy\": 1.0}\n");
    unsigned long long ev = checksum(dir, "run/eval_math_on.json", NULL);
    cr_assert_eq(run_in(dir, out, sizeof out, "report run --out run/eval_math_on.json --force"), 2, "%s", err_text);
    cr_assert(strstr(err_text, "same file as the input"), "%s", err_text);
    cr_assert_eq(checksum(dir, "run/eval_math_on.json", NULL), ev);
    cr_assert_eq(run_in(dir, out, sizeof out, "report run"), 0, "%s", err_text);
    unsigned long long page = checksum(dir, "run/report.html", NULL);
    cr_assert_eq(run_in(dir, out, sizeof out, "report run"), 2, "%s", err_text);
    cr_assert(strstr(err_text, "exists") && strstr(err_text, "--force"), "%s", err_text);
    cr_assert_eq(checksum(dir, "run/report.html", NULL), page);
    snprintf(lock, sizeof lock, "%s/run/report.html.lock", dir);
    int fd = open(lock, O_RDWR | O_CREAT, 0644);
    cr_assert(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
    cr_assert_neq(run_in(dir, out, sizeof out, "report run --force"), 0, "ran beside a lock holder");
    cr_assert(strstr(err_text, "being written by another toolformer process"), "%s", err_text);
    close(fd);
    unlink(lock);
    cr_assert_eq(run_in(dir, out, sizeof out, "report run --force"), 0, "%s", err_text);
    rm_dir(dir);
}

// finetune --lora writes an adapter (adapter_model.safetensors, adapter_config.json): the output rule
// guards those files (a finished adapter is not overwritten without --force; the lock is
// DIR/adapter_model.safetensors.lock), not the model.safetensors it never writes.
Test(safety, lora_finetune_guards_the_adapter_it_writes, .timeout = 120) {
    char dir[64], out[4096], lock[PATH_MAX];
    make_dir(dir);
#define LORA "finetune --model tiny --lora 2" TRAIN_ARGS " --out ad"
    cr_assert_eq(run_in(dir, out, sizeof out, LORA), 0, "%s", err_text);
    cr_assert(exists(dir, "ad/adapter_model.safetensors") && !exists(dir, "ad/model.safetensors"));
    cr_assert(strstr(out, "adapter written to ad"), "%s", out);
    unsigned long long a = checksum(dir, "ad/adapter_model.safetensors", NULL);
    cr_assert_eq(run_in(dir, out, sizeof out, LORA), 2, "a finished adapter was overwritten: %s", err_text);
    cr_assert(strstr(err_text, "ad/adapter_model.safetensors exists") && strstr(err_text, "--force"), "%s", err_text);
    cr_assert_eq(checksum(dir, "ad/adapter_model.safetensors", NULL), a);
    snprintf(lock, sizeof lock, "%s/ad/adapter_model.safetensors.lock", dir);
    int fd = open(lock, O_RDWR | O_CREAT, 0644);
    cr_assert(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
    cr_assert_neq(run_in(dir, out, sizeof out, LORA " --force"), 0, "ran beside a lock holder");
    cr_assert(strstr(err_text, "being written by another toolformer process") &&
              strstr(err_text, "ad/adapter_model.safetensors"), "%s", err_text);
    close(fd);
    unlink(lock);
    cr_assert_eq(checksum(dir, "ad/adapter_model.safetensors", NULL), a);
    cr_assert_eq(run_in(dir, out, sizeof out, LORA " --force"), 0, "%s", err_text);
    cr_assert(!exists(dir, "ad/adapter_model.safetensors.lock"));
#undef LORA
    rm_dir(dir);
}

// A call that passed the filter but lost its position to a better one (at most one call per
// position) is marked "displaced" in --rejected, and a kept call with a score at least as high
// stands at its place in --out.
Test(safety, displaced_calls_are_marked_in_rejected, .timeout = 120) {
    char dir[64], out[4096], p[PATH_MAX], line[1 << 16];
    make_dir(dir);
    cr_assert_eq(run_in(dir, out, sizeof out, "annotate --model {M} --tools calculator --proposer tool --tau-f -100 "
                        "--top-k 2 --samples 3 --threads 1 --quiet --data corpus.jsonl --out o.jsonl --rejected r.jsonl"),
                 0, "%s", err_text);
    char kept[8192] = "";  // "doc:pos:score;" of every kept call
    snprintf(p, sizeof p, "%s/o.jsonl", dir);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    while (fgets(line, sizeof line, f)) {
        long doc = atol(strstr(line, "\"doc_index\":") + 12);
        for (char *c = line; (c = strstr(c, "\"char_pos\":")); c++) {
            char one[64];
            snprintf(one, sizeof one, "%ld:%ld:%g;", doc, atol(c + 11), atof(strstr(c, "\"score\":") + 8));
            strncat(kept, one, sizeof kept - strlen(kept) - 1);
        }
    }
    fclose(f);
    snprintf(p, sizeof p, "%s/r.jsonl", dir);
    f = fopen(p, "r");
    cr_assert_not_null(f);
    int displaced = 0;
    while (fgets(line, sizeof line, f)) {
        int capped = strstr(line, "\"capped\":true") != NULL, disp = strstr(line, "\"displaced\":true") != NULL;
        double score = atof(strstr(line, "\"score\":") + 8);
        // every call passed (tau_f -100): each rejected one is either capped or displaced
        cr_assert(capped || disp, "a passing call rejected without a reason: %s", line);
        if (!disp) continue;
        displaced++;
        char want[64];
        snprintf(want, sizeof want, "%ld:%ld:", atol(strstr(line, "\"doc_index\":") + 12),
                 atol(strstr(line, "\"char_pos\":") + 11));
        char *k = strstr(kept, want);
        cr_assert_not_null(k, "no kept call at the place of %s (kept: %s)", line, kept);
        cr_assert_geq(atof(k + strlen(want)) + 1e-6, score, "%s", line);
    }
    fclose(f);
    cr_assert_gt(displaced, 0, "no displaced call in this run");
    rm_dir(dir);
}

// The calls of one tool in an annotate output (kind "out": the calls written; "displaced": the
// --rejected lines marked displaced).
static long count_calls(const char *dir, const char *name, const char *kind) {
    char p[PATH_MAX], line[1 << 16];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "%s", p);
    long n = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line), *c;
        cr_assert_not_null(j, "%s: %s", p, line);
        if (!strcmp(kind, "out")) cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "calls")) n++;
        else n += cJSON_IsTrue(cJSON_GetObjectItem(j, "displaced"));
        cJSON_Delete(j);
    }
    fclose(f);
    return n;
}

static cJSON *read_json(const char *dir, const char *name) {
    char p[PATH_MAX], buf[1 << 16];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "%s", p);
    buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
    fclose(f);
    cJSON *j = cJSON_Parse(buf);
    cr_assert_not_null(j, "%s", p);
    return j;
}

static double tool_value(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tools"), 0), key);
    cr_assert(cJSON_IsNumber(v), "no tools[0].%s", key);
    return v->valuedouble;
}

static long tool_count(const cJSON *j, const char *key) { return (long)tool_value(j, key); }

// annotate's "kept" is the calls written into --out; the calls that passed but lost their position
// are "displaced", in the --json summary, the table and the progress file. A progress file of an
// older version (displaced counted as kept, no "displaced") still resumes, to the same counts.
#define ANN_D "annotate --model {M} --tools calculator --proposer tool --tau-f -100 --top-k 2 --samples 3 " \
              "--threads 1 --quiet --data corpus.jsonl "
Test(safety, kept_counts_the_calls_written_and_displaced_is_its_own_count, .timeout = 180) {
    char dir[64], out[8192];
    make_dir(dir);
    cr_assert_eq(run_in(dir, out, sizeof out, ANN_D "--json --out o.jsonl --rejected r.jsonl"), 0, "%s", err_text);
    cJSON *sum = cJSON_Parse(out);
    cr_assert_not_null(sum, "%s", out);
    long written = count_calls(dir, "o.jsonl", "out"), displaced = count_calls(dir, "r.jsonl", "displaced");
    cr_assert_gt(displaced, 0, "no displaced call in this run");
    cr_assert_eq(tool_count(sum, "kept"), written, "kept %ld, but %ld calls written", tool_count(sum, "kept"), written);
    cr_assert_eq(tool_count(sum, "displaced"), displaced);
    cJSON *prog = read_json(dir, "o.jsonl.progress");
    cr_assert_eq(tool_count(prog, "kept"), written);
    cr_assert_eq(tool_count(prog, "displaced"), displaced);
    double want_mean = tool_value(sum, "mean_score");
    cJSON_Delete(prog);
    // the table
    cr_assert_eq(run_in(dir, out, sizeof out, ANN_D "--out t.jsonl --rejected tr.jsonl"), 0, "%s", err_text);
    char row[128];
    snprintf(row, sizeof row, "%ld %10ld", written, displaced);
    cr_assert(strstr(out, "displaced") && strstr(out, row), "%s", out);

    // an older progress file: one document done, kept counting the displaced calls, no "displaced"
    cr_assert_eq(run_in(dir, NULL, 0, ANN_D "--max-docs 1 --out p.jsonl --rejected pr.jsonl"), 0, "%s", err_text);
    prog = read_json(dir, "p.jsonl.progress");
    cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(prog, "tools"), 0);
    long k1 = tool_count(prog, "kept"), d1 = tool_count(prog, "displaced");
    cr_assert_eq(k1, count_calls(dir, "p.jsonl", "out"));
    cJSON_ReplaceItemInObject(t, "kept", cJSON_CreateNumber((double)(k1 + d1)));
    cJSON_DeleteItemFromObject(t, "displaced");
    char *s = cJSON_Print(prog), p[PATH_MAX];
    write_file(dir, "p.jsonl.progress", s);
    free(s);
    cJSON_Delete(prog);
    cr_assert_eq(run_in(dir, out, sizeof out, ANN_D "--json --resume --out p.jsonl --rejected pr.jsonl"), 0, "%s",
                 err_text);
    cJSON *res = cJSON_Parse(out);
    cr_assert_not_null(res, "%s", out);
    cr_assert_eq(tool_count(res, "kept"), written, "after resuming an older progress file");
    cr_assert_eq(tool_count(res, "displaced"), displaced, "after resuming an older progress file");
    cr_assert_float_eq(tool_value(res, "mean_score"), want_mean, 1e-3);
    snprintf(p, sizeof p, "cmp -s '%s/o.jsonl' '%s/p.jsonl'", dir, dir);
    cr_assert_eq(system(p), 0, "the resumed output differs from the uninterrupted one");
    cJSON_Delete(res);
    cJSON_Delete(sum);
    rm_dir(dir);
}
#undef ANN_D

// A training run that diverges (--lr 1e30) stops with an error, and its --log stays JSON: the
// diverged step's loss or gradient norm is null, never nan or inf (issue 21, JSON through cJSON).
Test(safety, a_diverged_run_logs_null_where_a_number_is_not_finite, .timeout = 120) {
    char dir[64], out[4096], p[PATH_MAX], line[4096];
    make_dir(dir);
    int rc = run_in(dir, out, sizeof out, "train --config tiny/config.json --data ids.jsonl --steps 4 --batch 2 "
                    "--seq-len 8 --threads 1 --lr 1e30 --out tr --log log.jsonl");
    cr_assert_neq(rc, 0, "a diverged run exited 0");
    cr_assert(strstr(err_text, "loss became") && strstr(err_text, "lower --lr"), "%s", err_text);
    cr_assert_null(strstr(err_text, "loss became -1"), "a NaN loss reported as the no-target -1: %s", err_text);
    snprintf(p, sizeof p, "%s/log.jsonl", dir);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    int n = 0, nulls = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        cr_assert_not_null(j, "line %d of the log is not JSON: %s", n + 1, line);
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "step")), "%s", line);
        const char *keys[4] = {"loss", "lr", "grad_norm", "tokens_per_s"};
        for (int k = 0; k < 4; k++) {
            const cJSON *v = cJSON_GetObjectItem(j, keys[k]);
            cr_assert(cJSON_IsNumber(v) || cJSON_IsNull(v), "%s in %s", keys[k], line);
            nulls += cJSON_IsNull(v);
        }
        cJSON_Delete(j);
        n++;
    }
    fclose(f);
    cr_assert_gt(n, 0, "the log is empty");
    cr_assert_gt(nulls, 0, "the diverged step is not in the log (or logged as a number)");
    rm_dir(dir);
}
