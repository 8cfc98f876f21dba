// train_run.c — the work of `toolformer train` / `finetune` (train_run.h): from the parsed options to
// the trained model (or adapter) and its summary, on one process or on every rank under mpirun.
#include <stdlib.h>
#include <string.h>

#include "train_run.h"

// Marks with 0 every token that overlaps the result of a call "[Name(input) -> result]" in text.
static int mask_call_results(const tf_tokenizer *tok, const char *text, const int *ids, int n, float **mask,
                             tf_error *err) {
    size_t len = strlen(text);
    char *in_result = calloc(len + 1, 1);
    *mask = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!in_result || !*mask) {
        free(in_result);
        return tf_errorf(err, TF_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '[') continue;
        tf_call c;
        tf_error e;
        if (tf_call_parse(text + i, len - i, &c, &e) != TF_OK) continue;
        const char *arrow = c.result ? strstr(text + i, "->") : NULL;
        if (arrow && (size_t)(arrow - text) < i + c.end)
            for (size_t k = (size_t)(arrow - text) + 2; k < i + c.end - 1; k++) in_result[k] = 1;
        tf_call_free(&c);
    }
    size_t off = 0;
    for (int t = 0; t < n; t++) {
        size_t bl = 0;
        tf_tokenizer_token_bytes(tok, ids[t], &bl);
        int hit = 0;
        for (size_t k = off; k < off + bl && k < len; k++) hit |= in_result[k];
        (*mask)[t] = hit ? 0.0f : 1.0f;
        off += bl;
    }
    free(in_result);
    return TF_OK;
}

static int encode_text(void *ctx, const char *text, size_t len, int **ids, int *n, float **mask, tf_error *err) {
    (void)len;
    train_encode_ctx *e = ctx;
    if (cli_encode(e->dir, text, ids, n, err)) return err->code;
    if (!e->mask_results) return TF_OK;
    const tf_tokenizer *tok = cli_tokenizer(e->dir, err);
    return tok ? mask_call_results(tok, text, *ids, *n, mask, err) : err->code;
}

static int sum_f32(void *ctx, float *buf, size_t n, tf_error *err) {
    (void)ctx;
    return tf_dist_sum_f32(buf, n, err);
}

static int sum_f64(void *ctx, double *buf, size_t n, tf_error *err) {
    (void)ctx;
    return tf_dist_sum_f64(buf, n, err);
}

// The output rule (tf_outguard.h): the process that writes checks its outputs before anything. What
// the run writes: the model (model.safetensors + config.json), or with --lora the PEFT adapter
// (adapter_model.safetensors + adapter_config.json); the lock is on the weights' file.
static int check_outputs(const train_args *a, tf_outguard *g, tf_error *err) {
    const tf_train_options *o = &a->o;
    char p_model[4096], p_config[4096], p_state[4096];
    tf_path_join(p_model, sizeof p_model, o->out_dir, a->lora_r ? "adapter_model.safetensors" : "model.safetensors");
    tf_path_join(p_config, sizeof p_config, o->out_dir, a->lora_r ? "adapter_config.json" : "config.json");
    tf_path_join(p_state, sizeof p_state, o->out_dir, "checkpoint/trainer_state.json");
    if (tf_guard_input(g, "--data", a->data, err) || tf_guard_input(g, "--model", a->model_dir, err) ||
        tf_guard_input(g, "--config", a->config, err) || tf_guard_input(g, "--eval-data", a->eval_path, err) ||
        tf_guard_input(g, "--tokenizer", a->tok_dir, err) ||
        tf_guard_output(g, "--out", p_model, TF_OUT_REGULAR | TF_OUT_MKDIR, err) ||
        tf_guard_output(g, "--out", p_config, TF_OUT_REGULAR | TF_OUT_MKDIR, err) ||
        tf_guard_output(g, "--out's checkpoint", p_state, TF_OUT_REGULAR | TF_OUT_MKDIR, err) ||
        tf_guard_output(g, "--log", a->log_path, TF_OUT_REGULAR, err) || tf_guard_check(g, err) ||
        tf_mkdir_p(o->out_dir, err) || tf_guard_lock(g, p_model, err))
        return err->code;
    return TF_OK;
}

// The model: loaded from --model, or fresh from --config with GPT-2 initialisation; full training
// must fit (refused before allocating anything: tf_train_memory_check); LoRA trains adapters on a
// frozen base, so only the full training's need is checked. NULL with err set.
static tf_model *load_model(const train_args *a, tf_error *err) {
    tf_config cfg;
    tf_model *m = NULL;
    if (a->model_dir) {
        if (!tf_config_load(a->model_dir, &cfg, err) &&
            (a->lora_r || !tf_train_memory_check(&cfg, a->o.batch, a->o.seq_len, a->dtype, tf_dist_local_size(),
                                                 a->model_dir, err))) {
            cli_mapped_residency(a->mapped);
            m = a->mapped ? tf_model_load_mapped(a->model_dir, err) : tf_model_load(a->model_dir, err);
        }
    } else {
        char *text = tf_read_file_ex(a->config, (size_t)16 << 20, 0, NULL, err);  // a config is a few KB
        if (text && !tf_config_parse(text, a->config, &cfg, err) &&
            !tf_train_memory_check(&cfg, a->o.batch, a->o.seq_len, a->dtype, tf_dist_local_size(), a->config, err))
            m = tf_model_new(&cfg, a->o.seed, err);
        free(text);
    }
    return m;
}

// Adapters on a frozen base (PEFT's defaults: alpha 2R in this engine, targets per model type).
static int attach_lora(const train_args *a, tf_model *m, tf_error *err) {
    tf_lora_options lo = a->lora;
    lo.r = a->lora_r;
    if (!a->alpha_set) lo.alpha = 2.0f * a->lora_r;
    lo.seed = a->o.seed;
    lo.base_model = a->model_dir;
    return tf_lora_attach(m, &lo, err);
}

// The training data (and --eval-data): ids, or text through the tokenizer when there is one.
static int load_data(const train_args *a, train_outcome *o, tf_encode_fn enc, tf_error *err) {
    const tf_train_options *to = &a->o;
    if (tf_dataset_load_jsonl(&o->train, a->data, enc, &o->ectx, o->m->cfg.vocab_size, err)) return err->code;
    if (o->train.n_tokens < 2)
        return tf_errorf(err, TF_EBADFILE, "%s: no tokens to train on (%d document%s: an empty file, or blank lines "
                         "only?)", a->data, o->train.n_docs, o->train.n_docs == 1 ? "" : "s");
    if (!to->pack && o->lead) {  // one document per row: a longer one is cut to its first seq-len + 1 tokens
        int cut = 0;
        for (int d = 0; d < o->train.n_docs; d++)
            cut += o->train.start[d + 1] - o->train.start[d] > (size_t)to->seq_len + 1;
        if (cut)
            fprintf(stderr, "toolformer %s: warning: %d of %d documents are longer than --seq-len %d + 1 tokens; "
                    "only their first %d tokens are trained on\n", a->cmd, cut, o->train.n_docs, to->seq_len,
                    to->seq_len + 1);
    }
    if (a->eval_path && tf_dataset_load_jsonl(&o->eval, a->eval_path, enc, &o->ectx, o->m->cfg.vocab_size, err))
        return err->code;
    return TF_OK;
}

int train_execute(train_args *a, train_outcome *o) {
    tf_error err = {0};
    memset(o, 0, sizeof *o);
    o->lead = tf_dist_rank() == 0;  // the only process that writes
    o->dist = (tf_train_dist){tf_dist_rank(), tf_dist_size(), NULL, sum_f32, sum_f64};
    tf_guard_init(&o->guard, a->cmd, a->o.resume ? TF_OUT_RESUME : a->force ? TF_OUT_FORCE : TF_OUT_NEW,
                  "continue it with --resume, replace it with --force, or choose another --out");
    if (o->dist.world > 1) {
        a->o.dist = &o->dist;
        // processes on one machine share its cores
        if (!a->threads && !getenv("OMP_NUM_THREADS")) {
            a->threads = tf_physical_cores() / tf_dist_local_size();
            if (a->threads < 1) a->threads = 1;
        }
    }
    tf_set_threads((int)a->threads);
    if (o->lead && check_outputs(a, &o->guard, &err)) return cli_fail(&err);
    if (!(o->m = load_model(a, &err)) || (!a->mapped && tf_model_set_dtype(o->m, a->dtype, &err)))
        return cli_fail(&err);
    if (a->lora_r && attach_lora(a, o->m, &err)) return cli_fail(&err);
    tf_model_set_checkpointing(o->m, a->checkpointing);
    a->o.eos_id = o->m->cfg.eos_token_id;
    o->ectx = (train_encode_ctx){a->tok_dir ? a->tok_dir : a->model_dir ? a->model_dir : ".", a->mask_results};
    tf_encode_fn enc = cli_has_tokenizer(o->ectx.dir) ? encode_text : NULL;
    if (load_data(a, o, enc, &err)) return cli_fail(&err);
    if (o->lead && a->log_path && !(o->log = fopen(a->log_path, a->o.resume ? "a" : "w"))) {
        tf_errorf(&err, TF_EIO, "%s: cannot open the log", a->log_path);
        return cli_fail(&err);
    }
    a->o.log = o->log;
    if (tf_train(o->m, &o->train, a->eval_path ? &o->eval : NULL, &a->o, &o->res, &err)) return cli_fail(&err);
    if (o->lead && enc && strcmp(o->ectx.dir, a->o.out_dir)) {  // the model directory carries its tokenizer
        const tf_tokenizer *tok = cli_tokenizer(o->ectx.dir, &err);
        if (!tok || tf_tokenizer_save(tok, a->o.out_dir, &err)) return cli_fail(&err);
    }
    return CLI_OK;
}

int train_done(const train_args *a, train_outcome *o, int rc) {
    tf_error err = {0};
    if (o->log && tf_fclose_checked(o->log, a->log_path, &err) && rc == CLI_OK) rc = cli_fail(&err);
    tf_guard_release(&o->guard);
    tf_dataset_free(&o->train);
    tf_dataset_free(&o->eval);
    tf_model_free(o->m);
    if (rc != CLI_OK) tf_dist_abort(rc);  // the other processes would wait for this one forever
    tf_dist_finalize();
    return rc;
}
