// metrics.c — the server's counters and histograms, rendered as Prometheus text (GET /metrics).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_internal.h"

enum { N_TTFT = 12, N_TOK = 11, N_BATCH = 8, MAX_STATUS = 16, MAX_TOOL_KEYS = 64 };
static const double TTFT_LE[N_TTFT] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
static const double TOK_LE[N_TOK] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
static const double BATCH_LE[N_BATCH] = {1, 2, 4, 8, 16, 32, 64, 128};

typedef struct {
    long bucket[16];  // counts per upper bound, not cumulative; the last one is +Inf
    long count;
    double sum;
} histogram;

struct metrics {
    pthread_mutex_t mu;
    int status[MAX_STATUS];
    long status_count[MAX_STATUS];
    int n_status;
    long prompt_tokens, completion_tokens;
    histogram ttft, tok, batch;
    char tool[MAX_TOOL_KEYS][64], outcome[MAX_TOOL_KEYS][16];
    long tool_count[MAX_TOOL_KEYS];
    int n_tool;
};

metrics *metrics_new(void) {
    metrics *mt = calloc(1, sizeof *mt);
    if (mt) pthread_mutex_init(&mt->mu, NULL);
    return mt;
}

void metrics_free(metrics *mt) {
    if (!mt) return;
    pthread_mutex_destroy(&mt->mu);
    free(mt);
}

static void observe(histogram *h, const double *le, int n, double v) {
    int i = 0;
    while (i < n && v > le[i]) i++;
    h->bucket[i]++;
    h->count++;
    h->sum += v;
}

void metrics_request(metrics *mt, int status) {
    pthread_mutex_lock(&mt->mu);
    int i = 0;
    while (i < mt->n_status && mt->status[i] != status) i++;
    if (i == mt->n_status && i < MAX_STATUS) mt->status[mt->n_status++] = status;
    if (i < MAX_STATUS) mt->status_count[i]++;
    pthread_mutex_unlock(&mt->mu);
}

void metrics_tokens(metrics *mt, int prompt, int completion) {
    pthread_mutex_lock(&mt->mu);
    mt->prompt_tokens += prompt;
    mt->completion_tokens += completion;
    pthread_mutex_unlock(&mt->mu);
}

void metrics_ttft(metrics *mt, double seconds) {
    pthread_mutex_lock(&mt->mu);
    observe(&mt->ttft, TTFT_LE, N_TTFT, seconds);
    pthread_mutex_unlock(&mt->mu);
}

void metrics_token_latency(metrics *mt, double seconds) {
    pthread_mutex_lock(&mt->mu);
    observe(&mt->tok, TOK_LE, N_TOK, seconds);
    pthread_mutex_unlock(&mt->mu);
}

void metrics_batch(metrics *mt, int rows) {
    pthread_mutex_lock(&mt->mu);
    observe(&mt->batch, BATCH_LE, N_BATCH, rows);
    pthread_mutex_unlock(&mt->mu);
}

void metrics_tool_call(metrics *mt, const char *tool, const char *outcome) {
    pthread_mutex_lock(&mt->mu);
    int i = 0;
    while (i < mt->n_tool && (strcmp(mt->tool[i], tool) || strcmp(mt->outcome[i], outcome))) i++;
    if (i == mt->n_tool && i < MAX_TOOL_KEYS) {
        snprintf(mt->tool[i], sizeof mt->tool[i], "%s", tool);
        snprintf(mt->outcome[i], sizeof mt->outcome[i], "%s", outcome);
        mt->n_tool++;
    }
    if (i < MAX_TOOL_KEYS) mt->tool_count[i]++;
    pthread_mutex_unlock(&mt->mu);
}

static void render_hist(FILE *f, const char *name, const char *help, const histogram *h, const double *le, int n) {
    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    long cum = 0;
    for (int i = 0; i < n; i++) {
        cum += h->bucket[i];
        fprintf(f, "%s_bucket{le=\"%g\"} %ld\n", name, le[i], cum);
    }
    fprintf(f, "%s_bucket{le=\"+Inf\"} %ld\n%s_sum %.6f\n%s_count %ld\n", name, h->count, name, h->sum, name, h->count);
}

// A label value as Prometheus wants it: backslash, quote and newline escaped.
static void label(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') fputc('\\', f), fputc(*s, f);
        else if (*s == '\n') fputs("\\n", f);
        else fputc(*s, f);
    }
}

char *metrics_render(metrics *mt, int queued, int active, int in_flight) {
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    if (!f) return NULL;
    pthread_mutex_lock(&mt->mu);
    fprintf(f, "# HELP toolformer_requests_total HTTP requests answered, by status code.\n"
               "# TYPE toolformer_requests_total counter\n");
    for (int i = 0; i < mt->n_status; i++)
        fprintf(f, "toolformer_requests_total{status=\"%d\"} %ld\n", mt->status[i], mt->status_count[i]);
    fprintf(f, "# HELP toolformer_prompt_tokens_total Prompt tokens of completed requests.\n"
               "# TYPE toolformer_prompt_tokens_total counter\ntoolformer_prompt_tokens_total %ld\n"
               "# HELP toolformer_completion_tokens_total Tokens generated for completed requests.\n"
               "# TYPE toolformer_completion_tokens_total counter\ntoolformer_completion_tokens_total %ld\n",
            mt->prompt_tokens, mt->completion_tokens);
    fprintf(f, "# HELP toolformer_queue_depth Requests waiting for a slot.\n# TYPE toolformer_queue_depth gauge\n"
               "toolformer_queue_depth %d\n"
               "# HELP toolformer_active_requests Requests holding a slot (decoding or in a tool).\n"
               "# TYPE toolformer_active_requests gauge\ntoolformer_active_requests %d\n"
               "# HELP toolformer_requests_in_flight Accepted completions not yet handed over.\n"
               "# TYPE toolformer_requests_in_flight gauge\ntoolformer_requests_in_flight %d\n",
            queued, active, in_flight);
    render_hist(f, "toolformer_batch_size", "Rows of each batched decode step.", &mt->batch, BATCH_LE, N_BATCH);
    render_hist(f, "toolformer_time_to_first_token_seconds", "From submission to the first decided token.", &mt->ttft,
                TTFT_LE, N_TTFT);
    render_hist(f, "toolformer_token_latency_seconds", "Duration of the decode step that produced each token.",
                &mt->tok, TOK_LE, N_TOK);
    fprintf(f, "# HELP toolformer_tool_calls_total Tool calls, by tool and outcome.\n"
               "# TYPE toolformer_tool_calls_total counter\n");
    for (int i = 0; i < mt->n_tool; i++) {
        fprintf(f, "toolformer_tool_calls_total{tool=\"");
        label(f, mt->tool[i]);
        fprintf(f, "\",outcome=\"%s\"} %ld\n", mt->outcome[i], mt->tool_count[i]);
    }
    pthread_mutex_unlock(&mt->mu);
    fclose(f);
    return out;
}
