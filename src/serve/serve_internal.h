// serve_internal.h — what the parts of src/serve/ share: a request in flight (job), the server,
// the engine loop and the metrics. Not a public header.
#ifndef TF_SERVE_INTERNAL_H
#define TF_SERVE_INTERNAL_H

#include <pthread.h>

#include "tf_infer.h"
#include "tf_serve.h"

// A growable byte string (NUL-terminated).
typedef struct {
    char *s;
    size_t n, cap;
} sbuf;
int sbuf_put(sbuf *b, const char *s, size_t n);  // 0 or -1 (out of memory)
void sbuf_free(sbuf *b);

// One executed (or attempted) call, as the response reports it.
typedef struct {
    char tool[64];
    char *input, *result;  // result NULL: no result
    size_t start, end;     // byte offsets of " [Tool(input) -> result]" in the text
    double ms;             // time the tool took
} job_call;

enum { JOB_QUEUED, JOB_ACTIVE, JOB_IN_TOOL, JOB_DONE };

// A completion request from submission to its last byte. The fields under "shared" are guarded by
// the server's mutex; "engine" fields belong to the engine thread (and, while the job is JOB_IN_TOOL,
// the tool fields to the tool's thread).
typedef struct job {
    // set before submission, then read-only
    tf_serve_request req;
    int *prompt_ids, n_prompt;
    tf_toolset tools;          // a view of the server's tools this request may call (not owned)
    tf_toolgen_options opt;    // decoding options (as `toolformer generate` takes them)
    long id;
    double t_submit;
    // shared
    int state, refs, cancelled;
    sbuf text;                 // the completion so far, calls inline; the first `stable` bytes are final
    size_t stable;
    job_call calls[16];
    int n_calls;
    int n_gen;                 // tokens generated (the calls as their re-tokenized text)
    const char *finish;        // "stop" or "length" once done
    char error[512];           // set when the engine failed the request
    pthread_cond_t cv;         // signalled when text, calls or the state change
    double t_first;            // first token decided (0 until then)
    // engine
    int slot;
    struct jstate *st;
    struct job *next;          // in a queue
} job;

typedef struct metrics metrics;

struct tf_server {
    tf_model *m;
    const tf_tokenizer *tok;
    const tf_toolset *tools;
    tf_serve_options o;
    char host[64];
    int port;
    struct MHD_Daemon *daemon;
    pthread_mutex_t mu;
    pthread_cond_t engine_cv;  // wakes the engine: a new job, a tool's result, a cancellation, draining
    pthread_cond_t idle_cv;    // signalled when in_flight drops
    job *queue_head, *queue_tail;
    int n_queued;
    int n_active;              // jobs holding a slot
    job *tool_done_head;       // jobs whose tool finished, for the engine to feed
    int in_flight;             // accepted completions whose responses are not handed over yet
    int n_tool_threads;
    int draining, stopping, drained;
    long next_id;
    pthread_mutex_t *tool_locks;  // one per tool of the server: tools other than Calendar and
                                  // Calculator are called by one thread at a time
    pthread_t engine;
    int engine_started;
    metrics *met;
};

// ---- jobs (engine.c) ---------------------------------------------------------------------------
// Queues j (the server takes a reference). 429 when the queue is full, 503 while draining; 0 when
// queued.
int serve_submit(tf_server *s, job *j);
// The HTTP side gives up on j (the client went away): the engine drops it at the next token.
void serve_cancel(tf_server *s, job *j);
void job_unref(tf_server *s, job *j);  // with s->mu held
void *serve_engine_main(void *server);

// ---- metrics (metrics.c) -----------------------------------------------------------------------
metrics *metrics_new(void);
void metrics_free(metrics *mt);
void metrics_request(metrics *mt, int status);
void metrics_tokens(metrics *mt, int prompt, int completion);
void metrics_ttft(metrics *mt, double seconds);
void metrics_token_latency(metrics *mt, double seconds);
void metrics_batch(metrics *mt, int rows);
void metrics_tool_call(metrics *mt, const char *tool, const char *outcome);
// Prometheus text exposition; queued and active are the gauges' current values. malloc'd.
char *metrics_render(metrics *mt, int queued, int active, int in_flight);

// ---- the playground (page.c) -------------------------------------------------------------------
extern const char serve_page_html[];

#endif
