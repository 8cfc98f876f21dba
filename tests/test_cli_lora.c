// test_cli_lora.c — `finetune --lora` end to end on the tiny GPT-2 fixture: a PEFT adapter directory
// written, loaded back by `loss --adapter` (which then scores differently from the base), the mapped
// base file's bytes unchanged by training, a stopped run resumed to the same adapter bytes as an
// uninterrupted one, and bad adapters refused with one line naming the file.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "toolformer.h"

#define BASE "tests/fixtures/gpt2-tiny"

static char *slurp(const char *path, size_t *n) {
    tf_error err;
    char *s = tf_read_file(path, n, &err);
    cr_assert_not_null(s, "%s", err.msg);
    return s;
}

static void write_data(const char *path) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int d = 0; d < 12; d++) {
        fprintf(f, "{\"ids\": [");
        for (int i = 0; i < 20; i++) fprintf(f, "%s%d", i ? ", " : "", (3 * d + 5 * i) % 50);
        fprintf(f, "]}\n");
    }
    fclose(f);
}

static double mean_nll(const char *json) {
    const char *p = strstr(json, "\"mean_nll\":");
    cr_assert_not_null(p, "%s", json);
    return atof(p + 11);
}

Test(cli_lora, finetune_writes_a_peft_adapter_that_loss_applies_and_leaves_the_base_alone) {
    char dir[] = "/tmp/tf_cli_lora_XXXXXX", data[256], base[256], out[8192], p[512];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/data.jsonl", dir);
    write_data(data);
    // a private copy of the base, to check its bytes afterwards
    snprintf(base, sizeof base, "%s/base", dir);
    snprintf(p, sizeof p, "cp -r " BASE " '%s'", base);
    cr_assert_eq(system(p), 0);
    snprintf(p, sizeof p, "%s/model.safetensors", base);
    size_t n0, n1;
    char *before = slurp(p, &n0);
    const char *common = "--batch 2 --seq-len 16 --steps 8 --lr 1e-2 --warmup 0 --lora 4 --lora-targets all-linear";
    cr_assert_eq(cli_run(out, sizeof out, "finetune --model %s --data %s --out %s/a %s --mmap --checkpoint-activations "
                         "--json", base, data, dir, common), 0, "%s", cli_run_stderr);
    char *after = slurp(p, &n1);
    cr_assert(n0 == n1 && memcmp(before, after, n0) == 0, "the mapped base's file is unchanged by training");
    free(before);
    free(after);
    snprintf(p, sizeof p, "%s/a/adapter_config.json", dir);
    char *cfg = slurp(p, NULL);
    const char *r = strstr(cfg, "\"r\":");
    cr_assert(strstr(cfg, "\"LORA\"") && r && atoi(r + 4) == 4, "%s", cfg);
    free(cfg);
    // the adapter changes the model's scores; the base alone does not
    cr_assert_eq(cli_run(out, sizeof out, "loss --model %s --ids 1,2,3,4,5,6,7,8 --json", base), 0, "%s", cli_run_stderr);
    double plain = mean_nll(out);
    cr_assert_eq(cli_run(out, sizeof out, "loss --model %s --adapter %s/a --ids 1,2,3,4,5,6,7,8 --json", base, dir), 0,
                 "%s", cli_run_stderr);
    double adapted = mean_nll(out);
    cr_assert(adapted != plain, "loss with the adapter %g vs without %g", adapted, plain);
    cr_assert_eq(cli_run(out, sizeof out, "loss --model %s --mmap --adapter %s/a --ids 1,2,3,4,5,6,7,8 --json", base, dir),
                 0, "%s", cli_run_stderr);
    cr_assert(fabs(mean_nll(out) - adapted) < 1e-4 * fabs(adapted), "mapped %g vs loaded %g", mean_nll(out), adapted);
    snprintf(p, sizeof p, "rm -rf '%s'", dir);
    cr_assert_eq(system(p), 0);
}

Test(cli_lora, a_stopped_run_resumes_to_the_same_adapter) {
    char dir[] = "/tmp/tf_cli_lora_XXXXXX", data[256], out[8192], p[512], q[512];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/data.jsonl", dir);
    write_data(data);
    const char *common = "--batch 2 --seq-len 16 --steps 6 --lr 1e-2 --lora 2 --lora-dropout 0.2 --lora-targets c_attn";
    cr_assert_eq(cli_run(out, sizeof out, "finetune --model " BASE " --data %s --out %s/full %s", data, dir, common), 0,
                 "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "finetune --model " BASE " --data %s --out %s/part %s --stop-after 4", data, dir,
                         common), 0, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "finetune --model " BASE " --data %s --out %s/part %s --resume --json", data,
                         dir, common), 0, "%s", cli_run_stderr);
    cr_assert(strstr(out, "\"steps\": 6, \"steps_run\": 2,") != NULL, "%s", out);
    snprintf(p, sizeof p, "%s/full/adapter_model.safetensors", dir);
    snprintf(q, sizeof q, "%s/part/adapter_model.safetensors", dir);
    size_t a, b;
    char *x = slurp(p, &a), *y = slurp(q, &b);
    cr_assert(a == b && memcmp(x, y, a) == 0, "the resumed run's adapter equals the uninterrupted one's");
    free(x);
    free(y);
    snprintf(p, sizeof p, "rm -rf '%s'", dir);
    cr_assert_eq(system(p), 0);
}

Test(cli_lora, bad_adapters_and_options_are_refused_with_one_line) {
    char out[8192];
    // an adapter made for another base (GPT-J's modules on GPT-2)
    cr_assert_eq(cli_run(out, sizeof out, "loss --model " BASE " --adapter tests/fixtures/lora-gptj --ids 1,2,3"), 1);
    cr_assert(strstr(cli_run_stderr, "lora-gptj") != NULL && !strchr(strchr(cli_run_stderr, '\n') + 1, '\n'), "%s",
              cli_run_stderr);
    // an unknown target module, a zero rank, LoRA options without --lora
    cr_assert_eq(cli_run(out, sizeof out, "finetune --model " BASE " --data /dev/null --out /tmp/tf_never --lora 2 "
                         "--lora-targets q_proj"), 2, "%s", cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, "q_proj") != NULL, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "finetune --model " BASE " --data /dev/null --out /tmp/tf_never --lora 0"), 2);
    cr_assert_eq(cli_run(out, sizeof out, "finetune --model " BASE " --data /dev/null --out /tmp/tf_never --mmap"), 2);
}
