// checkpoint.c — model + AdamW moments + trainer state in DIR/checkpoint/. A new checkpoint is written
// to DIR/checkpoint.new/ and swapped in by renames, so a crash at any moment leaves a whole one
// (DIR/checkpoint/, or DIR/checkpoint.old/ if the crash fell between the two renames).
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tf_lora.h"
#include "tf_safetensors.h"
#include "tf_train.h"

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

// Removes a flat directory (the checkpoint holds no subdirectories).
static void remove_flat_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(tf_path_join(p, sizeof p, path, e->d_name));
    closedir(d);
    rmdir(path);
}

static void fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int write_optimizer(const tf_model *m, const char *path, tf_error *err) {
    tf_st_entry e[2 * TF_NUM_PARAM_TENSORS];
    char names[2 * TF_NUM_PARAM_TENSORS][32];
    float *zeros = NULL;
    if (!m->adam_m) {  // no update yet: write zero moments
        zeros = tf_alloc(m->num_params * sizeof(float), 1);
        if (!zeros) return tf_errorf(err, TF_ENOMEM, "out of memory");
    }
    int n = 0;
    size_t off = 0;
    for (int i = 0; i < TF_NUM_PARAM_TENSORS; i++) {
        if (!m->sizes[i]) continue;
        for (int k = 0; k < 2; k++) {
            const float *base = zeros ? zeros : (k ? m->adam_v : m->adam_m);
            snprintf(names[n], sizeof names[n], "%s.%s", k ? "v" : "m", tf_param_name(i));
            e[n] = (tf_st_entry){.name = names[n], .dtype = TF_ST_F32, .ndim = 1,
                                 .shape = {(int64_t)m->sizes[i]}, .data = base + off};
            n++;
        }
        off += m->sizes[i];
    }
    int rc = tf_st_write(path, e, n, err);
    tf_free(zeros);
    return rc;
}

void tf_train_identity(const tf_train_options *o, const tf_dataset *train, char *out, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < train->n_tokens; i++) {
        uint32_t v = (uint32_t)train->tokens[i];
        for (int k = 0; k < 4; k++) h = (h ^ ((v >> (8 * k)) & 0xff)) * 0x100000001b3ULL;
        if (train->mask) h = (h ^ (train->mask[i] != 0.0f)) * 0x100000001b3ULL;
    }
    for (int d = 0; d <= train->n_docs; d++) h = (h ^ (uint64_t)train->start[d]) * 0x100000001b3ULL;
    // only digits, letters, spaces and ".-+": it goes into JSON without escaping
    snprintf(out, n,
             "data %d documents %zu tokens checksum %016" PRIx64 "; batch %d; seq-len %d; grad-accum %d; lr %.9g; "
             "min-lr %.9g; warmup %d; weight-decay %.9g; grad-clip %.9g; seed %" PRIu64 "; packing %s; steps %d",
             train->n_docs, train->n_tokens, h, o->batch, o->seq_len, o->grad_accum, (double)o->lr, (double)o->min_lr,
             o->warmup, (double)o->weight_decay, (double)o->grad_clip, o->seed, o->pack ? "on" : "off", o->steps);
}

int tf_train_identity_check(const char *was, const char *now, const char *dir, tf_error *err) {
    if (!was[0] || !strcmp(was, now)) return TF_OK;
    const char *a = was, *b = now;
    for (;;) {  // item by item: "key value; "
        size_t la = strcspn(a, ";"), lb = strcspn(b, ";");
        size_t ka = strcspn(a, " "), kb = strcspn(b, " ");
        if (la != lb || memcmp(a, b, la)) {
            if (ka < la && kb < lb && ka == kb && !memcmp(a, b, ka))
                return tf_errorf(err, TF_EBADARG, "--resume: %s/checkpoint was written by a different run: its %.*s "
                                 "was %.*s, now %.*s; resume with the same data and options, or train into a new "
                                 "--out", dir, (int)ka, a, (int)(la - ka - 1), a + ka + 1, (int)(lb - kb - 1), b + kb + 1);
            return tf_errorf(err, TF_EBADARG, "--resume: %s/checkpoint was written by a different run (%.*s, now "
                             "%.*s); resume with the same data and options, or train into a new --out", dir, (int)la,
                             a, (int)lb, b);
        }
        if (!a[la] || !b[lb]) break;
        a += la + 2;
        b += lb + 2;
    }
    return TF_OK;
}

// With adapters (tf_lora.h) the base is frozen: the checkpoint holds the adapters' weights and AdamW
// moments (flat, engine layout) instead of the model and its optimizer.
static const char *const LORA_STATE[3] = {"lora.weights", "lora.m", "lora.v"};

static int write_lora(const tf_model *m, const char *path, tf_error *err) {
    tf_st_entry e[3];
    for (int k = 0; k < 3; k++)
        e[k] = (tf_st_entry){.name = LORA_STATE[k], .dtype = TF_ST_F32, .ndim = 1,
                             .shape = {(int64_t)tf_lora_numel(m)}, .data = tf_lora_state(m, k)};
    return tf_st_write(path, e, 3, err);
}

static int read_lora(tf_model *m, const char *path, tf_error *err) {
    tf_st_file *f = tf_st_open(path, err);
    if (!f) return err->code;
    int rc = TF_OK;
    for (int k = 0; k < 3 && !rc; k++) {
        const tf_st_tensor *t = tf_st_find(f, LORA_STATE[k]);
        if (!t || t->numel != tf_lora_numel(m))
            rc = tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' is %s (the adapters being trained have %zu values: "
                           "another rank or other target modules?)", path, LORA_STATE[k], t ? "misshapen" : "missing",
                           tf_lora_numel(m));
        else
            rc = tf_st_to_f32(f, t, tf_lora_state(m, k), err);
    }
    tf_st_close(f);
    return rc;
}

static int write_state(const tf_model *m, const tf_train_state *st, const char *path, tf_error *err) {
    char buf[2048];
    int len = snprintf(buf, sizeof buf,
                       "{\"step\": %d, \"adam_step\": %ld, \"epoch\": %d, \"cursor\": %ld, "
                       "\"best_eval_loss\": %.9g, \"rng\": [\"%016" PRIx64 "\", \"%016" PRIx64 "\", \"%016" PRIx64
                       "\", \"%016" PRIx64 "\"], \"log_bytes\": %ld, \"run\": \"%s\"}\n",
                       st->step, tf_lora_attached(m) ? tf_lora_steps(m) : m->adam_step, st->epoch, st->cursor, (double)st->best_eval_loss, st->rng[0],
                       st->rng[1], st->rng[2], st->rng[3], st->log_bytes, st->run);
    return tf_write_file_atomic(path, buf, (size_t)len, err);
}

int tf_checkpoint_save(const tf_model *m, const tf_train_state *st, const char *dir, tf_error *err) {
    char cur[4096], tmp[4096], old[4096], p[4096];
    tf_path_join(cur, sizeof cur, dir, "checkpoint");
    tf_path_join(tmp, sizeof tmp, dir, "checkpoint.new");
    tf_path_join(old, sizeof old, dir, "checkpoint.old");
    if (tf_mkdir_p(dir, err)) return err->code;
    remove_flat_dir(tmp);
    if (tf_mkdir_p(tmp, err)) return err->code;
    int saved = tf_lora_attached(m) ? write_lora(m, tf_path_join(p, sizeof p, tmp, "lora_state.safetensors"), err)
                                    : tf_model_save(m, tmp, err) ||
                                          write_optimizer(m, tf_path_join(p, sizeof p, tmp, "optimizer.safetensors"), err);
    if (saved || write_state(m, st, tf_path_join(p, sizeof p, tmp, "trainer_state.json"), err)) {
        remove_flat_dir(tmp);
        return err->code;
    }
    fsync_dir(tmp);
    if (is_dir(cur)) {
        remove_flat_dir(old);
        if (rename(cur, old) != 0)
            return tf_errorf(err, TF_EIO, "%s: cannot move the previous checkpoint aside: %s", cur, strerror(errno));
    }
    if (rename(tmp, cur) != 0)
        return tf_errorf(err, TF_EIO, "%s: cannot move the new checkpoint into place: %s", cur, strerror(errno));
    fsync_dir(dir);
    remove_flat_dir(old);
    return TF_OK;
}

static int read_state(tf_train_state *st, long *adam_step, const char *path, tf_error *err) {
    char *text = tf_read_file(path, NULL, err);
    if (!text) return err->code;
    cJSON *j = cJSON_Parse(text);
    free(text);
    cJSON *step = cJSON_GetObjectItem(j, "step"), *as = cJSON_GetObjectItem(j, "adam_step");
    cJSON *ep = cJSON_GetObjectItem(j, "epoch"), *cu = cJSON_GetObjectItem(j, "cursor");
    cJSON *be = cJSON_GetObjectItem(j, "best_eval_loss"), *rng = cJSON_GetObjectItem(j, "rng");
    int rc = TF_OK;
    if (!cJSON_IsNumber(step) || !cJSON_IsNumber(as) || !cJSON_IsNumber(ep) || !cJSON_IsNumber(cu) ||
        !cJSON_IsNumber(be) || !cJSON_IsArray(rng) || cJSON_GetArraySize(rng) != 4) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: malformed trainer state (expected step, adam_step, epoch, cursor, "
                       "best_eval_loss and a 4-word rng)", path);
    } else {
        st->step = step->valueint;
        *adam_step = (long)as->valuedouble;
        st->epoch = ep->valueint;
        st->cursor = (long)cu->valuedouble;
        st->best_eval_loss = (float)be->valuedouble;
        cJSON *lb = cJSON_GetObjectItem(j, "log_bytes");  // absent in checkpoints of older versions
        st->log_bytes = cJSON_IsNumber(lb) && lb->valuedouble >= 0 ? (long)lb->valuedouble : -1;
        cJSON *run = cJSON_GetObjectItem(j, "run");  // absent in checkpoints of older versions
        snprintf(st->run, sizeof st->run, "%s", cJSON_IsString(run) ? run->valuestring : "");
        for (int i = 0; i < 4 && !rc; i++) {
            cJSON *w = cJSON_GetArrayItem(rng, i);
            char *end = NULL;
            if (cJSON_IsString(w)) st->rng[i] = strtoull(w->valuestring, &end, 16);
            if (!cJSON_IsString(w) || !end || *end)
                rc = tf_errorf(err, TF_EBADFILE, "%s: rng word %d is not a hex string", path, i);
        }
    }
    cJSON_Delete(j);
    return rc;
}

static int read_optimizer(tf_model *m, const char *path, tf_error *err) {
    tf_st_file *f = tf_st_open(path, err);
    if (!f) return err->code;
    int rc = TF_OK;
    if (!m->adam_m) {
        m->adam_m = tf_alloc(m->num_params * sizeof(float), 1);
        m->adam_v = tf_alloc(m->num_params * sizeof(float), 1);
        if (!m->adam_m || !m->adam_v) rc = tf_errorf(err, TF_ENOMEM, "out of memory for AdamW state");
    }
    size_t off = 0;
    for (int i = 0; i < TF_NUM_PARAM_TENSORS && !rc; i++) {
        for (int k = 0; k < 2 && m->sizes[i] && !rc; k++) {
            char name[32];
            snprintf(name, sizeof name, "%s.%s", k ? "v" : "m", tf_param_name(i));
            const tf_st_tensor *t = tf_st_find(f, name);
            if (!t || t->numel != m->sizes[i])
                rc = tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' is %s (expected %zu values)", path, name,
                               t ? "misshapen" : "missing", m->sizes[i]);
            else
                rc = tf_st_to_f32(f, t, (k ? m->adam_v : m->adam_m) + off, err);
        }
        off += m->sizes[i];
    }
    tf_st_close(f);
    return rc;
}

int tf_checkpoint_exists(const char *dir) {
    char p[4096];
    return is_dir(tf_path_join(p, sizeof p, dir, "checkpoint")) || is_dir(tf_path_join(p, sizeof p, dir, "checkpoint.old"));
}

int tf_checkpoint_load(tf_model *m, tf_train_state *st, const char *dir, tf_error *err) {
    char ck[4096], p[4096];
    tf_path_join(ck, sizeof ck, dir, "checkpoint");
    if (!is_dir(ck)) tf_path_join(ck, sizeof ck, dir, "checkpoint.old");  // crash between the renames
    if (!is_dir(ck)) return tf_errorf(err, TF_EIO, "%s/checkpoint: no checkpoint to resume from", dir);
    if (tf_lora_attached(m)) {
        long steps = 0;
        if (read_lora(m, tf_path_join(p, sizeof p, ck, "lora_state.safetensors"), err) ||
            read_state(st, &steps, tf_path_join(p, sizeof p, ck, "trainer_state.json"), err))
            return err->code;
        tf_lora_set_steps(m, steps);
        return TF_OK;
    }
    tf_model *saved = tf_model_load(ck, err);
    if (!saved) return err->code;
    int rc = TF_OK;
    if (saved->num_params != m->num_params || memcmp(saved->sizes, m->sizes, sizeof m->sizes) ||
        saved->cfg.n_layer != m->cfg.n_layer || saved->cfg.n_head != m->cfg.n_head)
        rc = tf_errorf(err, TF_EBADFILE, "%s: the checkpoint's model does not match the model being trained", ck);
    else
        memcpy(m->params, saved->params, m->num_params * sizeof(float));
    tf_model_params_changed(m);  // a bf16 weight copy must be remade
    tf_model_free(saved);
    long adam_step = 0;
    if (!rc) rc = read_optimizer(m, tf_path_join(p, sizeof p, ck, "optimizer.safetensors"), err);
    if (!rc) rc = read_state(st, &adam_step, tf_path_join(p, sizeof p, ck, "trainer_state.json"), err);
    if (!rc) m->adam_step = adam_step;
    return rc;
}
