// test_train_memory.c — full training that cannot fit refuses before allocating (tf_train_memory_check):
// one line with the parameters, the memory needed and the memory available, suggesting --lora.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "toolformer.h"

// GPT-J-6B's config.json (EleutherAI/gpt-j-6b, trimmed to the fields that matter)
static const char *GPTJ_6B =
    "{\"model_type\": \"gptj\", \"n_layer\": 28, \"n_embd\": 4096, \"n_head\": 16, \"n_inner\": null,"
    " \"rotary_dim\": 64, \"vocab_size\": 50400, \"n_positions\": 2048, \"activation_function\": \"gelu_new\","
    " \"tie_word_embeddings\": false}";

Test(train_memory, counts_gptj_6b_as_transformers_does) {
    tf_config c;
    tf_error err;
    cr_assert_eq(tf_config_parse(GPTJ_6B, "gptj-6b", &c, &err), TF_OK, "%s", err.msg);
    double params;
    double need = tf_train_memory_need(&c, 1, 256, TF_DTYPE_FP32, &params);
    // 6,050,882,784 parameters (GPTJForCausalLM.num_parameters()), 16 bytes each in full fp32 AdamW training
    cr_assert_float_eq(params, 6050882784.0 * 16, 1.0);
    // B1 T256 activations: at least the 28 layers' fp32 MLP buffers (2 x 16384 floats a row)
    cr_assert_gt(need - params, 28.0 * 256 * 2 * 16384 * 4);
    cr_assert_lt(need - params, 4e9);
}

Test(train_memory, refuses_full_training_that_cannot_fit_before_allocating) {
    char dir[] = "/tmp/tf_trmem_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cfg[128], data[128], out[128], cmd[512];
    snprintf(cfg, sizeof cfg, "%s/huge.json", dir);
    snprintf(data, sizeof data, "%s/d.jsonl", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    FILE *f = fopen(cfg, "w");
    // 200 x 16384: 12 * 200 * 16384^2 + (50257 + 1024) * 16384 + ... = 645.1 B parameters, ~10 TB to train
    fputs("{\"model_type\": \"gpt2\", \"n_layer\": 200, \"n_embd\": 16384, \"n_head\": 128, \"vocab_size\": 50257,"
          " \"n_positions\": 1024}", f);
    fclose(f);
    f = fopen(data, "w");
    fputs("{\"text\": \"hello world\"}\n", f);
    fclose(f);
    char buf[4096];
    int rc = cli_run(buf, sizeof buf, "train --config %s --data %s --out %s --batch 1 --seq-len 16", cfg, data, out);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, "645.13 B parameters"), "%s", cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, "needs 1032"), "16 bytes x 645 B = 10,322 GB: %s", cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, "available") && strstr(cli_run_stderr, "--lora"), "%s", cli_run_stderr);
    cr_assert_eq(strchr(cli_run_stderr, '\n'), cli_run_stderr + strlen(cli_run_stderr) - 1, "one line");
    cr_assert(strstr(cli_run_stderr, cfg), "names the config: %s", cli_run_stderr);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
