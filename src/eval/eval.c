// eval.c — the paper's evaluation protocol (Appendix C) on JSONL task files.
#include <assert.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "tf_eval.h"
#include "tf_train.h"

static const char *const TASKS[] = {"math", "dates", "facts", "ppl"};

int tf_task_parse(const char *name) {
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, TASKS[i])) return i;
    return -1;
}

const char *tf_task_name(tf_task t) { return t >= 0 && t < 4 ? TASKS[t] : "?"; }

void tf_eval_defaults(tf_eval_options *o) {
    memset(o, 0, sizeof *o);
    tf_toolgen_defaults(&o->gen);
    o->gen.max_new = 24;
    o->gen.stop_at_newline = 1;
    o->gen.stop_at_eos = 1;
    o->n_words = 5;
    o->batch = 4;
}

// Parses a number at s ("-1,234.5"); returns the end, or NULL when s holds none.
static const char *parse_number(const char *s, double *v) {
    const char *p = s;
    if (*p == '-' && isdigit((unsigned char)p[1])) p++;
    if (!isdigit((unsigned char)*p)) return NULL;
    char buf[64];
    size_t k = 0;
    if (*s == '-') buf[k++] = '-';
    while (k < sizeof buf - 1 && (isdigit((unsigned char)*p) || (*p == ',' && isdigit((unsigned char)p[1]) &&
                                                                  isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3])))) {
        if (*p != ',') buf[k++] = *p;
        p++;
    }
    if (*p == '.' && isdigit((unsigned char)p[1])) {
        buf[k++] = *p++;
        while (k < sizeof buf - 1 && isdigit((unsigned char)*p)) buf[k++] = *p++;
    }
    buf[k] = '\0';
    *v = strtod(buf, NULL);
    return p;
}

static int first_number(const char *s, double *v) {
    for (; *s; s++)
        if (parse_number(s, v)) return 1;
    return 0;
}

int tf_eval_math_correct(const char *generated, const char *answer) {
    double want, got;
    if (!parse_number(answer, &want) && !first_number(answer, &want)) return 0;
    char *text = tf_strip_calls(generated);
    if (!text) return 0;
    const char *eq = strchr(text, '=');
    int found = eq ? first_number(eq + 1, &got) : 0;
    if (!found) found = first_number(text, &got);
    free(text);
    return found && fabs(got - want) <= 1e-6 * fmax(1.0, fabs(want));
}

int tf_eval_words_contain(const char *generated, const char *answer, int n_words) {
    char *text = tf_strip_calls(generated);
    if (!text || !*answer) {
        free(text);
        return 0;
    }
    // cut after n_words words
    int words = 0, in_word = 0;
    char *p = text;
    for (; *p; p++) {
        int sp = isspace((unsigned char)*p);
        if (!sp && !in_word && ++words > n_words) break;
        in_word = !sp;
    }
    *p = '\0';
    int hit = strcasestr(text, answer) != NULL;
    free(text);
    return hit;
}

static const char *str_field(cJSON *j, const char *k) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int encode_for_ppl(void *ctx, const char *text, size_t len, int **ids, int *n, float **mask, tf_error *err) {
    (void)mask;
    return tf_tokenizer_encode(ctx, text, len, 0, ids, n, err);
}

// The examples (non-blank lines) of a regular file, counted from where f stands, which it goes
// back to, so that progress has a total; -1 for a stream (stdin, a pipe, a FIFO: read once, no
// total) or when it cannot be read; -2 when f could not be put back (nothing can be evaluated).
static long count_examples(FILE *f) {
    struct stat st;
    long at = ftell(f), n = 0;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || at < 0) return -1;
    char buf[1 << 16];
    int blank = 1;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < got; i++) {
            if (buf[i] == '\n') n += !blank, blank = 1;
            else if (!strchr(" \t\r", buf[i])) blank = 0;
        }
    n += !blank;  // a last line without a newline
    int bad = ferror(f);
    clearerr(f);
    return fseek(f, at, SEEK_SET) != 0 ? -2 : bad ? -1 : n;
}

int tf_eval_run(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, const char *data,
                const tf_eval_options *o, tf_eval_result *res, tf_error *err) {
    assert(err != NULL);
    memset(res, 0, sizeof *res);
    double t0 = tf_time_s();
    if (o->task == TF_TASK_PPL) {
        // perplexity of plain text, calls disabled: the ordinary teacher-forced loss
        tf_dataset ds = {0};
        int rc = tf_dataset_load_jsonl(&ds, data, encode_for_ppl, (void *)tok, m->cfg.vocab_size, err);
        if (!rc) {
            int T = o->seq_len > 0 ? o->seq_len : (m->cfg.n_positions < 256 ? m->cfg.n_positions : 256);
            float nll = tf_eval_loss(m, &ds, o->batch > 0 ? o->batch : 4, T, err);
            if (nll < 0) rc = err->code ? err->code : tf_errorf(err, TF_EBADFILE, "%s: no text to score", data);
            res->mean_nll = nll;
            res->ppl = exp(nll);
            res->tokens = (long)ds.n_tokens;
            res->n = ds.n_docs;
        }
        tf_dataset_free(&ds);
        res->seconds = tf_time_s() - t0;
        return rc;
    }
    FILE *f = fopen(data, "r");
    if (!f) return tf_errorf(err, TF_EIO, "%s: cannot open: %s", data, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = TF_OK;
    long total = count_examples(f);
    if (total == -2) {
        fclose(f);
        return tf_errorf(err, TF_EIO, "%s: cannot go back to its start after counting its examples: %s", data,
                         strerror(errno));
    }
    if (o->max_examples > 0 && (total < 0 || total > o->max_examples)) total = o->max_examples;
    tf_progress bar;
    tf_progress_start(&bar, tf_task_name(o->task), total > 0 ? total : 0);
    if (o->quiet) bar.enabled = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == strlen(line)) continue;
        if (o->max_examples > 0 && res->n >= o->max_examples) break;
        cJSON *j = cJSON_Parse(line);
        const char *prompt = j ? str_field(j, "prompt") : NULL, *answer = j ? str_field(j, "answer") : NULL;
        if (!prompt || !answer) {
            cJSON_Delete(j);
            rc = tf_errorf(err, TF_EBADFILE, "%s:%ld: expected {\"prompt\": ..., \"answer\": ...}", data, lineno);
            break;
        }
        tf_tool_context ctx = {str_field(j, "date")};
        tf_toolgen_result g;
        if ((rc = tf_generate_with_tools(m, tok, tools, &ctx, prompt, &o->gen, &g, err)) == TF_ETOOLONG) {
            // not scored: a prompt the model cannot read is no evidence either way
            res->too_long++;
            if (o->details) {
                cJSON *d = cJSON_CreateObject();
                cJSON_AddStringToObject(d, "prompt", prompt);
                cJSON_AddStringToObject(d, "answer", answer);
                cJSON_AddStringToObject(d, "skipped", err->msg);
                char *s = cJSON_PrintUnformatted(d);
                if (s) fprintf(o->details, "%s\n", s);
                free(s);
                cJSON_Delete(d);
            }
            tf_error_clear(err);
            rc = TF_OK;
            cJSON_Delete(j);
            continue;
        }
        if (rc) {
            cJSON_Delete(j);
            break;
        }
        int ok = o->task == TF_TASK_MATH ? tf_eval_math_correct(g.text, answer)
                                         : tf_eval_words_contain(g.text, answer, o->n_words > 0 ? o->n_words : 5);
        res->n++;
        res->correct += ok;
        int called[TF_MAX_TOOLS] = {0};
        for (int c = 0; c < g.n_calls; c++)
            for (int t = 0; tools && t < tools->n && t < TF_MAX_TOOLS; t++)
                if (!strcasecmp(g.calls[c].tool, tools->tools[t]->name)) called[t] = 1;
        res->any_call += g.n_calls > 0;
        for (int t = 0; t < TF_MAX_TOOLS; t++) res->with_call[t] += called[t];
        if (o->details) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "prompt", prompt);
            cJSON_AddStringToObject(d, "answer", answer);
            char *gen = tf_utf8_sanitize(g.text, strlen(g.text));  // may end inside a character
            cJSON_AddStringToObject(d, "generated", gen ? gen : "");
            free(gen);
            cJSON_AddBoolToObject(d, "correct", ok);
            cJSON *calls = cJSON_AddArrayToObject(d, "calls");
            for (int c = 0; c < g.n_calls; c++) {
                cJSON *x = cJSON_CreateObject();
                cJSON_AddStringToObject(x, "tool", g.calls[c].tool);
                cJSON_AddStringToObject(x, "input", g.calls[c].input);
                if (g.calls[c].result) cJSON_AddStringToObject(x, "result", g.calls[c].result);
                else cJSON_AddNullToObject(x, "result");
                cJSON_AddItemToArray(calls, x);
            }
            char *s = cJSON_PrintUnformatted(d);
            if (s) fprintf(o->details, "%s\n", s);
            free(s);
            cJSON_Delete(d);
        }
        tf_toolgen_result_free(&g);
        cJSON_Delete(j);
        char extra[64];
        snprintf(extra, sizeof extra, "accuracy %.1f%%", 100.0 * res->correct / res->n);
        tf_progress_update(&bar, res->n + res->too_long, extra);  // examples done, scored or not
    }
    tf_progress_finish(&bar, NULL);
    free(line);
    fclose(f);
    res->accuracy = res->n ? (double)res->correct / res->n : 0.0;
    res->seconds = tf_time_s() - t0;
    return rc;
}
