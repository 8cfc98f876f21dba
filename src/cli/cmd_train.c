// cmd_train.c — `toolformer train`: pretraining from a config, or fine-tuning a model, on JSONL.
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "train_run.h"

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
            "  --seed S        seeds a fresh model's weights (--config), the windows' offsets or the documents'\n"
            "                  order, and LoRA's dropout masks (default 1); the same seed, the same run\n"
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
            "  --mmap-copy     (with --lora) as --mmap, but the file is read into the process's own memory\n"
            "                  instead of mapped (faster to stream; that memory cannot be reclaimed)\n"
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

// Parses and checks the command line into a, and derives the defaults that depend on other options
// (finetune's warmup, --eval-every, --min-lr). *done = 1 when the command is over (--help printed, or
// a usage error): the return value is then its exit code.
static int parse(int argc, char **argv, int finetune, train_args *a, int *done) {
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
        {"mmap", 0, 0, 1205}, {"mmap-copy", 0, 0, 1207}, {"checkpoint-activations", 0, 0, 1206}, CLI_PROGRESS_OPTION,
        {0, 0, 0, 0}};
    *a = (train_args){.cmd = cmd, .dtype = TF_DTYPE_FP32};
    tf_train_options *o = &a->o;
    tf_train_defaults(o);
    if (finetune) {  // the paper's fine-tuning: lr 1e-5, warmup over the first 10%, one text per row
        o->pack = 0;
        o->lr = 1e-5f;
    }
    long v;
    double d;
    int c, min_lr_set = 0, warmup_set = 0;
    *done = 1;
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
        case 'd': a->data = optarg; break;
        case 'm': a->model_dir = optarg; break;
        case 'c': a->config = optarg; break;
        case 'o': o->out_dir = optarg; break;
        case 'S': INT_OPT(o->steps, 1, "--steps"); break;
        case 'B': INT_OPT(o->batch, 1, "--batch"); break;
        case 'T': INT_OPT(o->seq_len, 1, "--seq-len"); break;
        case 'A': INT_OPT(o->grad_accum, 1, "--grad-accum"); break;
        case 'l': FLOAT_OPT(o->lr, "--lr"); break;
        case 'L': FLOAT_OPT(o->min_lr, "--min-lr"); min_lr_set = 1; break;
        case 'w': INT_OPT(o->warmup, 0, "--warmup"); warmup_set = 1; break;
        case 'W': FLOAT_OPT(o->weight_decay, "--weight-decay"); break;
        case 'C': FLOAT_OPT(o->grad_clip, "--grad-clip"); break;
        case 's': if (cli_int(optarg, 0, 1L << 62, &v)) return cli_usage_error(cmd, "--seed wants an integer >= 0");
                  o->seed = (uint64_t)v; break;
        case 'P': o->pack = 0; break;
        case 'e': a->eval_path = optarg; break;
        case 'E': INT_OPT(o->eval_every, 1, "--eval-every"); break;
        case 'v': INT_OPT(o->save_every, 1, "--save-every"); break;
        case 'r': o->resume = 1; break;
        case 'f': a->force = 1; break;
        case 'x': INT_OPT(o->stop_after, 1, "--stop-after"); break;
        case 'X': a->mask_results = 1; break;
        case 'k': a->tok_dir = optarg; break;
        case 'g': a->log_path = optarg; break;
        case 't': if (cli_int(optarg, 1, 1024, &a->threads)) return cli_usage_error(cmd, "--threads wants 1..1024"); break;
        case 'j': a->json = 1; break;
        case 'Y': if (tf_dtype_parse(optarg, &a->dtype)) return cli_usage_error(cmd, "--dtype wants fp32 or bf16"); break;
        case 1201: INT_OPT(a->lora_r, 1, "--lora"); break;
        case 1202: if (cli_float(optarg, &d) || !(d > 0)) return cli_usage_error(cmd, "--lora-alpha wants a number > 0");
                   a->lora.alpha = (float)d; a->alpha_set = 1; break;
        case 1203: a->lora.targets = optarg; break;
        case 1204: if (cli_float(optarg, &d) || d < 0 || d >= 1) return cli_usage_error(cmd, "--lora-dropout wants 0 <= P < 1");
                   a->lora.dropout = (float)d; break;
        case 1205: a->mapped = 1; break;
        case 1207: a->mapped = 2; break;
        case 1206: a->checkpointing = 1; break;
        case 'h': finetune ? help_finetune(stdout) : help(stdout); return CLI_OK;
        default: return cli_usage_error(cmd, "unknown option");
        }
    }
#undef INT_OPT
#undef FLOAT_OPT
    if (cli_no_arguments(cmd, argc, argv, optind)) return CLI_USAGE;
    if (!a->data || !o->out_dir) return cli_usage_error(cmd, "--data and --out are required");
    if (o->resume && a->force) return cli_usage_error(cmd, "--resume continues DIR and --force replaces it: give one");
    if (!a->model_dir == !a->config) return cli_usage_error(cmd, "give exactly one of --model and --config");
    if (finetune && !a->model_dir) return cli_usage_error(cmd, "--model is required");
    if (a->mask_results && !finetune) return cli_usage_error(cmd, "--mask-results is a finetune option");
    if (!a->lora_r && (a->alpha_set || a->lora.targets || a->lora.dropout > 0 || a->mapped))
        return cli_usage_error(cmd, "--lora-alpha, --lora-targets, --lora-dropout and --mmap go with --lora R");
    if (a->lora_r && !a->model_dir) return cli_usage_error(cmd, "--lora trains adapters on a model: give --model");
    if (finetune && !warmup_set) o->warmup = o->steps / 10;
    if (a->eval_path && !o->eval_every) o->eval_every = o->steps >= 10 ? o->steps / 10 : 1;
    if (!min_lr_set) o->min_lr = o->lr / 10;
    if (!warmup_set && o->warmup > o->steps / 10) o->warmup = o->steps / 10;
    *done = 0;
    return CLI_OK;
}

static int print_json(const train_args *a, const train_outcome *t) {
    const tf_train_result *res = &t->res;
    cli_json j;
    cli_json_begin(&j, stdout);
    cli_json_int(&j, "steps", res->steps_done);
    cli_json_int(&j, "steps_run", res->steps_run);
    cli_json_number(&j, "loss", "%.6f", res->last_loss);
    cli_json_number(&j, "eval_loss", "%.6f", res->last_eval_loss);
    cli_json_number(&j, "best_eval_loss", "%.6f", res->best_eval_loss);
    cli_json_number(&j, "tokens_per_s", "%.1f", res->tokens_per_s);
    cli_json_uint(&j, "params", tf_lora_attached(t->m) ? tf_lora_numel(t->m) : t->m->num_params);
    cli_json_int(&j, "processes", t->dist.world);
    cli_json_string(&j, "out", a->o.out_dir);
    cli_json_string(&j, a->model_dir ? "model" : "config", a->model_dir ? a->model_dir : a->config);
    cli_json_string(&j, "data", a->data);
    cli_json_string(&j, "version", TF_VERSION);
    return cli_json_end(&j, a->cmd);
}

static void print_text(const train_args *a, const train_outcome *t) {
    const tf_train_result *res = &t->res;
    const tf_train_options *o = &a->o;
    if (res->steps_done < o->steps) {  // --stop-after: the model is not written yet
        printf("trained %d of %d steps: loss %.4f, %.0f tokens/s; stopped by --stop-after with a checkpoint in "
               "%s/checkpoint (no model yet): continue with --resume\n", res->steps_done, o->steps, res->last_loss,
               res->tokens_per_s, o->out_dir);
    } else if (res->steps_run == 0) {
        printf("already trained %d of %d steps: nothing to do; the %s is in %s\n", res->steps_done, o->steps,
               a->lora_r ? "adapter" : "model", o->out_dir);
    } else {
        printf("trained %d steps: loss %.4f, %.0f tokens/s; %s written to %s\n", res->steps_done, res->last_loss,
               res->tokens_per_s, a->lora_r ? "adapter" : "model", o->out_dir);
    }
}

static int train_main(int argc, char **argv, int finetune) {
    train_args a;
    int done, rc = parse(argc, argv, finetune, &a, &done);
    if (done) return rc;
    tf_error err = {0};
    if (tf_dist_init(&argc, &argv, &err)) return cli_fail(&err);
    train_outcome t;
    rc = train_execute(&a, &t);
    if (rc == CLI_OK && t.lead) {
        if (a.json) rc = print_json(&a, &t);
        else print_text(&a, &t);
    }
    return train_done(&a, &t, rc);
}

int cmd_train(int argc, char **argv) { return train_main(argc, argv, 0); }
int cmd_finetune(int argc, char **argv) { return train_main(argc, argv, 1); }
