// test_dist.c — scale-out: data-parallel training (through the trainer's hook with two threads, and
// with `mpirun -np 2`), annotate across processes, and merge-shards. The mpirun tests need Open MPI
// (openmpi-bin, libopenmpi-dev; CI installs them) and fail, never skip, without it.
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "engine_util.h"
#include "pipeline_util.h"
#include "tf_pipeline.h"

static char *slurp(const char *p) {
    tf_error err;
    char *s = tf_read_file(p, NULL, &err);
    cr_assert_not_null(s, "%s", err.msg);
    return s;
}

static void write_text(const char *path, const char *text) {
    tf_error err;
    cr_assert_eq(tf_write_file_atomic(path, text, strlen(text), &err), TF_OK, "%s", err.msg);
}

// The "loss" of every step line of a training log, in order; returns the count.
static int log_losses(const char *path, double *loss, int cap) {
    char *s = slurp(path), *p = s;
    int n = 0;
    while ((p = strstr(p, "\"loss\": ")) && n < cap) {
        loss[n++] = strtod(p + 8, NULL);
        p += 8;
    }
    free(s);
    return n;
}

static void same_curve(const char *log_a, const char *log_b, int steps) {
    double a[64], b[64];
    cr_assert_eq(log_losses(log_a, a, 64), steps, "%s: want %d steps", log_a, steps);
    cr_assert_eq(log_losses(log_b, b, 64), steps, "%s: want %d steps", log_b, steps);
    for (int i = 0; i < steps; i++)
        cr_assert_leq(fabs(a[i] - b[i]), 1e-5 * fabs(a[i]), "step %d: loss %.7f with one process, %.7f with two",
                      i + 1, a[i], b[i]);
    cr_assert_lt(a[steps - 1], a[0] - 1e-3, "the loss should move (%.5f -> %.5f)", a[0], a[steps - 1]);
}

// ---- data parallel through the trainer's hook, two threads standing in for two processes ----------

typedef struct {
    pthread_barrier_t bar;
    void *buf[2];
} pair;

typedef struct {
    pair *p;
    int rank;
} pair_rank;

// Sums the two workers' buffers: both publish, both add (a + b in the same order), both copy back.
#define PAIR_SUM(name, type)                                                    \
    static int name(void *ctx, type *buf, size_t n, tf_error *err) {            \
        pair_rank *r = ctx;                                                     \
        type *sum = malloc(sizeof(type) * (n ? n : 1));                         \
        if (!sum) return tf_errorf(err, TF_ENOMEM, "out of memory");            \
        r->p->buf[r->rank] = buf;                                               \
        pthread_barrier_wait(&r->p->bar);                                       \
        const type *a = r->p->buf[0], *b = r->p->buf[1];                        \
        for (size_t i = 0; i < n; i++) sum[i] = a[i] + b[i];                    \
        pthread_barrier_wait(&r->p->bar);                                       \
        memcpy(buf, sum, sizeof(type) * n);                                     \
        free(sum);                                                              \
        return TF_OK;                                                           \
    }
PAIR_SUM(pair_sum_f32, float)
PAIR_SUM(pair_sum_f64, double)

typedef struct {
    tf_model *m;
    const tf_dataset *ds;
    tf_train_options o;
    tf_train_dist dist;
    pair_rank pr;
    int rc;
    tf_error err;
} worker;

static void *run_worker(void *arg) {
    worker *w = arg;
    tf_set_threads(1);
    tf_train_result res;
    w->rc = tf_train(w->m, w->ds, NULL, &w->o, &res, &w->err);
    return NULL;
}

static void hook_options(tf_train_options *o, const char *out, int pack) {
    tf_train_defaults(o);
    o->steps = 6;
    o->batch = 5;  // odd: the workers get 3 and 2 rows
    o->seq_len = 12;
    o->grad_accum = 2;
    o->lr = 3e-3f;
    o->min_lr = 3e-4f;
    o->warmup = 2;
    o->pack = pack;
    o->eos_id = 22;
    o->out_dir = out;
    o->quiet = 1;
}

static void check_hook(int pack) {
    char dir[] = "/tmp/tf_dist_hook_XXXXXX", one[256], two[256], log1[256], log2[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(one, sizeof one, "%s/one", dir);
    snprintf(two, sizeof two, "%s/two", dir);
    snprintf(log1, sizeof log1, "%s/one.log", dir);
    snprintf(log2, sizeof log2, "%s/two.log", dir);
    tf_dataset ds = {0};
    tf_error err;
    for (int d = 0; d < 17; d++) {  // documents of different lengths, some shorter than a row
        int ids[40], n = 5 + (d * 7) % 30;
        for (int i = 0; i < n; i++) ids[i] = (d + 3 * i) % 22;
        float mask[40];
        for (int i = 0; i < n; i++) mask[i] = (i + d) % 4 ? 1.0f : 0.0f;  // some tokens without loss
        cr_assert_eq(tf_dataset_add(&ds, ids, mask, n, &err), TF_OK);
    }
    tf_set_threads(1);
    // one process
    tf_train_options o;
    hook_options(&o, one, pack);
    FILE *lf = fopen(log1, "w");
    o.log = lf;
    tf_model *m1 = tiny_model(0, 5);
    tf_train_result res;
    cr_assert_eq(tf_train(m1, &ds, NULL, &o, &res, &err), TF_OK, "%s", err.msg);
    fclose(lf);
    // two workers
    pair p;
    pthread_barrier_init(&p.bar, NULL, 2);
    worker w[2];
    pthread_t th[2];
    FILE *lf2 = fopen(log2, "w");
    for (int r = 0; r < 2; r++) {
        memset(&w[r], 0, sizeof w[r]);
        w[r].m = tiny_model(0, 5);
        w[r].ds = &ds;
        hook_options(&w[r].o, two, pack);
        w[r].o.log = lf2;  // rank 0 alone writes it
        w[r].pr = (pair_rank){&p, r};
        w[r].dist = (tf_train_dist){r, 2, &w[r].pr, pair_sum_f32, pair_sum_f64};
        w[r].o.dist = &w[r].dist;
    }
    for (int r = 0; r < 2; r++) cr_assert_eq(pthread_create(&th[r], NULL, run_worker, &w[r]), 0);
    for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
    fclose(lf2);
    for (int r = 0; r < 2; r++) cr_assert_eq(w[r].rc, TF_OK, "worker %d: %s", r, w[r].err.msg);
    same_curve(log1, log2, 6);
    // both workers hold the same weights, and the single process's within fp32 noise
    cr_assert_eq(memcmp(w[0].m->params, w[1].m->params, sizeof(float) * m1->num_params), 0,
                 "the workers' weights differ");
    // The last step's summed gradient is the single process's within fp32 noise. The weights agree
    // more loosely: Adam divides by the gradient's size, so elements whose gradient is nearly 0 take
    // steps that depend on that noise; compare the whole difference with the whole update.
    tf_model *m0 = tiny_model(0, 5);
    double diff = 0, upd = 0, gdiff = 0, gnorm = 0;
    for (size_t i = 0; i < m1->num_params; i++) {
        diff += pow(w[0].m->params[i] - m1->params[i], 2);
        upd += pow(m1->params[i] - m0->params[i], 2);
        gdiff += pow(w[0].m->grads[i] - m1->grads[i], 2);
        gnorm += pow(m1->grads[i], 2);
    }
    tf_model_free(m0);
    cr_assert_lt(sqrt(gdiff), 1e-5 * sqrt(gnorm), "gradients differ by %g (norm %g)", sqrt(gdiff), sqrt(gnorm));
    cr_assert_lt(sqrt(diff), 1e-2 * sqrt(upd), "weights differ from the single process's by %g (the update: %g)",
                 sqrt(diff), sqrt(upd));
    // only rank 0 wrote the model
    tf_model *saved = tf_model_load(two, &err);
    cr_assert_not_null(saved, "%s", err.msg);
    cr_assert_eq(memcmp(saved->params, w[0].m->params, sizeof(float) * m1->num_params), 0);
    tf_model_free(saved);
    for (int r = 0; r < 2; r++) tf_model_free(w[r].m);
    tf_model_free(m1);
    pthread_barrier_destroy(&p.bar);
    tf_dataset_free(&ds);
    rm_rf_dir(dir);
}

Test(dist, two_workers_through_the_hook_reproduce_one_process_with_document_rows) { check_hook(0); }
Test(dist, two_workers_through_the_hook_reproduce_one_process_when_packing) { check_hook(1); }

// ---- mpirun ----------------------------------------------------------------------------------------

// Runs `mpirun -np np TF_BIN args` with one thread per process; stdout into out, stderr into
// cli_run_stderr; returns the exit code (124: killed after 240 s, so a hung job fails the test).
// Fails the test when mpirun is missing. (The tests here set no Criterion .timeout: Criterion
// 2.4 leaks a timeout record in the runner when some timed tests overlap, which fails `make test`'s
// leak check.)
static int mpi_run(char *out, size_t cap, int np, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int mpi_run(char *out, size_t cap, int np, const char *fmt, ...) {
    cr_assert_eq(system("command -v mpirun >/dev/null 2>&1"), 0,
                 "mpirun not found: the MPI tests need Open MPI (Debian: openmpi-bin libopenmpi-dev)");
    char args[4096], pre[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    // local launch without ssh, shared memory only, no single-copy (needs ptrace in containers);
    // under ASan, Open MPI's own allocations are not ours: suppressed, with full stacks so they match
    snprintf(pre, sizeof pre,
             "OMP_NUM_THREADS=1 OMPI_MCA_plm=isolated OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 "
             "OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_mca_base_component_disable_dlclose=1 %s "
             "timeout -k 10 240 mpirun --allow-run-as-root --oversubscribe --bind-to none -np %d",
             getenv("TF_ASAN") ? "LSAN_OPTIONS=suppressions=tests/lsan_mpi.supp:print_suppressions=0 "
                                 "ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0"
                               : "",
             np);
    return cli_run_with(pre, out, cap, args);
}

// A corpus of arithmetic documents and a tiny model for it, in dir.
static void corpus_fixture(const char *dir, char *corpus, size_t cap, int docs) {
    snprintf(corpus, cap, "%s/corpus.jsonl", dir);
    FILE *f = fopen(corpus, "w");
    char text[256 * 40] = "";
    for (int d = 0; d < docs && d < 40; d++) {
        char line[256];
        snprintf(line, sizeof line, "Of %d pears, %d were ripe, so %d were not, a total of %d.", 40 + d, 15 + d, 25,
                 40 + d);
        fprintf(f, "{\"id\": \"p%d\", \"text\": \"%s\", \"date\": \"2023-02-%02d\"}\n", d, line, 1 + d % 28);
        strcat(text, line);
        strcat(text, "\n");
    }
    fclose(f);
    tf_model_free(tiny_lm(dir, text, 1, 32, 4));
}

Test(dist, finetune_with_two_processes_gives_the_one_process_loss_curve) {
    char dir[] = "/tmp/tf_dist_ft_XXXXXX", corpus[256], args[1024], out[8192];
    cr_assert_not_null(mkdtemp(dir));
    corpus_fixture(dir, corpus, sizeof corpus, 20);
    snprintf(args, sizeof args, "finetune --model %s --data %s --steps 6 --batch 5 --grad-accum 2 --seq-len 24 "
             "--lr 3e-3 --warmup 1 --threads 1", dir, corpus);
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s/one --log %s/one.log", args, dir, dir), 0, "%s", cli_run_stderr);
    cr_assert_eq(mpi_run(out, sizeof out, 2, "%s --out %s/two --log %s/two.log --json", args, dir, dir), 0, "%s",
                 cli_run_stderr);
    cr_assert(strstr(out, "\"processes\": 2") != NULL, "one summary, from rank 0, of 2 processes: %s", out);
    const char *first = strstr(out, "\"steps\"");
    cr_assert(first && !strstr(first + 1, "\"steps\""), "only rank 0 prints: %s", out);
    char one_log[256], two_log[256];
    snprintf(one_log, sizeof one_log, "%s/one.log", dir);
    snprintf(two_log, sizeof two_log, "%s/two.log", dir);
    same_curve(one_log, two_log, 6);
    // the checkpoint holds the global data order: two processes stop, one resumes, same curve
    cr_assert_eq(mpi_run(out, sizeof out, 2, "%s --out %s/mix --log %s/mix.log --stop-after 3", args, dir, dir), 0,
                 "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s/mix --log %s/mix.log --resume", args, dir, dir), 0, "%s",
                 cli_run_stderr);
    snprintf(two_log, sizeof two_log, "%s/mix.log", dir);
    same_curve(one_log, two_log, 6);
    tf_error err;
    char path[300];
    snprintf(path, sizeof path, "%s/two", dir);
    tf_model *m = tf_model_load(path, &err);
    cr_assert_not_null(m, "%s", err.msg);
    tf_model_free(m);
    rm_rf_dir(dir);
}

Test(dist, a_failing_rank_ends_every_process_with_a_clear_error) {
    char dir[] = "/tmp/tf_dist_fail_XXXXXX", data[256], out[4096];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/bad.jsonl", dir);
    write_text(data, "{\"ids\": [1, 2, 3]}\n{\"ids\": [1, 2\n");
    int rc = mpi_run(out, sizeof out, 2, "train --data %s --config tests/fixtures/gpt2-tiny/config.json --out %s/m",
                     data, dir);
    cr_assert_neq(rc, 0);
    cr_assert(strstr(cli_run_stderr, "bad.jsonl:2") != NULL, "%s", cli_run_stderr);
    rm_rf_dir(dir);
}

// tau_f -100 keeps every executed call, so every document is written with calls
#define ANNOTATE "annotate --model %s --data %s --tools calculator,calendar --proposer tool --tau-f -100 " \
                 "--top-k 2 --samples 2 --seed 5 --threads 1 --quiet"

Test(dist, annotate_with_two_processes_merges_into_the_one_process_output) {
    char dir[] = "/tmp/tf_dist_ann_XXXXXX", corpus[256], args[1024], out[8192], p[8][300];
    cr_assert_not_null(mkdtemp(dir));
    corpus_fixture(dir, corpus, sizeof corpus, 13);
    snprintf(args, sizeof args, ANNOTATE, dir, corpus);
    const char *names[8] = {"one.jsonl", "one.rej", "two.jsonl", "two.rej", "two.jsonl.shard-0-of-2",
                            "two.jsonl.shard-1-of-2", "joined.jsonl", "two.rej.shard-1-of-2"};
    for (int k = 0; k < 8; k++) snprintf(p[k], sizeof p[k], "%s/%s", dir, names[k]);
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s --rejected %s", args, p[0], p[1]), 0, "%s", cli_run_stderr);
    cr_assert_eq(mpi_run(out, sizeof out, 2, "%s --out %s --rejected %s --json", args, p[2], p[3]), 0, "%s",
                 cli_run_stderr);
    cr_assert(strstr(out, "\"documents\": 13") != NULL, "the summary counts every shard: %s", out);
    char *a = slurp(p[0]), *b = slurp(p[2]), *ra = slurp(p[1]), *rb = slurp(p[3]);
    cr_assert_gt(strlen(a), 1000);
    cr_assert(strstr(a, "\"doc_index\":12") != NULL, "records carry their corpus index");
    cr_assert_str_eq(a, b, "the merged output differs from one process's");
    cr_assert_str_eq(ra, rb, "the merged rejected file differs from one process's");
    // each rank wrote its own shard with a progress file; merge-shards joins them the same way
    char *s0 = slurp(p[4]), *s1 = slurp(p[5]);
    cr_assert_gt(strlen(s0), 100);
    cr_assert_gt(strlen(s1), 100);
    cr_assert_eq(strlen(s0) + strlen(s1), strlen(a));
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --out %s %s %s", p[6], p[5], p[4]), 0, "%s", cli_run_stderr);
    char *j = slurp(p[6]);
    cr_assert_str_eq(a, j);
    // resuming a finished run changes nothing
    cr_assert_eq(mpi_run(out, sizeof out, 2, "%s --out %s --rejected %s --resume", args, p[2], p[3]), 0, "%s",
                 cli_run_stderr);
    char *b2 = slurp(p[2]);
    cr_assert_str_eq(a, b2);
    // --shard is the rank's under mpirun
    cr_assert_eq(mpi_run(out, sizeof out, 2, "%s --out %s/x --shard 0/2", args, dir), 2);
    // the joined OUT follows the output rule too: the corpus as OUT is refused before any shard is
    // written, and so is a finished OUT without --resume or --force
    char *corpus_before = slurp(corpus);
    cr_assert_eq(mpi_run(out, sizeof out, 2, "%s --out %s", args, corpus), 2);
    cr_assert(strstr(cli_run_stderr, "same file as the input --data"), "%s", cli_run_stderr);
    cr_assert_eq(mpi_run(out, sizeof out, 2, "%s --out %s --rejected %s", args, p[2], p[3]), 2);
    cr_assert(strstr(cli_run_stderr, "exists"), "%s", cli_run_stderr);
    char *corpus_after = slurp(corpus), *b3 = slurp(p[2]);
    cr_assert_str_eq(corpus_before, corpus_after);
    cr_assert_str_eq(a, b3);
    free(corpus_before), free(corpus_after), free(b3);
    free(a), free(b), free(ra), free(rb), free(s0), free(s1), free(j), free(b2);
    rm_rf_dir(dir);
}

// ---- merge-shards without MPI: a job array's shards, and bad input --------------------------------

Test(merge_shards, job_array_shards_merge_into_the_unsharded_output) {
    char dir[] = "/tmp/tf_dist_arr_XXXXXX", corpus[256], args[1024], out[4096], p[5][300];
    cr_assert_not_null(mkdtemp(dir));
    corpus_fixture(dir, corpus, sizeof corpus, 10);
    snprintf(args, sizeof args, ANNOTATE, dir, corpus);
    for (int k = 0; k < 5; k++) snprintf(p[k], sizeof p[k], "%s/out%d.jsonl", dir, k);
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s", args, p[0]), 0, "%s", cli_run_stderr);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(cli_run(out, sizeof out, "%s --out %s --shard %d/3", args, p[1 + k], k), 0, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --out %s %s %s %s --json", p[4], p[3], p[1], p[2]), 0, "%s",
                 cli_run_stderr);
    cr_assert(strstr(out, "\"shards\": 3") != NULL, "%s", out);
    char *a = slurp(p[0]), *m = slurp(p[4]);
    cr_assert_str_eq(a, m);
    free(m);
    // a missing shard, the same shard twice
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --out %s/x %s %s", dir, p[1], p[3]), 2);
    cr_assert(strstr(cli_run_stderr, "shard 1/3 is missing") != NULL, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --out %s/x %s %s %s", dir, p[1], p[2], p[1]), 2);
    cr_assert(strstr(cli_run_stderr, "given twice") != NULL, "%s", cli_run_stderr);
    // --partial takes what there is
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --partial --out %s/x %s %s", dir, p[1], p[3]), 0, "%s",
                 cli_run_stderr);
    // an unfinished shard (stopped by --max-docs; --force replaces the finished one) is refused until
    // it is finished
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s --shard 1/3 --max-docs 1", args, p[2]), 2, "an existing "
                 "output is replaced only with --force");
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s --shard 1/3 --max-docs 1 --force", args, p[2]), 0, "%s",
                 cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --out %s %s %s %s", p[4], p[1], p[2], p[3]), 2, "an existing "
                 "merged output is replaced only with --force");
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --force --out %s %s %s %s", p[4], p[1], p[2], p[3]), 1);
    cr_assert(strstr(cli_run_stderr, "out2.jsonl.progress") && strstr(cli_run_stderr, "has not finished"), "%s",
              cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s --shard 1/3 --resume", args, p[2]), 0, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --force --out %s %s %s %s", p[4], p[1], p[2], p[3]), 0, "%s",
                 cli_run_stderr);
    m = slurp(p[4]);
    cr_assert_str_eq(a, m);
    // resuming as another shard is refused
    cr_assert_eq(cli_run(out, sizeof out, "%s --out %s --shard 2/3 --resume", args, p[2]), 2);
    cr_assert(strstr(cli_run_stderr, "shard 1/3") != NULL, "%s", cli_run_stderr);
    free(a), free(m);
    rm_rf_dir(dir);
}

// merge-shards on one bad file: exit 1, and the message holds every piece of want
static void bad_merge(const char *dir, const char *first, const char *second, const char *want1, const char *want2) {
    char a[300], b[300], o[300], out[4096];
    snprintf(a, sizeof a, "%s/a.jsonl", dir);
    snprintf(b, sizeof b, "%s/b.jsonl", dir);
    snprintf(o, sizeof o, "%s/merged.jsonl", dir);
    write_text(a, first);
    write_text(b, second);
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --out %s %s %s", o, a, b), 1, "%s | %s", first, second);
    cr_assert(strstr(cli_run_stderr, want1) && strstr(cli_run_stderr, want2), "want '%s' and '%s' in: %s", want1, want2,
              cli_run_stderr);
    cr_assert_eq(strncmp(cli_run_stderr, "toolformer: ", 12), 0, "%s", cli_run_stderr);
    const char *nl = strchr(cli_run_stderr, '\n');
    cr_assert(nl && nl[1] == '\0', "one line: %s", cli_run_stderr);
    cr_assert_eq(access(o, F_OK), -1, "nothing is written on an error");
}

Test(merge_shards, malformed_input_gives_one_clear_error) {
    char dir[] = "/tmp/tf_dist_bad_XXXXXX", out[4096];
    cr_assert_not_null(mkdtemp(dir));
    const char *ok = "{\"id\": \"x\", \"doc_index\": 1, \"text\": \"a\"}\n";
    bad_merge(dir, ok, "{\"id\": \"y\", \"text\": \"b\"}\n", "b.jsonl:1", "doc_index");
    bad_merge(dir, ok, "\n[1, 2]\n", "b.jsonl:2", "not a JSON object");
    bad_merge(dir, ok, "{\"doc_index\": -3}\n", "b.jsonl:1", "doc_index");
    bad_merge(dir, ok, "{\"doc_index\": 2.5}\n", "b.jsonl:1", "doc_index");
    bad_merge(dir, ok, "{\"doc_index\": 4}\n{\"doc_index\": 2}\n", "b.jsonl:2", "not in corpus order");
    bad_merge(dir, ok, "{\"doc_index\": 0}\n{\"doc_index\": 1}\n", "document 1 is in two shards", "a.jsonl:1");
    bad_merge(dir, ok, "{\"doc_index\": 3, \"text\": \"cut", "b.jsonl:1", "cut short");
    // usage
    char a[300];
    snprintf(a, sizeof a, "%s/a.jsonl", dir);
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --out %s %s", a, a), 2);
    cr_assert(strstr(cli_run_stderr, "same file as the input shard") != NULL, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --out %s/m", dir), 2);
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards %s", a), 2);
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --out %s/m %s/none.jsonl", dir, dir), 1);
    cr_assert(strstr(cli_run_stderr, "none.jsonl") != NULL, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --help"), 0);
    cr_assert(strstr(out, "doc_index") != NULL);
    // a progress file claiming an absurd number of shards is refused before anything is allocated for it
    char pp[320];
    snprintf(pp, sizeof pp, "%s.progress", a);
    write_text(a, ok);
    write_text(pp, "{\"next_doc\": 2, \"complete\": true, \"shard_k\": 0, \"shard_n\": 2147483647}");
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --out %s/m %s", dir, a), 1, "%s", cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, "a.jsonl.progress") && strstr(cli_run_stderr, "shard_n 2147483647"), "%s",
              cli_run_stderr);
    unlink(pp);
    // blank lines are skipped, lines of one document stay together and in order
    char b[300], o[300];
    snprintf(b, sizeof b, "%s/b.jsonl", dir);
    snprintf(o, sizeof o, "%s/m.jsonl", dir);
    write_text(a, "{\"doc_index\": 0, \"k\": 1}\n{\"doc_index\": 0, \"k\": 2}\n\n{\"doc_index\": 3}\n");
    write_text(b, "{\"doc_index\": 1}\n{\"doc_index\": 2, \"k\": 1}\n{\"doc_index\": 2, \"k\": 2}\n");
    cr_assert_eq(cli_run(out, sizeof out, "merge-shards --out %s %s %s", o, b, a), 0, "%s", cli_run_stderr);
    char *m = slurp(o);
    cr_assert_str_eq(m, "{\"doc_index\": 0, \"k\": 1}\n{\"doc_index\": 0, \"k\": 2}\n{\"doc_index\": 1}\n"
                        "{\"doc_index\": 2, \"k\": 1}\n{\"doc_index\": 2, \"k\": 2}\n{\"doc_index\": 3}\n");
    free(m);
    rm_rf_dir(dir);
}

// ---- the single-process stand-in -------------------------------------------------------------------
// A build without Open MPI compiles src/dist/dist.c as a stand-in; CI has Open MPI, so the stand-in
// is compiled here under other names (TF_HAVE_MPI is only ever defined for dist.c itself) and checked.
#define tf_dist_available stub_dist_available
#define tf_dist_init stub_dist_init
#define tf_dist_finalize stub_dist_finalize
#define tf_dist_rank stub_dist_rank
#define tf_dist_size stub_dist_size
#define tf_dist_local_size stub_dist_local_size
#define tf_dist_sum_f32 stub_dist_sum_f32
#define tf_dist_sum_f64 stub_dist_sum_f64
#define tf_dist_max_f64 stub_dist_max_f64
#define tf_dist_barrier stub_dist_barrier
#define tf_dist_abort stub_dist_abort
#include "dist/dist.c"

Test(dist, a_build_without_mpi_refuses_to_run_as_one_of_several_processes) {
    tf_error err = {0};
    char *args[] = {"toolformer", NULL}, **argv = args;
    int argc = 1;
    unsetenv("OMPI_COMM_WORLD_SIZE"), unsetenv("OMPI_COMM_WORLD_RANK"), unsetenv("PMIX_RANK"), unsetenv("PMI_RANK");
    cr_assert_eq(stub_dist_available(), 0);
    cr_assert_eq(stub_dist_init(&argc, &argv, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(stub_dist_size(), 1);
    cr_assert_eq(stub_dist_rank(), 0);
    float f[2] = {1.5f, -2.0f};
    double d = 3.0;
    cr_assert_eq(stub_dist_sum_f32(f, 2, &err), TF_OK);
    cr_assert_eq(stub_dist_sum_f64(&d, 1, &err), TF_OK);
    cr_assert(f[0] == 1.5f && f[1] == -2.0f && d == 3.0, "one process: a sum is the value itself");
    cr_assert_eq(stub_dist_barrier(&err), TF_OK);
    stub_dist_abort(1);  // a no-op for one process
    stub_dist_finalize();
    // started by mpirun -np 2
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    setenv("OMPI_COMM_WORLD_RANK", "1", 1);
    cr_assert_eq(stub_dist_init(&argc, &argv, &err), TF_EBADARG);
    cr_assert(strstr(err.msg, "rank 1 of 2") && strstr(err.msg, "built without MPI") && strstr(err.msg, "libopenmpi-dev"),
              "%s", err.msg);
    // TF_MPI=0: the launcher's variables are ignored
    setenv("TF_MPI", "0", 1);
    cr_assert_eq(stub_dist_init(&argc, &argv, &err), TF_OK, "%s", err.msg);
    unsetenv("TF_MPI");
    // a one-process launch is fine
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
    setenv("OMPI_COMM_WORLD_RANK", "0", 1);
    cr_assert_eq(stub_dist_init(&argc, &argv, &err), TF_OK, "%s", err.msg);
}
