// test_train.c — the training loop: schedule, data loading errors, learning, gradient accumulation,
// and exact resume from a checkpoint.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_util.h"

static char *tmpdir(void) {
    char *d = strdup("/tmp/tf_train_XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static void rm_rf(const char *d) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    cr_assert_eq(system(cmd), 0);
}

static void write_text(const char *path, const char *text) {
    tf_error err;
    cr_assert_eq(tf_write_file_atomic(path, text, strlen(text), &err), TF_OK);
}

// A small dataset with learnable structure: counting sequences mod V.
static void counting_data(tf_dataset *ds, int V) {
    tf_error err;
    for (int d = 0; d < 20; d++) {
        int ids[40];
        for (int i = 0; i < 40; i++) ids[i] = (d + i) % (V - 1);
        cr_assert_eq(tf_dataset_add(ds, ids, NULL, 40, &err), TF_OK);
    }
}

static void options(tf_train_options *o, const char *out, int steps) {
    tf_train_defaults(o);
    o->steps = steps;
    o->batch = 4;
    o->seq_len = 12;
    o->lr = 3e-3f;
    o->min_lr = 3e-4f;
    o->warmup = 2;
    o->out_dir = out;
    o->quiet = 1;
    o->eos_id = 22;
}

Test(train, lr_schedule_warms_up_linearly_then_follows_cosine) {
    tf_train_options o;
    tf_train_defaults(&o);
    o.steps = 110;
    o.warmup = 10;
    o.lr = 1.0f;
    o.min_lr = 0.1f;
    cr_assert_float_eq(tf_train_lr(&o, 0), 0.1f, 1e-6);
    cr_assert_float_eq(tf_train_lr(&o, 9), 1.0f, 1e-6);
    cr_assert_float_eq(tf_train_lr(&o, 10), 1.0f, 1e-6);
    cr_assert_float_eq(tf_train_lr(&o, 60), 0.55f, 1e-5);  // halfway: (1 + 0.1) / 2
    cr_assert_float_eq(tf_train_lr(&o, 110), 0.1f, 1e-6);
}

Test(train, jsonl_errors_name_file_and_line) {
    char *d = tmpdir(), p[256];
    snprintf(p, sizeof p, "%s/data.jsonl", d);
    tf_error err;
    tf_dataset ds = {0};
    write_text(p, "{\"ids\": [1, 2, 3]}\n\n{\"ids\": [1, 2,\n");
    cr_assert_eq(tf_dataset_load_jsonl(&ds, p, NULL, NULL, 10, &err), TF_EBADFILE);
    cr_assert(strstr(err.msg, "data.jsonl:3") != NULL, "%s", err.msg);
    tf_dataset_free(&ds);
    write_text(p, "{\"ids\": [1, 2, 30]}\n");
    cr_assert_eq(tf_dataset_load_jsonl(&ds, p, NULL, NULL, 10, &err), TF_EBADFILE);
    cr_assert(strstr(err.msg, ":1:") != NULL && strstr(err.msg, "[2]") != NULL, "%s", err.msg);
    tf_dataset_free(&ds);
    write_text(p, "{\"text\": \"hello\"}\n");
    cr_assert_eq(tf_dataset_load_jsonl(&ds, p, NULL, NULL, 10, &err), TF_EBADFILE);
    cr_assert(strstr(err.msg, "tokenizer") != NULL, "%s", err.msg);
    tf_dataset_free(&ds);
    write_text(p, "{\"ids\": [1, 2, 3], \"loss_mask\": [1, 0]}\n");
    cr_assert_eq(tf_dataset_load_jsonl(&ds, p, NULL, NULL, 10, &err), TF_EBADFILE);
    cr_assert(strstr(err.msg, "loss_mask") != NULL, "%s", err.msg);
    tf_dataset_free(&ds);
    write_text(p, "{\"ids\": [1, 2, 3], \"loss_mask\": [1, 0, 1]}\n{\"ids\": [4]}\n");
    cr_assert_eq(tf_dataset_load_jsonl(&ds, p, NULL, NULL, 10, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(ds.n_docs, 2);
    cr_assert_eq(ds.n_tokens, 4);
    cr_assert_eq(ds.mask[1], 0.0f);
    cr_assert_eq(ds.mask[3], 1.0f);
    tf_dataset_free(&ds);
    rm_rf(d);
    free(d);
}

Test(train, loss_falls_on_learnable_data_and_model_is_written) {
    char *d = tmpdir();
    tf_model *m = tiny_model(0, 11);
    tf_dataset ds = {0};
    counting_data(&ds, m->cfg.vocab_size);
    tf_train_options o;
    options(&o, d, 100);
    o.lr = 1e-2f;
    o.min_lr = 1e-3f;
    tf_train_result res;
    tf_error err;
    float before = tf_eval_loss(m, &ds, 4, 12, &err);
    cr_assert_eq(tf_train(m, &ds, NULL, &o, &res, &err), TF_OK, "%s", err.msg);
    float after = tf_eval_loss(m, &ds, 4, 12, &err);
    cr_assert(after < 0.5f * before, "loss %.3f -> %.3f", before, after);
    cr_assert_eq(res.steps_done, 100);
    tf_model *back = tf_model_load(d, &err);
    cr_assert_not_null(back, "%s", err.msg);
    cr_assert_eq(memcmp(back->params, m->params, m->num_params * sizeof(float)), 0);
    tf_model_free(back);
    tf_model_free(m);
    tf_dataset_free(&ds);
    rm_rf(d);
    free(d);
}

// The per-step losses, read back from the JSON log.
static int logged_losses(char *log, float *out, int max) {
    int n = 0;
    for (char *p = log; n < max && (p = strstr(p, "\"loss\": ")); p += 8) out[n++] = strtof(p + 8, NULL);
    return n;
}

Test(train, grad_accumulation_equals_the_larger_batch) {
    char *d1 = tmpdir(), *d2 = tmpdir();
    tf_model *a = tiny_model(0, 5), *b = tiny_model(0, 5);
    tf_dataset ds = {0};
    counting_data(&ds, a->cfg.vocab_size);
    tf_train_options o1, o2;
    options(&o1, d1, 4);
    options(&o2, d2, 4);
    o2.batch = 2;
    o2.grad_accum = 2;  // the same rows (same random offsets, drawn in the same order), half at a time
    char *log1 = NULL, *log2 = NULL;
    size_t n1 = 0, n2 = 0;
    o1.log = open_memstream(&log1, &n1);
    o2.log = open_memstream(&log2, &n2);
    tf_train_result r;
    tf_error err;
    cr_assert_eq(tf_train(a, &ds, NULL, &o1, &r, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(tf_train(b, &ds, NULL, &o2, &r, &err), TF_OK, "%s", err.msg);
    fclose(o1.log);
    fclose(o2.log);
    float l1[8], l2[8];
    cr_assert_eq(logged_losses(log1, l1, 8), 4);
    cr_assert_eq(logged_losses(log2, l2, 8), 4);
    for (int s = 0; s < 4; s++)
        cr_assert(fabsf(l1[s] - l2[s]) <= 1e-4f * l1[s], "step %d: loss %.6f (B4) vs %.6f (B2 x 2)", s, l1[s], l2[s]);
    free(log1);
    free(log2);
    tf_model_free(a);
    tf_model_free(b);
    tf_dataset_free(&ds);
    rm_rf(d1);
    rm_rf(d2);
    free(d1);
    free(d2);
}

static void check_resume(int pack) {
    char *d1 = tmpdir(), *d2 = tmpdir();
    tf_model *a = tiny_model(2, 8), *b = tiny_model(2, 8);
    tf_dataset ds = {0};
    counting_data(&ds, a->cfg.vocab_size);
    tf_train_options o;
    tf_train_result r;
    tf_error err;
    options(&o, d1, 12);
    o.pack = pack;
    cr_assert_eq(tf_train(a, &ds, NULL, &o, &r, &err), TF_OK, "%s", err.msg);
    // interrupted run: 5 steps, then a fresh process (a fresh model object) resumes to 12
    options(&o, d2, 12);
    o.pack = pack;
    o.stop_after = 5;
    cr_assert_eq(tf_train(b, &ds, NULL, &o, &r, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(r.steps_done, 5);
    tf_model_free(b);
    b = tiny_model(2, 999);  // different weights: all must come from the checkpoint
    o.stop_after = 0;
    o.resume = 1;
    cr_assert_eq(tf_train(b, &ds, NULL, &o, &r, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(r.steps_done, 12);
    cr_assert_eq(b->adam_step, a->adam_step);
    cr_assert_eq(memcmp(a->params, b->params, a->num_params * sizeof(float)), 0,
                 "resumed weights differ from an uninterrupted run");
    tf_model_free(a);
    tf_model_free(b);
    tf_dataset_free(&ds);
    rm_rf(d1);
    rm_rf(d2);
    free(d1);
    free(d2);
}

Test(train, resume_is_exact_when_packing) { check_resume(1); }
Test(train, resume_is_exact_with_document_rows) { check_resume(0); }
