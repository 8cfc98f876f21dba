// test_cli_engine.c — `toolformer loss`, `generate` and `train` end to end on the PyTorch fixtures,
// and their handling of bad input.
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "cli_run.h"
#include "tf_safetensors.h"
#include "toolformer.h"

static float *fixture_f32(const char *name, size_t *n) {
    tf_error err;
    tf_st_file *f = tf_st_open("tests/fixtures/gpt2-tiny-ref.safetensors", &err);
    cr_assert_not_null(f, "%s", err.msg);
    const tf_st_tensor *t = tf_st_find(f, name);
    cr_assert_not_null(t);
    float *out = malloc(t->numel * sizeof(float));
    cr_assert_eq(tf_st_to_f32(f, t, out, &err), TF_OK);
    if (n) *n = t->numel;
    tf_st_close(f);
    return out;
}

// Row 0 of the fixture batch: inputs 47..41 then target 26, every position scored.
static const char *ROW0 = "47,19,38,53,12,52,24,57,15,49,23,41,26";

Test(cli_engine, loss_json_matches_pytorch_token_nll) {
    char out[8192];
    cr_assert_eq(cli_run(out, sizeof out, "loss --model tests/fixtures/gpt2-tiny --ids %s --json", ROW0), 0, "%s",
                 cli_run_stderr);
    float *nll = fixture_f32("token_nll", NULL);
    double sum = 0;
    for (int t = 0; t < 12; t++) sum += nll[t];
    char *p = strstr(out, "\"mean_nll\": ");
    cr_assert_not_null(p, "%s", out);
    double mean = strtod(p + 12, NULL);
    cr_assert(fabs(mean - sum / 12) < 1e-5, "mean_nll %.7f vs PyTorch %.7f", mean, sum / 12);
    p = strstr(out, "\"sum_nll\": ");
    cr_assert(p && fabs(strtod(p + 11, NULL) - sum) < 1e-4);
    cr_assert(strstr(out, "\"tokens\": [47, 19,") != NULL, "%s", out);
    free(nll);
}

Test(cli_engine, greedy_generation_takes_pytorch_argmax) {
    float *logits = fixture_f32("logits", NULL);
    int V = 64, best = 0;
    for (int v = 1; v < V; v++)  // logits of row 0 after its 5th token
        if (logits[4 * V + v] > logits[4 * V + best]) best = v;
    char out[4096];
    cr_assert_eq(cli_run(out, sizeof out, "generate --model tests/fixtures/gpt2-tiny --ids 47,19,38,53,12 --max-new 6 --json"),
                 0, "%s", cli_run_stderr);
    char want[64];
    snprintf(want, sizeof want, "\"ids\": [%d,", best);
    cr_assert(strstr(out, want) != NULL, "%s (want first id %d)", out, best);
    free(logits);
}

Test(cli_engine, sampling_is_seeded) {
    char a[4096], b[4096], c[4096];
    const char *args = "generate --model tests/fixtures/gpt2-tiny --ids 1,2,3 --max-new 12 --temperature 1.5 --top-k 40";
    cr_assert_eq(cli_run(a, sizeof a, "%s --seed 7", args), 0, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(b, sizeof b, "%s --seed 7", args), 0);
    cr_assert_eq(cli_run(c, sizeof c, "%s --seed 8", args), 0);
    cr_assert_str_eq(a, b);
    cr_assert_str_neq(a, c);
}

Test(cli_engine, bad_input_gives_one_clear_line_and_exit_code) {
    char out[4096];
    cr_assert_eq(cli_run(out, sizeof out, "loss --model /nonexistent/model --ids 1,2,3"), 1);
    cr_assert(strstr(cli_run_stderr, "/nonexistent/model") != NULL, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "loss --model tests/fixtures/gpt2-tiny --ids 1,x,3"), 2);
    cr_assert_eq(cli_run(out, sizeof out, "loss --model tests/fixtures/gpt2-tiny --ids 1,2,99"), 2);
    cr_assert(strstr(cli_run_stderr, "99") != NULL, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "loss --model tests/fixtures/gpt2-tiny --text hello"), 2);
    cr_assert(strstr(cli_run_stderr, "tokenizer") != NULL, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "generate --model tests/fixtures/gpt2-tiny --ids 1 --max-new 40"), 2);
    cr_assert(strstr(cli_run_stderr, "context") != NULL, "%s", cli_run_stderr);
    cr_assert_eq(cli_run(out, sizeof out, "train --data x.jsonl"), 2);
    cr_assert_eq(cli_run(out, sizeof out, "loss --help"), 0);
    cr_assert(strstr(out, "usage: toolformer loss") != NULL);
}

Test(cli_engine, train_from_config_writes_a_loadable_model_and_resumes) {
    char dir[] = "/tmp/tf_cli_train_XXXXXX", data[256], out[8192], model[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/data.jsonl", dir);
    snprintf(model, sizeof model, "%s/model", dir);
    FILE *f = fopen(data, "w");
    for (int d = 0; d < 10; d++) {
        fprintf(f, "{\"ids\": [");
        for (int i = 0; i < 30; i++) fprintf(f, "%s%d", i ? ", " : "", (d + i) % 60);
        fprintf(f, "]}\n");
    }
    fclose(f);
    const char *common = "--config tests/fixtures/gpt2-tiny/config.json --batch 2 --seq-len 16 --steps 6 --lr 1e-3";
    cr_assert_eq(cli_run(out, sizeof out, "train --data %s %s --out %s --stop-after 3 --json", data, common, model), 0,
                 "%s", cli_run_stderr);
    cr_assert(strstr(out, "\"steps\": 3") != NULL, "%s", out);
    cr_assert_eq(cli_run(out, sizeof out, "train --data %s %s --out %s --resume --json", data, common, model), 0, "%s",
                 cli_run_stderr);
    cr_assert(strstr(out, "\"steps\": 6, \"steps_run\": 3,") != NULL, "%s", out);
    // resuming a finished run does nothing and says so, with no made-up loss or speed
    cr_assert_eq(cli_run(out, sizeof out, "train --data %s %s --out %s --resume", data, common, model), 0, "%s",
                 cli_run_stderr);
    cr_assert(strstr(out, "already trained 6 of 6 steps") != NULL, "%s", out);
    cr_assert_eq(cli_run(out, sizeof out, "train --data %s %s --out %s --resume --json", data, common, model), 0, "%s",
                 cli_run_stderr);
    cr_assert(strstr(out, "\"steps\": 6, \"steps_run\": 0, \"loss\": -1.0") != NULL, "%s", out);
    tf_error err;
    tf_model *m = tf_model_load(model, &err);
    cr_assert_not_null(m, "%s", err.msg);
    tf_model_free(m);
    // a malformed line is reported with its file and line number; nothing is overwritten
    f = fopen(data, "a");
    fprintf(f, "{\"ids\": [1, 2\n");
    fclose(f);
    cr_assert_eq(cli_run(out, sizeof out, "train --data %s %s --out %s/other", data, common, dir), 1);
    cr_assert(strstr(cli_run_stderr, "data.jsonl:11") != NULL, "%s", cli_run_stderr);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(cli_engine, gptj_and_neox_directories_score_like_pytorch) {
    const char *arch[2] = {"gptj", "neox"};
    for (int a = 0; a < 2; a++) {
        char ref[256], out[8192];
        snprintf(ref, sizeof ref, "tests/fixtures/%s-tiny-ref.safetensors", arch[a]);
        tf_error err;
        tf_st_file *f = tf_st_open(ref, &err);
        cr_assert_not_null(f, "%s", err.msg);
        const tf_st_tensor *in = tf_st_find(f, "inputs"), *tg = tf_st_find(f, "targets"), *nt = tf_st_find(f, "token_nll");
        const int *inputs = in->data, *targets = tg->data;
        float nll[16], all[3 * 16];
        cr_assert_eq(nt->numel, 3 * 12);
        cr_assert_eq(tf_st_to_f32(f, nt, all, &err), TF_OK);
        int T = (int)in->shape[1];
        char ids[512] = "";
        for (int t = 0; t < T; t++) snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%d,", inputs[t]);
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%d", targets[T - 1]);  // row 0 is unpadded
        double sum = 0;
        for (int t = 0; t < T; t++) sum += nll[t] = all[t];
        cr_assert_eq(cli_run(out, sizeof out, "loss --model tests/fixtures/%s-tiny --ids %s --json", arch[a], ids), 0,
                     "%s", cli_run_stderr);
        char *p = strstr(out, "\"mean_nll\": ");
        cr_assert(p && fabs(strtod(p + 12, NULL) - sum / T) < 1e-5, "%s: %s vs PyTorch %.7f", arch[a], out, sum / T);
        tf_st_close(f);
    }
}

Test(cli_engine, a_file_size_limit_mid_checkpoint_is_a_clear_error_and_keeps_the_last_checkpoint) {
    char dir[] = "/tmp/tf_cli_fsize_XXXXXX", data[256], out[8192], model[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/data.jsonl", dir);
    snprintf(model, sizeof model, "%s/model", dir);
    FILE *f = fopen(data, "w");
    for (int d = 0; d < 4; d++) fprintf(f, "{\"ids\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]}\n");
    fclose(f);
    const char *common = "--config tests/fixtures/gpt2-tiny/config.json --batch 2 --seq-len 8 --steps 4";
    cr_assert_eq(cli_run(out, sizeof out, "train --data %s %s --out %s --stop-after 2", data, common, model), 0, "%s",
                 cli_run_stderr);
    tf_error err;
    char ck[300];
    snprintf(ck, sizeof ck, "%s/checkpoint", model);
    tf_model *before = tf_model_load(ck, &err);
    cr_assert_not_null(before, "%s", err.msg);
    // 8 KB is far less than one model file: the next checkpoint cannot be written
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh -c 'ulimit -f 8; exec %s train --data %s %s --out %s --resume' 2>&1", cli_bin(), data,
             common, model);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "expected exit 1, got status %d: %s", st, out);
    cr_assert(strstr(out, "toolformer: ") && strstr(out, model) && strstr(out, "write"), "%s", out);
    tf_model *after = tf_model_load(ck, &err);
    cr_assert_not_null(after, "the last good checkpoint was damaged: %s", err.msg);
    cr_assert_eq(memcmp(before->params, after->params, before->num_params * sizeof(float)), 0);
    tf_model_free(before);
    tf_model_free(after);
    // and the run resumes once space is back
    cr_assert_eq(cli_run(out, sizeof out, "train --data %s %s --out %s --resume --json", data, common, model), 0, "%s",
                 cli_run_stderr);
    cr_assert(strstr(out, "\"steps\": 4") != NULL, "%s", out);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
