// cmd_train.c — `toolformer train`: pretraining from a config, or fine-tuning a model, on JSONL.
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tf_dist.h"
#include "tf_outguard.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: toolformer train --data FILE.jsonl (--model DIR | --config CONFIG.json) --out DIR\n"
            "                        [--steps N] [--batch B] [--seq-len T] [--grad-accum K] [--lr LR]\n"
            "                        [--min-lr LR] [--warmup N] [--weight-decay WD] [--grad-clip C]\n"
            "                        [--seed S] [--no-pack] [--eval-data FILE --eval-every N]\n"
            "                        [--save-every N] [--resume|--force] [--tokenizer DIR] [--log FILE]\n"
            "                        [--threads N] [--dtype fp32|bf16] [--json]\n"
            "                        [--lora R [--lora-alpha A] [--lora-targets LIST] [--lora-dropout P]\n"
            "                         [--mmap]] [--checkpoint-activations] [--progress auto|bar|lines|none]\n\n"
            "JSONL lines hold \"ids\" (token ids) or \"text\" (needs a tokenizer: the model's, or --tokenizer),\n"
            "and optionally \"loss_mask\" (per-token weights). AdamW (betas 0.9, 0.95; decay on 2-D weights\n"
            "only), linear warmup then cosine decay to --min-lr, global-norm clipping.\n"
            "  --config FILE   a Hugging Face config.json: a fresh model with GPT-2 initialisation\n"
            "  --steps N       optimizer updates (default 1000)\n"
            "  --batch B       sequences per micro-batch (default 8); --grad-accum K micro-batches per update\n"
            "  --seq-len T     tokens per sequence (default 256, at most n_positions)\n"
            "  --lr, --min-lr  peak and final learning rate (default 3e-4, lr/10)\n"
            "  --warmup N      warmup steps (default 100, at most steps/10 when steps is small)\n"
            "  --no-pack       one document per row (fine-tuning); default packs documents joined by\n"
            "                  end-of-text and samples windows at random offsets (pretraining)\n"
            "  --eval-data F   held-out JSONL; its loss every --eval-every steps; the best model is kept\n"
            "  --save-every N  checkpoint (model + optimizer + step + data order) every N steps\n"
            "  --resume        continue exactly from DIR/checkpoint (from the beginning when there is none\n"
            "                  yet); the --log file is cut back to that checkpoint; a checkpoint of other\n"
            "                  data or options (batch, seq-len, lr, ...) is refused, naming the difference\n"
            "  --force         replace the model, checkpoint and --log already in DIR (without --resume or\n"
            "                  --force, an existing one is refused)\n"
            "  --stop-after N  stop after N updates in this run (with a checkpoint; resume later)\n"
            "  --log FILE      one JSON line per step (loss, lr, grad_norm, tokens_per_s)\n"
            "  --dtype D       matmul precision: fp32 (default) or bf16 (mixed precision: bf16 matmuls\n"
            "                  with fp32 accumulation; fp32 master weights, optimizer state, LayerNorm,\n"
            "                  softmax and loss)\n"
            "  --json          print a JSON summary at the end\n"
            "  --lora R        train low-rank adapters of rank R (LoRA, PEFT's math) on a frozen base instead of\n"
            "                  every weight; --out becomes a PEFT adapter directory (adapter_config.json +\n"
            "                  adapter_model.safetensors) for --adapter. See docs/lora.md.\n"
            "  --lora-alpha A  scaling A / R (default 2R)\n"
            "  --lora-targets LIST  Hugging Face module names (gpt2: c_attn, c_proj, c_fc; gptj: q_proj, k_proj,\n"
            "                  v_proj, out_proj, fc_in, fc_out; gpt_neox: query_key_value, dense, dense_h_to_4h,\n"
            "                  dense_4h_to_h) or all-linear (default: PEFT's per model type)\n"
            "  --lora-dropout P  dropout on the adapters' inputs (default 0)\n"
            "  --mmap          (with --lora) the base stays in its file dtype inside the read-only mapping:\n"
            "                  a BF16 checkpoint trains in about its file size of memory\n"
            "  --checkpoint-activations  keep only each layer's input; the backward recomputes the layer\n"
            CLI_PROGRESS_HELP "\n"
            "Under mpirun -np N (a build with Open MPI): data parallel. Every process computes 1/N of the\n"
            "rows of each micro-batch of --batch rows (the global batch stays the same), the gradients are\n"
            "summed with MPI_Allreduce, and rank 0 writes the checkpoints, the model and the log; the loss\n"
            "curve is the single process's. Threads per process default to the cores / processes per\n"
            "machine. See docs/scaling.md.\n");
}

static void help_finetune(FILE *f) {
    fprintf(f,
            "usage: toolformer finetune --model DIR --data augmented.jsonl --out DIR [--mask-results]\n"
            "                           [--eval-data FILE --eval-every N] [train options]\n\n"
            "Fine-tunes on C* (Toolformer section 2): the ordinary LM loss on the augmented texts, call\n"
            "results included, so the model learns to write \"->\" and to use what follows it. One text per\n"
            "row (no packing), learning rate 1e-5 with linear warmup over the first 10%% of steps (the\n"
            "paper's), then cosine; with --eval-data the held-out loss is measured every --eval-every steps\n"
            "and the best model is kept in --out.\n"
            "  --mask-results  give no loss to the tokens of call results (the model still sees them)\n"
            "The other options are `toolformer train`'s (see toolformer train --help).\n");
}

typedef struct {
    const char *dir;
    int mask_results;  // weight 0 on the tokens of call results ("-> result")
} encode_ctx;

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
    encode_ctx *e = ctx;
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

static int train_main(int argc, char **argv, int finetune) {
    const char *cmd = finetune ? "finetune" : "train";
    static const struct option opts[] = {
        {"data", 1, 0, 'd'},     {"model", 1, 0, 'm'},      {"config", 1, 0, 'c'},     {"out", 1, 0, 'o'},
        {"steps", 1, 0, 'S'},    {"batch", 1, 0, 'B'},      {"seq-len", 1, 0, 'T'},    {"grad-accum", 1, 0, 'A'},
        {"lr", 1, 0, 'l'},       {"min-lr", 1, 0, 'L'},     {"warmup", 1, 0, 'w'},     {"weight-decay", 1, 0, 'W'},
        {"grad-clip", 1, 0, 'C'}, {"seed", 1, 0, 's'},      {"no-pack", 0, 0, 'P'},    {"eval-data", 1, 0, 'e'},
        {"eval-every", 1, 0, 'E'}, {"save-every", 1, 0, 'v'}, {"resume", 0, 0, 'r'},   {"tokenizer", 1, 0, 'k'},
        {"log", 1, 0, 'g'},      {"threads", 1, 0, 't'},    {"json", 0, 0, 'j'},       {"stop-after", 1, 0, 'x'}, {"mask-results", 0, 0, 'X'}, {"dtype", 1, 0, 'Y'}, {"help", 0, 0, 'h'},
        {"force", 0, 0, 'f'},
        {"lora", 1, 0, 1201}, {"lora-alpha", 1, 0, 1202}, {"lora-targets", 1, 0, 1203}, {"lora-dropout", 1, 0, 1204},
        {"mmap", 0, 0, 1205}, {"checkpoint-activations", 0, 0, 1206}, CLI_PROGRESS_OPTION,
        {0, 0, 0, 0}};
    tf_train_options o;
    tf_train_defaults(&o);
    int mask_results = 0;
    tf_dtype dtype = TF_DTYPE_FP32;
    if (finetune) {  // the paper's fine-tuning: lr 1e-5, warmup over the first 10%, one text per row
        o.pack = 0;
        o.lr = 1e-5f;
    }
    const char *data = NULL, *model_dir = NULL, *config = NULL, *eval_path = NULL, *tok_dir = NULL, *log_path = NULL;
    long v, threads = 0;
    double d;
    int json = 0, c, min_lr_set = 0, warmup_set = 0, force = 0, lora_r = 0, alpha_set = 0, mapped = 0, ckpt = 0;
    tf_lora_options lo = {0};
    optind = 0;
#define INT_OPT(field, lo, name) \
    if (cli_int(optarg, lo, 1L << 30, &v)) return cli_usage_error(cmd, "%s wants an integer >= %d", name, lo); \
    field = (int)v
#define FLOAT_OPT(field, name) \
    if (cli_float(optarg, &d) || d < 0) return cli_usage_error(cmd, "%s wants a number >= 0", name); \
    field = (float)d
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int h = cli_progress_option(c, optarg, cmd);
        if (h < 0) return CLI_USAGE;
        if (h) continue;
        switch (c) {
        case 'd': data = optarg; break;
        case 'm': model_dir = optarg; break;
        case 'c': config = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case 'S': INT_OPT(o.steps, 1, "--steps"); break;
        case 'B': INT_OPT(o.batch, 1, "--batch"); break;
        case 'T': INT_OPT(o.seq_len, 1, "--seq-len"); break;
        case 'A': INT_OPT(o.grad_accum, 1, "--grad-accum"); break;
        case 'l': FLOAT_OPT(o.lr, "--lr"); break;
        case 'L': FLOAT_OPT(o.min_lr, "--min-lr"); min_lr_set = 1; break;
        case 'w': INT_OPT(o.warmup, 0, "--warmup"); warmup_set = 1; break;
        case 'W': FLOAT_OPT(o.weight_decay, "--weight-decay"); break;
        case 'C': FLOAT_OPT(o.grad_clip, "--grad-clip"); break;
        case 's': if (cli_int(optarg, 0, 1L << 62, &v)) return cli_usage_error(cmd, "--seed wants an integer >= 0");
                  o.seed = (uint64_t)v; break;
        case 'P': o.pack = 0; break;
        case 'e': eval_path = optarg; break;
        case 'E': INT_OPT(o.eval_every, 1, "--eval-every"); break;
        case 'v': INT_OPT(o.save_every, 1, "--save-every"); break;
        case 'r': o.resume = 1; break;
        case 'f': force = 1; break;
        case 'x': INT_OPT(o.stop_after, 1, "--stop-after"); break;
        case 'X': mask_results = 1; break;
        case 'k': tok_dir = optarg; break;
        case 'g': log_path = optarg; break;
        case 't': if (cli_int(optarg, 1, 1024, &threads)) return cli_usage_error(cmd, "--threads wants 1..1024"); break;
        case 'j': json = 1; break;
        case 'Y': if (tf_dtype_parse(optarg, &dtype)) return cli_usage_error(cmd, "--dtype wants fp32 or bf16"); break;
        case 1201: INT_OPT(lora_r, 1, "--lora"); break;
        case 1202: if (cli_float(optarg, &d) || !(d > 0)) return cli_usage_error(cmd, "--lora-alpha wants a number > 0");
                   lo.alpha = (float)d; alpha_set = 1; break;
        case 1203: lo.targets = optarg; break;
        case 1204: if (cli_float(optarg, &d) || d < 0 || d >= 1) return cli_usage_error(cmd, "--lora-dropout wants 0 <= P < 1");
                   lo.dropout = (float)d; break;
        case 1205: mapped = 1; break;
        case 1206: ckpt = 1; break;
        case 'h': finetune ? help_finetune(stdout) : help(stdout); return CLI_OK;
        default: return cli_usage_error(cmd, "unknown option");
        }
    }
#undef INT_OPT
#undef FLOAT_OPT
    if (cli_no_arguments(cmd, argc, argv, optind)) return CLI_USAGE;
    if (!data || !o.out_dir) return cli_usage_error(cmd, "--data and --out are required");
    if (o.resume && force) return cli_usage_error(cmd, "--resume continues DIR and --force replaces it: give one");
    if (!model_dir == !config) return cli_usage_error(cmd, "give exactly one of --model and --config");
    if (finetune && !model_dir) return cli_usage_error(cmd, "--model is required");
    if (mask_results && !finetune) return cli_usage_error(cmd, "--mask-results is a finetune option");
    if (!lora_r && (alpha_set || lo.targets || lo.dropout > 0 || mapped))
        return cli_usage_error(cmd, "--lora-alpha, --lora-targets, --lora-dropout and --mmap go with --lora R");
    if (lora_r && !model_dir) return cli_usage_error(cmd, "--lora trains adapters on a model: give --model");
    if (finetune && !warmup_set) o.warmup = o.steps / 10;
    if (eval_path && !o.eval_every) o.eval_every = o.steps >= 10 ? o.steps / 10 : 1;
    if (!min_lr_set) o.min_lr = o.lr / 10;
    if (!warmup_set && o.warmup > o.steps / 10) o.warmup = o.steps / 10;
    tf_error err = {0};
    tf_model *m = NULL;
    tf_dataset train = {0}, eval = {0};
    FILE *log = NULL;
    int rc = CLI_OK;
    if (tf_dist_init(&argc, &argv, &err)) return cli_fail(&err);
    int lead = tf_dist_rank() == 0;  // the only process that writes
    tf_train_dist dist = {tf_dist_rank(), tf_dist_size(), NULL, sum_f32, sum_f64};
    if (dist.world > 1) {
        o.dist = &dist;
        // processes on one machine share its cores
        if (!threads && !getenv("OMP_NUM_THREADS")) {
            threads = tf_physical_cores() / tf_dist_local_size();
            if (threads < 1) threads = 1;
        }
    }
    tf_set_threads((int)threads);
    // the output rule (tf_outguard.h): the process that writes checks its outputs before anything
    tf_outguard g;
    char p_model[4096], p_config[4096], p_state[4096];
    tf_guard_init(&g, cmd, o.resume ? TF_OUT_RESUME : force ? TF_OUT_FORCE : TF_OUT_NEW,
                  "continue it with --resume, replace it with --force, or choose another --out");
    // what the run writes: the model (model.safetensors + config.json), or with --lora the PEFT
    // adapter (adapter_model.safetensors + adapter_config.json); the lock is on the weights' file
    tf_path_join(p_model, sizeof p_model, o.out_dir, lora_r ? "adapter_model.safetensors" : "model.safetensors");
    tf_path_join(p_config, sizeof p_config, o.out_dir, lora_r ? "adapter_config.json" : "config.json");
    tf_path_join(p_state, sizeof p_state, o.out_dir, "checkpoint/trainer_state.json");
    if (lead && (tf_guard_input(&g, "--data", data, &err) || tf_guard_input(&g, "--model", model_dir, &err) ||
                 tf_guard_input(&g, "--config", config, &err) || tf_guard_input(&g, "--eval-data", eval_path, &err) ||
                 tf_guard_input(&g, "--tokenizer", tok_dir, &err) ||
                 tf_guard_output(&g, "--out", p_model, TF_OUT_REGULAR | TF_OUT_MKDIR, &err) ||
                 tf_guard_output(&g, "--out", p_config, TF_OUT_REGULAR | TF_OUT_MKDIR, &err) ||
                 tf_guard_output(&g, "--out's checkpoint", p_state, TF_OUT_REGULAR | TF_OUT_MKDIR, &err) ||
                 tf_guard_output(&g, "--log", log_path, TF_OUT_REGULAR, &err) || tf_guard_check(&g, &err) ||
                 tf_mkdir_p(o.out_dir, &err) || tf_guard_lock(&g, p_model, &err)))
        goto fail;
    tf_config cfg;  // full training must fit: refuse before allocating anything (tf_train_memory_check)
    if (model_dir) {
        // LoRA trains adapters on a frozen base: only the full training's need is checked here
        if (!tf_config_load(model_dir, &cfg, &err) &&
            (lora_r || !tf_train_memory_check(&cfg, o.batch, o.seq_len, dtype, tf_dist_local_size(), model_dir, &err)))
            m = mapped ? tf_model_load_mapped(model_dir, &err) : tf_model_load(model_dir, &err);
    } else {
        char *text = tf_read_file_ex(config, (size_t)16 << 20, 0, NULL, &err);  // a config is a few KB
        if (text && !tf_config_parse(text, config, &cfg, &err) &&
            !tf_train_memory_check(&cfg, o.batch, o.seq_len, dtype, tf_dist_local_size(), config, &err))
            m = tf_model_new(&cfg, o.seed, &err);
        free(text);
    }
    if (!m || (!mapped && tf_model_set_dtype(m, dtype, &err))) goto fail;
    if (lora_r) {  // adapters on a frozen base (PEFT's defaults: alpha 2R in this engine, targets per model type)
        lo.r = lora_r;
        if (!alpha_set) lo.alpha = 2.0f * lora_r;
        lo.seed = o.seed;
        lo.base_model = model_dir;
        if (tf_lora_attach(m, &lo, &err)) goto fail;
    }
    tf_model_set_checkpointing(m, ckpt);
    o.eos_id = m->cfg.eos_token_id;
    encode_ctx ectx = {tok_dir ? tok_dir : model_dir ? model_dir : ".", mask_results};
    tf_encode_fn enc = cli_has_tokenizer(ectx.dir) ? encode_text : NULL;
    if (tf_dataset_load_jsonl(&train, data, enc, &ectx, m->cfg.vocab_size, &err)) goto fail;
    if (train.n_tokens < 2) {
        tf_errorf(&err, TF_EBADFILE, "%s: no tokens to train on (%d document%s: an empty file, or blank lines only?)",
                  data, train.n_docs, train.n_docs == 1 ? "" : "s");
        goto fail;
    }
    if (!o.pack && lead) {  // one document per row: a longer one is cut to its first seq-len + 1 tokens
        int cut = 0;
        for (int d = 0; d < train.n_docs; d++) cut += train.start[d + 1] - train.start[d] > (size_t)o.seq_len + 1;
        if (cut)
            fprintf(stderr, "toolformer %s: warning: %d of %d documents are longer than --seq-len %d + 1 tokens; "
                    "only their first %d tokens are trained on\n", cmd, cut, train.n_docs, o.seq_len, o.seq_len + 1);
    }
    if (eval_path && tf_dataset_load_jsonl(&eval, eval_path, enc, &ectx, m->cfg.vocab_size, &err)) goto fail;
    if (lead && log_path && !(log = fopen(log_path, o.resume ? "a" : "w"))) {
        tf_errorf(&err, TF_EIO, "%s: cannot open the log", log_path);
        goto fail;
    }
    o.log = log;
    tf_train_result res;
    if (tf_train(m, &train, eval_path ? &eval : NULL, &o, &res, &err)) goto fail;
    if (lead && enc && strcmp(ectx.dir, o.out_dir)) {  // the model directory carries its tokenizer
        const tf_tokenizer *tok = cli_tokenizer(ectx.dir, &err);
        if (!tok || tf_tokenizer_save(tok, o.out_dir, &err)) goto fail;
    }
    if (!lead) goto done;
    if (json) {
        cli_json j;
        cli_json_begin(&j, stdout);
        cli_json_int(&j, "steps", res.steps_done);
        cli_json_int(&j, "steps_run", res.steps_run);
        cli_json_number(&j, "loss", "%.6f", res.last_loss);
        cli_json_number(&j, "eval_loss", "%.6f", res.last_eval_loss);
        cli_json_number(&j, "best_eval_loss", "%.6f", res.best_eval_loss);
        cli_json_number(&j, "tokens_per_s", "%.1f", res.tokens_per_s);
        cli_json_uint(&j, "params", tf_lora_attached(m) ? tf_lora_numel(m) : m->num_params);
        cli_json_int(&j, "processes", dist.world);
        cli_json_string(&j, "out", o.out_dir);
        cli_json_string(&j, model_dir ? "model" : "config", model_dir ? model_dir : config);
        cli_json_string(&j, "data", data);
        cli_json_string(&j, "version", TF_VERSION);
        rc = cli_json_end(&j, cmd);
    } else if (res.steps_done < o.steps) {  // --stop-after: the model is not written yet
        printf("trained %d of %d steps: loss %.4f, %.0f tokens/s; stopped by --stop-after with a checkpoint in "
               "%s/checkpoint (no model yet): continue with --resume\n", res.steps_done, o.steps, res.last_loss,
               res.tokens_per_s, o.out_dir);
    } else if (res.steps_run == 0) {
        printf("already trained %d of %d steps: nothing to do; the %s is in %s\n", res.steps_done, o.steps,
               lora_r ? "adapter" : "model", o.out_dir);
    } else {
        printf("trained %d steps: loss %.4f, %.0f tokens/s; %s written to %s\n", res.steps_done, res.last_loss,
               res.tokens_per_s, lora_r ? "adapter" : "model", o.out_dir);
    }
    goto done;
fail:
    rc = cli_fail(&err);
done:
    if (log && tf_fclose_checked(log, log_path, &err) && rc == CLI_OK) rc = cli_fail(&err);
    tf_guard_release(&g);
    tf_dataset_free(&train);
    tf_dataset_free(&eval);
    tf_model_free(m);
    if (rc != CLI_OK) tf_dist_abort(rc);  // the other processes would wait for this one forever
    tf_dist_finalize();
    return rc;
}

int cmd_train(int argc, char **argv) { return train_main(argc, argv, 0); }
int cmd_finetune(int argc, char **argv) { return train_main(argc, argv, 1); }
