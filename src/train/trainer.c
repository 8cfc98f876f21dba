// trainer.c — the training loop: batches from a tf_dataset, AdamW with warmup + cosine, gradient
// accumulation and clipping, held-out evaluation, checkpoints that resume exactly.
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tf_lora.h"
#include "tf_train.h"

void tf_train_defaults(tf_train_options *o) {
    memset(o, 0, sizeof *o);
    o->steps = 1000;
    o->batch = 8;
    o->seq_len = 256;
    o->grad_accum = 1;
    o->lr = 3e-4f;
    o->min_lr = 3e-5f;
    o->warmup = 100;
    o->weight_decay = 0.1f;
    o->beta1 = 0.9f;
    o->beta2 = 0.95f;
    o->eps = 1e-8f;
    o->grad_clip = 1.0f;
    o->seed = 1;
    o->pack = 1;
    o->eos_id = -1;
}

float tf_train_lr(const tf_train_options *o, int step) {
    if (o->warmup > 0 && step < o->warmup) return o->lr * (float)(step + 1) / (float)o->warmup;
    int decay = o->steps - o->warmup;
    if (decay <= 0) return o->lr;
    float progress = (float)(step - o->warmup) / (float)decay;
    if (progress > 1.0f) progress = 1.0f;
    return o->min_lr + 0.5f * (o->lr - o->min_lr) * (1.0f + cosf((float)M_PI * progress));
}

// A token stream for packing: documents joined by eos (when eos >= 0), with per-token weights
// (w NULL: every weight is 1, as when the dataset has no loss mask).
typedef struct {
    int *tok;
    float *w;
    size_t n;
} stream;

static int make_stream(stream *s, const tf_dataset *ds, int eos, tf_error *err) {
    size_t n = ds->n_tokens + (eos >= 0 ? ds->n_docs : 0);
    s->tok = malloc((n ? n : 1) * sizeof *s->tok);
    s->w = ds->mask ? malloc((n ? n : 1) * sizeof *s->w) : NULL;
    if (!s->tok || (ds->mask && !s->w)) return tf_errorf(err, TF_ENOMEM, "out of memory for the token stream");
    size_t k = 0;
    for (int d = 0; d < ds->n_docs; d++) {
        for (size_t i = ds->start[d]; i < ds->start[d + 1]; i++) {
            if (s->w) s->w[k] = ds->mask[i];
            s->tok[k++] = ds->tokens[i];
        }
        if (eos >= 0) {
            if (s->w) s->w[k] = 1.0f;
            s->tok[k++] = eos;
        }
    }
    s->n = k;
    return TF_OK;
}

static void free_stream(stream *s) {
    free(s->tok);
    free(s->w);
}

// Row r of a batch from s starting at offset o: inputs s[o..o+T), targets s[o+1..o+T], padded.
static void window_row(const stream *s, size_t o, int T, int *in, int *tg, float *w) {
    for (int t = 0; t < T; t++) {
        size_t i = o + t;
        in[t] = i < s->n ? s->tok[i] : 0;
        tg[t] = i + 1 < s->n ? s->tok[i + 1] : -1;
        w[t] = i + 1 < s->n ? (s->w ? s->w[i + 1] : 1.0f) : 0.0f;
    }
}

// Fisher-Yates permutation of the documents for an epoch, from (seed, epoch) alone.
static void epoch_order(int *perm, int n, uint64_t seed, int epoch) {
    tf_rng r;
    tf_rng_seed(&r, seed * 1000003ULL + (uint64_t)epoch);
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(tf_rng_u64(&r) % (uint64_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

// Fills one micro-batch [B, T] and advances the sampling state.
static void next_batch(const tf_dataset *ds, const stream *s, const tf_train_options *o, tf_train_state *st,
                       int *perm, int *in, int *tg, float *w) {
    int B = o->batch, T = o->seq_len;
    tf_rng r;
    memcpy(r.s, st->rng, sizeof r.s);
    for (int b = 0; b < B; b++) {
        int *bi = in + (size_t)b * T, *bt = tg + (size_t)b * T;
        float *bw = w + (size_t)b * T;
        if (o->pack) {
            size_t span = s->n > (size_t)T + 1 ? s->n - (size_t)T - 1 : 0;
            size_t off = span ? tf_rng_u64(&r) % (span + 1) : 0;
            window_row(s, off, T, bi, bt, bw);
        } else {
            if (st->cursor >= ds->n_docs) {
                st->epoch++;
                st->cursor = 0;
                epoch_order(perm, ds->n_docs, o->seed, st->epoch);
            }
            int d = perm[st->cursor++];
            stream doc = {ds->tokens + ds->start[d], ds->mask ? ds->mask + ds->start[d] : NULL,
                          ds->start[d + 1] - ds->start[d]};
            for (int t = 0; t < T; t++) {
                size_t i = (size_t)t;
                bi[t] = i < doc.n ? doc.tok[i] : 0;
                bt[t] = i + 1 < doc.n ? doc.tok[i + 1] : -1;
                bw[t] = i + 1 < doc.n ? (doc.w ? doc.w[i + 1] : 1.0f) : 0.0f;
            }
        }
    }
    memcpy(st->rng, r.s, sizeof r.s);
}

// The trained result in dir: the model, or with adapters the PEFT adapter directory (the base is frozen).
static int save_result(const tf_model *m, const char *dir, tf_error *err) {
    return tf_lora_attached(m) ? tf_lora_save(m, dir, err) : tf_model_save(m, dir, err);
}

static float eval_loss(tf_model *m, const tf_dataset *ds, int batch, int seq_len, tf_error *err) {
    stream s = {0};
    if (make_stream(&s, ds, m->cfg.eos_token_id, err)) { free_stream(&s); return -1.0f; }
    int B = batch, T = seq_len;
    int *in = malloc(sizeof(int) * B * T), *tg = malloc(sizeof(int) * B * T);
    float *w = malloc(sizeof(float) * B * T);
    double sum = 0.0, count = 0.0;
    int ok = in && tg && w;
    if (!ok) tf_errorf(err, TF_ENOMEM, "out of memory");
    // consecutive windows of T predictions: window k starts at k*T
    for (size_t off = 0; ok && off + 1 < s.n; off += (size_t)B * T) {
        for (int b = 0; b < B; b++) window_row(&s, off + (size_t)b * T, T, in + (size_t)b * T, tg + (size_t)b * T,
                                               w + (size_t)b * T);
        if (tf_model_forward(m, in, tg, w, B, T, err)) { ok = 0; break; }
        const float *nll = tf_model_token_nll(m);
        for (int i = 0; i < B * T; i++)
            if (tg[i] >= 0) {
                sum += (double)w[i] * nll[i];
                count += w[i];
            }
    }
    free(in);
    free(tg);
    free(w);
    free_stream(&s);
    if (!ok) return -1.0f;
    return count > 0 ? (float)(sum / count) : -1.0f;
}

float tf_eval_loss(tf_model *m, const tf_dataset *ds, int batch, int seq_len, tf_error *err) {
    tf_lora_set_training(m, 0);  // adapters: no dropout while evaluating
    float loss = eval_loss(m, ds, batch, seq_len, err);
    tf_lora_set_training(m, 1);
    return loss;
}

// Data parallel: copies rows rank, rank + world, ... of the global micro-batch [B, T] into the
// local one and returns their count; *w_all and *w_mine get the loss weight (targets >= 0) of the
// whole micro-batch and of the copied rows.
static int my_rows(const int *in, const int *tg, const float *w, int B, int T, int rank, int world, int *lin,
                   int *ltg, float *lw, double *w_all, double *w_mine) {
    int n = 0;
    *w_all = *w_mine = 0.0;
    for (int b = 0; b < B; b++) {
        double rw = 0.0;
        for (int t = 0; t < T; t++)
            if (tg[(size_t)b * T + t] >= 0) rw += w[(size_t)b * T + t];
        *w_all += rw;
        if (b % world != rank) continue;
        *w_mine += rw;
        memcpy(lin + (size_t)n * T, in + (size_t)b * T, sizeof(int) * T);
        memcpy(ltg + (size_t)n * T, tg + (size_t)b * T, sizeof(int) * T);
        memcpy(lw + (size_t)n * T, w + (size_t)b * T, sizeof(float) * T);
        n++;
    }
    return n;
}

// A number of the training log in fmt, or null when it is not finite (NaN or an infinity have no
// JSON spelling).
static void log_number(cJSON *line, const char *key, const char *fmt, double v) {
    char text[64];
    snprintf(text, sizeof text, fmt, v);
    if (isfinite(v)) cJSON_AddRawToObject(line, key, text);
    else cJSON_AddNullToObject(line, key);
}

// Writes one line of the training log and flushes it, so a crash keeps every finished step's line.
// The line keeps the log's layout, {"step": 1, "loss": 2.5}: a space after each ':' and ',' that
// cJSON's compact text has outside strings.
static void log_line(FILE *log, cJSON *line) {
    char *s = line ? cJSON_PrintUnformatted(line) : NULL;
    cJSON_Delete(line);
    if (!s) return;  // out of memory: the log misses a line, the training goes on
    int in_string = 0;
    for (const char *c = s; *c; c++) {
        fputc(*c, log);
        if (in_string && *c == '\\' && c[1]) fputc(*++c, log);
        else if (*c == '"') in_string = !in_string;
        else if (!in_string && (*c == ':' || *c == ',')) fputc(' ', log);
    }
    fputc('\n', log);
    fflush(log);
    free(s);
}

// The training log's length in bytes after flushing it (-1: no log, or not a regular file).
static long log_length(FILE *log) {
    struct stat sb;
    if (!log || fflush(log) != 0 || fstat(fileno(log), &sb) != 0 || !S_ISREG(sb.st_mode)) return -1;
    return (long)sb.st_size;
}

// Cuts a regular-file log back to bytes (a pipe or terminal is left alone); 0 or -1 with errno.
static int cut_log(FILE *log, long bytes) {
    struct stat sb;
    if (!log || fstat(fileno(log), &sb) != 0 || !S_ISREG(sb.st_mode)) return 0;
    return fflush(log) != 0 || ftruncate(fileno(log), bytes) != 0 ? -1 : 0;
}

int tf_train(tf_model *m, const tf_dataset *train, const tf_dataset *eval, const tf_train_options *o,
             tf_train_result *res, tf_error *err) {
    if (o->steps <= 0 || o->batch <= 0 || o->seq_len <= 0 || o->grad_accum <= 0)
        return tf_errorf(err, TF_EBADARG, "train: steps, batch, seq-len and grad-accum must be positive");
    const tf_train_dist *dist = o->dist && o->dist->world > 1 ? o->dist : NULL;
    if (dist && (dist->rank < 0 || dist->rank >= dist->world || !dist->sum_f32 || !dist->sum_f64))
        return tf_errorf(err, TF_EBADARG, "train: data parallel rank %d of %d without its sum functions", dist->rank,
                         dist->world);
    int lead = !dist || dist->rank == 0;  // writes checkpoints, the model and the log; evaluates
    if (o->seq_len > m->cfg.n_positions)
        return tf_errorf(err, TF_EBADARG, "train: --seq-len %d exceeds the model's n_positions %d", o->seq_len,
                         m->cfg.n_positions);
    if (train->n_docs == 0 || train->n_tokens < 2)
        return tf_errorf(err, TF_EBADARG, "train: the training data holds no tokens to learn from");
    memset(res, 0, sizeof *res);
    res->best_eval_loss = res->last_eval_loss = -1.0f;
    tf_train_state st = {.step = 0, .epoch = 0, .cursor = 0, .best_eval_loss = -1.0f, .log_bytes = -1};
    tf_rng seed_rng;
    tf_rng_seed(&seed_rng, o->seed);
    memcpy(st.rng, seed_rng.s, sizeof st.rng);
    FILE *log = lead ? o->log : NULL;
    char now[sizeof st.run];
    tf_train_identity(o, train, now, sizeof now);
    memcpy(st.run, now, sizeof now);
    if (o->resume && tf_checkpoint_exists(o->out_dir)) {
        if (tf_checkpoint_load(m, &st, o->out_dir, err)) return err->code;
        if (tf_train_identity_check(st.run, now, o->out_dir, err)) return err->code;
        memcpy(st.run, now, sizeof now);
        if (st.log_bytes >= 0 && cut_log(log, st.log_bytes))
            return tf_errorf(err, TF_EIO, "training log: cannot cut it back to %ld bytes for resuming: %s",
                             st.log_bytes, strerror(errno));
    } else if (o->resume && cut_log(log, 0)) {
        // killed before its first checkpoint: the run starts again, and so does its log
        return tf_errorf(err, TF_EIO, "training log: cannot empty it to start again: %s", strerror(errno));
    }

    int B = o->batch, T = o->seq_len, rc = TF_OK;
    stream s = {0};
    int *perm = malloc(sizeof(int) * (size_t)train->n_docs);
    int *in = malloc(sizeof(int) * B * T), *tg = malloc(sizeof(int) * B * T);
    float *w = malloc(sizeof(float) * B * T);
    // data parallel: this process's rows of each micro-batch, and each micro-batch's loss
    int *lin = NULL, *ltg = NULL;
    float *lw = NULL;
    double *mb = NULL;
    if (dist) {
        lin = malloc(sizeof(int) * B * T), ltg = malloc(sizeof(int) * B * T);
        lw = malloc(sizeof(float) * B * T);
        mb = malloc(sizeof(double) * (size_t)o->grad_accum);
    }
    if (!perm || !in || !tg || !w || (dist && (!lin || !ltg || !lw || !mb))) {
        rc = tf_errorf(err, TF_ENOMEM, "out of memory");
        goto done;
    }
    if (o->pack && (rc = make_stream(&s, train, o->eos_id, err))) goto done;
    epoch_order(perm, train->n_docs, o->seed, st.epoch);

    tf_adamw opt = {o->lr, o->beta1, o->beta2, o->eps, o->weight_decay, o->grad_clip};
    tf_progress bar;
    tf_progress_start(&bar, "train", o->steps);
    if (o->quiet || !lead) bar.enabled = 0;
    double t0 = tf_time_s();
    long tokens = 0;
    res->best_eval_loss = st.best_eval_loss;
    int end = o->steps;
    if (o->stop_after > 0 && st.step + o->stop_after < end) end = st.step + o->stop_after;
    res->steps_run = end > st.step ? end - st.step : 0;
    if (!res->steps_run) res->last_loss = -1.0f;
    for (; st.step < end; st.step++) {
        opt.lr = tf_train_lr(o, st.step);
        if ((rc = tf_model_zero_grad(m, err))) goto done;
        double loss = 0.0;
        int counted = 0;
        for (int a = 0; a < o->grad_accum; a++) {
            next_batch(train, &s, o, &st, perm, in, tg, w);
            tokens += (long)B * T;
            if (dist) {
                // the micro-batch's mean = sum over processes of (my rows' weighted sum) / W; backward
                // differentiates my rows' own mean, so it is scaled by W_mine / W
                double w_all, w_mine;
                int n = my_rows(in, tg, w, B, T, dist->rank, dist->world, lin, ltg, lw, &w_all, &w_mine);
                mb[a] = 0.0;
                if (w_all > 0) counted++;
                if (n == 0 || w_mine <= 0) continue;
                if ((rc = tf_model_forward(m, lin, ltg, lw, n, T, err))) goto done;
                const float *nll = tf_model_token_nll(m);
                for (int i = 0; i < n * T; i++)
                    if (ltg[i] >= 0) mb[a] += (double)lw[i] * nll[i];
                mb[a] /= w_all;
                if ((rc = tf_model_backward(m, (float)(w_mine / w_all) / o->grad_accum, err))) goto done;
                continue;
            }
            if ((rc = tf_model_forward(m, in, tg, w, B, T, err))) goto done;
            if (m->mean_loss >= 0 || isnan(m->mean_loss)) {  // < 0: no target in the micro-batch; NaN: diverged
                loss += m->mean_loss;
                counted++;
            }
            if ((rc = tf_model_backward(m, 1.0f / o->grad_accum, err))) goto done;
        }
        if (dist) {  // every process now gets the single-process gradient and micro-batch losses
            size_t ng = tf_lora_attached(m) ? tf_lora_numel(m) : m->num_params;
            if ((rc = dist->sum_f32(dist->ctx, tf_model_gradients(m), ng, err))) goto done;
            if ((rc = dist->sum_f64(dist->ctx, mb, (size_t)o->grad_accum, err))) goto done;
            for (int a = 0; a < o->grad_accum; a++) loss += mb[a];
        }
        float norm = tf_model_adamw_step(m, &opt, err);
        if (norm < 0) { rc = err->code; goto done; }
        res->last_loss = counted ? (float)(loss / counted) : -1.0f;
        double el = tf_time_s() - t0;
        res->tokens_per_s = el > 0 ? tokens / el : 0;
        if (log) {  // a step whose loss or norm is not finite is logged too (as null), then stops the run
            cJSON *line = cJSON_CreateObject();
            cJSON_AddNumberToObject(line, "step", st.step + 1);
            log_number(line, "loss", "%.6f", res->last_loss);
            log_number(line, "lr", "%.6g", opt.lr);
            log_number(line, "grad_norm", "%.4f", norm);
            log_number(line, "tokens_per_s", "%.1f", res->tokens_per_s);
            log_line(log, line);
        }
        if (!isfinite(res->last_loss) || !isfinite(norm)) {
            char l[32] = "NaN", g[32] = "NaN";  // "-nan" from printf says nothing to a reader
            if (!isnan(res->last_loss)) snprintf(l, sizeof l, "%g", (double)res->last_loss);
            if (!isnan(norm)) snprintf(g, sizeof g, "%g", (double)norm);
            rc = tf_errorf(err, TF_EINTERNAL, "train: loss became %s at step %d (gradient norm %s); lower --lr", l,
                           st.step + 1, g);
            goto done;
        }
        int stepno = st.step + 1;
        if (lead && eval && o->eval_every > 0 && (stepno % o->eval_every == 0 || stepno == o->steps)) {
            float ev = tf_eval_loss(m, eval, B, T, err);
            if (ev < 0 && err->code) { rc = err->code; goto done; }
            res->last_eval_loss = ev;
            if (log) {
                cJSON *line = cJSON_CreateObject();
                cJSON_AddNumberToObject(line, "step", stepno);
                log_number(line, "eval_loss", "%.6f", ev);
                log_line(log, line);
            }
            if (ev >= 0 && (st.best_eval_loss < 0 || ev < st.best_eval_loss)) {
                st.best_eval_loss = res->best_eval_loss = ev;
                if ((rc = save_result(m, o->out_dir, err))) goto done;  // best model so far
            }
        }
        char extra[160];
        snprintf(extra, sizeof extra, "loss %.4f lr %.2e %.0f tok/s", res->last_loss, opt.lr, res->tokens_per_s);
        tf_progress_update(&bar, stepno, extra);
        if (lead && o->save_every > 0 && stepno % o->save_every == 0 && stepno < o->steps) {
            tf_train_state save = st;
            save.step = stepno;
            save.log_bytes = log_length(log);
            if ((rc = tf_checkpoint_save(m, &save, o->out_dir, err))) goto done;
        }
    }
    {
        char extra[160];
        snprintf(extra, sizeof extra, "loss %.4f %.0f tok/s", res->last_loss, res->tokens_per_s);
        tf_progress_finish(&bar, extra);
    }
    res->steps_done = st.step;
    if (!lead) goto done;
    st.log_bytes = log_length(log);
    if ((rc = tf_checkpoint_save(m, &st, o->out_dir, err))) goto done;
    if (!(eval && o->eval_every > 0) && st.step == o->steps) rc = save_result(m, o->out_dir, err);
done:
    free(lin);
    free(ltg);
    free(lw);
    free(mb);
    free(perm);
    free(in);
    free(tg);
    free(w);
    free_stream(&s);
    return rc;
}
