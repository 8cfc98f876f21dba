// test_cli_json.c — every --json output is valid JSON (issue 21): a model whose weights hold NaN
// makes loss, compare, eval, generate and annotate print null where a number is not finite, never
// `nan`, and exit 1 with one line naming the first such field; annotate's --rejected JSONL stays
// valid too; finite outputs are unchanged; eval and finetune summaries name the model, the data and
// the program's version.
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "cli_run.h"
#include "pipeline_util.h"

static char tmp[64];
static char out[65536];

// A copy of models/default (it has a tokenizer) whose final LayerNorm weight is NaN: every logit and
// loss becomes NaN.
static void make_nan_model(void) {
    strcpy(tmp, "/tmp/tf_json_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    char cmd[256], p[128];
    snprintf(cmd, sizeof cmd, "cp -r models/default '%s/w'", tmp);
    cr_assert_eq(system(cmd), 0);
    snprintf(p, sizeof p, "%s/w/model.safetensors", tmp);
    FILE *f = fopen(p, "r+b");
    cr_assert_not_null(f);
    uint64_t hlen = 0;
    cr_assert_eq(fread(&hlen, 8, 1, f), 1);
    cr_assert(hlen > 0 && hlen < 1 << 20);
    char *h = malloc(hlen + 1);
    cr_assert_eq(fread(h, 1, hlen, f), hlen);
    h[hlen] = '\0';
    cJSON *j = cJSON_Parse(h);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "transformer.ln_f.weight");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    cr_assert(cJSON_GetArraySize(off) == 2, "no ln_f.weight in %s", p);
    long a = (long)cJSON_GetArrayItem(off, 0)->valuedouble, b = (long)cJSON_GetArrayItem(off, 1)->valuedouble;
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t, "dtype")->valuestring, "F32");
    cJSON_Delete(j);
    free(h);
    cr_assert_eq(fseek(f, 8 + (long)hlen + a, SEEK_SET), 0);
    const uint32_t nan_bits = 0x7fc00000u;
    for (long i = a; i < b; i += 4) cr_assert_eq(fwrite(&nan_bits, 4, 1, f), 1);
    cr_assert_eq(fclose(f), 0);
    snprintf(p, sizeof p, "%s/eval.jsonl", tmp);
    f = fopen(p, "w");
    fputs("{\"prompt\": \"12 + 30 =\", \"answer\": \"42\"}\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/ppl.jsonl", tmp);
    f = fopen(p, "w");
    fputs("{\"text\": \"The river flows to the sea.\"}\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/corpus.jsonl", tmp);
    f = fopen(p, "w");
    fputs("{\"text\": \"The price was 12 + 30 = 42 dollars in total.\"}\n", f);
    fclose(f);
}

static void clean(void) { rm_rf_dir(tmp); }

TestSuite(cli_json, .init = make_nan_model, .fini = clean, .timeout = 120);

// Parses s as exactly one JSON value (trailing whitespace only); NULL when it is not valid JSON.
// cJSON takes no NaN, Infinity or nan.
static cJSON *parse_strict(const char *s) {
    const char *end = NULL;
    return cJSON_ParseWithOpts(s, &end, 1);
}

// The run exited 1, printed valid JSON with no bare nan/inf, and said which field on one line.
static cJSON *expect_null_and_error(int rc, const char *cmd, const char *field) {
    cr_assert_eq(rc, 1, "%s: exit %d: %s", cmd, rc, cli_run_stderr);
    for (const char *bad = ": nan\0: -nan\0[nan\0, nan\0: inf\0: -inf\0[inf\0, inf\0, -nan\0"; *bad; bad += strlen(bad) + 1)
        cr_assert_null(strstr(out, bad), "%s printed '%s': %s", cmd, bad, out);
    cJSON *j = parse_strict(out);
    cr_assert_not_null(j, "%s: not valid JSON: %s", cmd, out);
    cr_assert(strstr(cli_run_stderr, "not a finite number") || strstr(cli_run_stderr, "not finite numbers"), "%s: %s",
              cmd, cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, field), "%s: the message names %s: %s", cmd, field, cli_run_stderr);
    cr_assert_eq(strchr(cli_run_stderr, '\n'), cli_run_stderr + strlen(cli_run_stderr) - 1, "not one line: %s",
                 cli_run_stderr);
    return j;
}

Test(cli_json, loss_of_nan_weights_is_null_and_an_error) {
    int rc = cli_run(out, sizeof out, "loss --model %s/w --ids 1,2,3,4 --json --threads 1", tmp);
    cJSON *j = expect_null_and_error(rc, "loss", "\"mean_nll\"");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "mean_nll")), "%s", out);
    cr_assert(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "token_nll"), 2)), "%s", out);
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(j, "n_scored")->valueint, 3);
    cJSON_Delete(j);
    // the plain output says so too
    rc = cli_run(out, sizeof out, "loss --model %s/w --ids 1,2,3,4 --threads 1", tmp);
    cr_assert_eq(rc, 1, "%s", cli_run_stderr);
    cr_assert(strstr(cli_run_stderr, "not a finite number"), "%s", cli_run_stderr);
    // a sound model: the same layout as always, exit 0
    rc = cli_run(out, sizeof out, "loss --model models/default --ids 1,2,3,4 --json --threads 1");
    cr_assert_eq(rc, 0, "%s", cli_run_stderr);
    j = parse_strict(out);
    cr_assert_not_null(j, "%s", out);
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "mean_nll")), "%s", out);
    cr_assert(strstr(out, "{\"tokens\": [1, 2, 3, 4], \"n_scored\": 3, \"mean_nll\": "), "%s", out);
    cJSON_Delete(j);
}

Test(cli_json, compare_eval_and_generate_of_nan_weights_stay_valid_json) {
    int rc = cli_run(out, sizeof out,
                     "compare --model %s/w --text 'The price was 12 + 30 = 42 dollars.' --call 'Calculator(12 + 30)' "
                     "--at 'The price was 12 + 30 =' --tools calculator --json --threads 1", tmp);
    cJSON *j = expect_null_and_error(rc, "compare", "loss");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "score")), "%s", out);
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "tau_f")), "%s", out);
    cJSON_Delete(j);
    rc = cli_run(out, sizeof out, "eval --model %s/w --task ppl --data %s/ppl.jsonl --json --threads 1 --quiet", tmp,
                 tmp);
    j = expect_null_and_error(rc, "eval", "\"mean_nll\"");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "ppl")), "%s", out);
    cJSON_Delete(j);
    // NaN logits decode to something; whatever it is, the output parses
    rc = cli_run(out, sizeof out, "generate --model %s/w --prompt 'The river' --max-new 3 --json --threads 1", tmp);
    cr_assert_lt(rc, 2, "%s", cli_run_stderr);
    j = parse_strict(out);
    cr_assert_not_null(j, "generate: not valid JSON: %s", out);
    cJSON_Delete(j);
}

// annotate on NaN weights: the summary and every line of --rejected are valid JSON.
Test(cli_json, annotate_of_nan_weights_writes_valid_json_and_jsonl) {
    int rc = cli_run(out, sizeof out,
                     "annotate --model %s/w --tools calculator --proposer tool --tau-f -100 --top-k 2 --samples 1 "
                     "--threads 1 --quiet --data %s/corpus.jsonl --out %s/aug.jsonl --rejected %s/rej.jsonl --json",
                     tmp, tmp, tmp, tmp);
    cr_assert_lt(rc, 2, "%s", cli_run_stderr);
    cJSON *j = parse_strict(out);
    cr_assert_not_null(j, "annotate: not valid JSON: %s", out);
    cJSON_Delete(j);
    char p[128], line[1 << 16];
    snprintf(p, sizeof p, "%s/rej.jsonl", tmp);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *r = parse_strict(line);
        cr_assert_not_null(r, "--rejected line %d is not valid JSON: %s", n + 1, line);
        cJSON_Delete(r);
        n++;
    }
    fclose(f);
    cr_assert_gt(n, 0, "no call was scored");
}

// eval and finetune summaries say what was run: the model (or config), the data and the version.
Test(cli_json, eval_and_finetune_summaries_name_the_model_and_the_version) {
    int rc = cli_run(out, sizeof out, "eval --model models/default --task math --data %s/eval.jsonl --max-new 4 --json "
                     "--threads 1 --quiet", tmp);
    cr_assert_eq(rc, 0, "%s", cli_run_stderr);
    cJSON *j = parse_strict(out);
    cr_assert_not_null(j, "%s", out);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "model")->valuestring, "models/default");
    cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "version")), "%s", out);
    cr_assert(strstr(cJSON_GetObjectItemCaseSensitive(j, "data")->valuestring, "eval.jsonl"), "%s", out);
    cJSON_Delete(j);
    char ids[128];
    snprintf(ids, sizeof ids, "%s/ids.jsonl", tmp);
    FILE *f = fopen(ids, "w");
    fputs("{\"ids\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}\n{\"ids\": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}\n", f);
    fclose(f);
    rc = cli_run(out, sizeof out, "finetune --model tests/fixtures/gpt2-tiny --data %s --steps 1 --batch 2 --seq-len 8 "
                 "--threads 1 --out %s/ft --json", ids, tmp);
    cr_assert_eq(rc, 0, "%s", cli_run_stderr);
    j = parse_strict(out);
    cr_assert_not_null(j, "%s", out);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "model")->valuestring, "tests/fixtures/gpt2-tiny");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "data")->valuestring, ids);
    cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "version")), "%s", out);
    cr_assert(strstr(out, "{\"steps\": 1, \"steps_run\": 1,"), "the layout is kept: %s", out);
    cJSON_Delete(j);
}
