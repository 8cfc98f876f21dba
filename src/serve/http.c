// http.c — the HTTP front of `toolformer serve` on libmicrohttpd (one thread per connection): routes,
// the API key, the body limit, OpenAI-shaped JSON and errors, and server-sent events.
//
// A connection's thread waits for its request in the engine; while it waits it checks every 100 ms
// whether the client has gone (a peek at the socket reads end-of-file), and cancels the request then.
#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "serve_internal.h"
#include "serve_http.h"

enum { ROUTE_NONE, ROUTE_COMPLETIONS };

typedef struct {
    int route;
    sbuf body;
    int too_big;
    job *j;  // an accepted completion (counted in s->in_flight until the connection is done with it)
} conn;

// ---- responses -----------------------------------------------------------------------------------

static enum MHD_Result send_text(tf_server *s, struct MHD_Connection *c, int status, const char *type, const char *body,
                                 size_t len, const char *retry_after) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (retry_after) MHD_add_response_header(r, "Retry-After", retry_after);
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    metrics_request(s->met, status);
    return rc;
}

static enum MHD_Result send_json(tf_server *s, struct MHD_Connection *c, int status, cJSON *root,
                                 const char *retry_after) {
    char *txt = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!txt) return MHD_NO;
    enum MHD_Result rc = send_text(s, c, status, "application/json", txt, strlen(txt), retry_after);
    free(txt);
    return rc;
}

cJSON *serve_error_json(const char *message, const char *type, const char *code) {
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "type", type);
    if (code) cJSON_AddStringToObject(e, "code", code);
    else cJSON_AddNullToObject(e, "code");
    return root;
}

static enum MHD_Result send_error(tf_server *s, struct MHD_Connection *c, int status, const char *message) {
    const char *type = "invalid_request_error", *code = NULL, *retry = NULL;
    switch (status) {
    case 401: code = "invalid_api_key"; break;
    case 404: code = "not_found"; break;
    case 405: code = "method_not_allowed"; break;
    case 413: code = "body_too_large"; break;
    case 429: type = "rate_limit_error", code = "queue_full", retry = "1"; break;
    case 503: type = "server_error", code = "draining"; break;
    case 500: type = "server_error"; break;
    default: break;
    }
    return send_json(s, c, status, serve_error_json(message, type, code), retry);
}

// ---- the completion's JSON ---------------------------------------------------------------------------

// Characters (code points) in s[0..n): the bytes that do not continue a UTF-8 sequence.
static size_t chars(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static void add_text(cJSON *o, const char *name, const char *s, size_t n) {
    char *t = tf_utf8_sanitize(s, n);
    cJSON_AddStringToObject(o, name, t ? t : "");
    free(t);
}

cJSON *serve_call_json(const job *j, int i) {
    const job_call *c = &j->calls[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "tool", c->tool);
    add_text(o, "input", c->input, strlen(c->input));
    if (c->result) add_text(o, "result", c->result, strlen(c->result));
    else cJSON_AddNullToObject(o, "result");
    cJSON_AddNumberToObject(o, "start", (double)chars(j->text.s, c->start));
    cJSON_AddNumberToObject(o, "end", (double)chars(j->text.s, c->end));
    cJSON_AddNumberToObject(o, "ms", c->ms);
    return o;
}

// {"id", "object", "created", "model", "choices": [choice]}: the frame of a response or a chunk.
cJSON *serve_frame(const tf_server *s, const job *j, cJSON **choice) {
    char id[32];
    snprintf(id, sizeof id, "cmpl-%ld", j->id);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", id);
    cJSON_AddStringToObject(root, "object", "text_completion");
    cJSON_AddNumberToObject(root, "created", (double)time(NULL));
    cJSON_AddStringToObject(root, "model", s->o.model_name);
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    *choice = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, *choice);
    cJSON_AddNumberToObject(*choice, "index", 0);
    cJSON_AddNullToObject(*choice, "logprobs");
    return root;
}

cJSON *serve_usage_json(const job *j) {
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", j->n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", j->n_gen);
    cJSON_AddNumberToObject(u, "total_tokens", j->n_prompt + j->n_gen);
    return u;
}

// The whole response of a finished request (s->mu held).
static cJSON *completion_json(const tf_server *s, const job *j) {
    cJSON *choice, *root = serve_frame(s, j, &choice);
    add_text(choice, "text", j->text.s ? j->text.s : "", j->text.n);
    cJSON_AddStringToObject(choice, "finish_reason", j->finish ? j->finish : "stop");
    cJSON *calls = cJSON_AddArrayToObject(choice, "tool_calls");
    for (int i = 0; i < j->n_calls; i++) cJSON_AddItemToArray(calls, serve_call_json(j, i));
    cJSON_AddItemToObject(root, "usage", serve_usage_json(j));
    return root;
}

// ---- client liveness ------------------------------------------------------------------------------

int serve_conn_fd(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

int serve_client_gone(int fd) {
    if (fd < 0) return 0;
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void serve_wait(tf_server *s, job *j, int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&j->cv, &s->mu, &ts);
}

// ---- POST /v1/completions -----------------------------------------------------------------------------

// The request's tools: the named ones (each must be one of the server's), or all of the server's.
static int select_tools(const tf_server *s, job *j, char *msg, size_t cap) {
    j->tools.tools = calloc(s->tools->n ? s->tools->n : 1, sizeof(tf_tool *));
    if (!j->tools.tools) return snprintf(msg, cap, "out of memory"), 500;
    if (!j->req.tools_given) {
        for (int i = 0; i < s->tools->n; i++) j->tools.tools[j->tools.n++] = s->tools->tools[i];
        return 0;
    }
    for (int i = 0; i < j->req.n_tools; i++) {
        tf_tool *t = tf_toolset_find(s->tools, j->req.tools[i]);
        if (!t) {
            snprintf(msg, cap, "tools: '%.64s' is not a tool of this server", j->req.tools[i]);
            return 400;
        }
        int dup = 0;
        for (int k = 0; k < j->tools.n; k++) dup |= j->tools.tools[k] == t;
        if (!dup) j->tools.tools[j->tools.n++] = t;
    }
    return 0;
}

// Builds a job from a parsed body: 0, or an HTTP status with msg.
static int make_job(tf_server *s, job *j, char *msg, size_t cap) {
    int st = select_tools(s, j, msg, cap);
    if (st) return st;
    tf_error err = {0};
    const tf_serve_request *r = &j->req;
    if (tf_tokenizer_encode(s->tok, r->prompt, strlen(r->prompt), 0, &j->prompt_ids, &j->n_prompt, &err))
        return snprintf(msg, cap, "prompt: %.400s", err.msg), 400;
    if (j->n_prompt == 0) {
        // as the CLI does: an empty prompt starts from the end-of-text token
        int eos = tf_tokenizer_eos_id(s->tok);
        if (eos < 0) return snprintf(msg, cap, "prompt is empty and the tokenizer has no end-of-text token"), 400;
        free(j->prompt_ids);
        if (!(j->prompt_ids = malloc(sizeof(int)))) return snprintf(msg, cap, "out of memory"), 500;
        j->prompt_ids[0] = eos;
        j->n_prompt = 1;
    }
    if (j->n_prompt > s->o.ctx)
        return snprintf(msg, cap, "prompt is %d tokens; the context is %d", j->n_prompt, s->o.ctx), 400;
    tf_toolgen_defaults(&j->opt);
    j->opt.max_new = r->max_tokens;
    j->opt.sampler = (tf_sampler){(float)r->temperature, r->top_k, (float)r->top_p};
    j->opt.seed = r->seed;
    j->opt.api_top_k = r->api_top_k >= 0 ? r->api_top_k : s->o.api_top_k;
    j->opt.max_calls = r->max_calls >= 0 ? r->max_calls : s->o.max_calls;
    j->opt.disable = r->disable_tools;
    j->opt.stop_at_eos = 1;
    return 0;
}

static job *job_new(void) {
    job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->refs = 1;
    j->slot = -1;
    pthread_cond_init(&j->cv, NULL);
    return j;
}

static enum MHD_Result completions(tf_server *s, struct MHD_Connection *c, conn *cn) {
    tf_error err = {0};
    char msg[512];
    job *j = job_new();
    if (!j) return send_error(s, c, 500, "out of memory");
    if (tf_serve_request_parse(cn->body.s ? cn->body.s : "", cn->body.n, &j->req, &err)) {
        pthread_mutex_lock(&s->mu);
        job_unref(s, j);
        pthread_mutex_unlock(&s->mu);
        return send_error(s, c, err.code == TF_ENOMEM ? 500 : 400, err.msg);
    }
    int st = make_job(s, j, msg, sizeof msg);
    if (!st) {
        j->t_submit = tf_time_s();
        st = serve_submit(s, j);
        if (st == 429) snprintf(msg, sizeof msg, "the queue is full (%d requests waiting); retry later", s->o.queue);
        if (st == 503) snprintf(msg, sizeof msg, "the server is shutting down");
    }
    if (st) {
        pthread_mutex_lock(&s->mu);
        job_unref(s, j);
        pthread_mutex_unlock(&s->mu);
        return send_error(s, c, st, msg);
    }
    cn->j = j;  // the connection's reference; in_flight until the connection completes
    if (j->req.stream) return serve_stream(s, c, j);
    int fd = serve_conn_fd(c), gone = 0;
    pthread_mutex_lock(&s->mu);
    while (j->state != JOB_DONE && !gone) {
        serve_wait(s, j, 100);
        if (j->state != JOB_DONE && serve_client_gone(fd)) gone = 1;
    }
    if (gone) {
        j->cancelled = 1;
        pthread_cond_signal(&s->engine_cv);
        pthread_mutex_unlock(&s->mu);
        metrics_request(s->met, 499);  // nginx's "client closed request"
        return MHD_NO;
    }
    metrics_tokens(s->met, j->n_prompt, j->n_gen);
    cJSON *root = j->error[0] ? serve_error_json(j->error, "server_error", NULL) : completion_json(s, j);
    int status = j->error[0] ? 500 : 200;
    pthread_mutex_unlock(&s->mu);
    return send_json(s, c, status, root, NULL);
}

// ---- the other routes ---------------------------------------------------------------------------------

static enum MHD_Result models(tf_server *s, struct MHD_Connection *c) {
    cJSON *root = cJSON_CreateObject(), *data = NULL, *m = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    data = cJSON_AddArrayToObject(root, "data");
    cJSON_AddStringToObject(m, "id", s->o.model_name);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", 0);
    cJSON_AddStringToObject(m, "owned_by", "toolformer");
    cJSON *tools = cJSON_AddArrayToObject(m, "tools");
    for (int i = 0; i < s->tools->n; i++) cJSON_AddItemToArray(tools, cJSON_CreateString(s->tools->tools[i]->name));
    cJSON_AddNumberToObject(m, "context_length", s->o.ctx);
    cJSON_AddItemToArray(data, m);
    return send_json(s, c, 200, root, NULL);
}

static enum MHD_Result health(tf_server *s, struct MHD_Connection *c) {
    pthread_mutex_lock(&s->mu);
    int draining = s->draining;
    pthread_mutex_unlock(&s->mu);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", draining ? "draining" : "ok");
    return send_json(s, c, draining ? 503 : 200, root, NULL);
}

static enum MHD_Result metrics_page(tf_server *s, struct MHD_Connection *c) {
    pthread_mutex_lock(&s->mu);
    int queued = s->n_queued, active = s->n_active, in_flight = s->in_flight;
    pthread_mutex_unlock(&s->mu);
    char *txt = metrics_render(s->met, queued, active, in_flight);
    if (!txt) return send_error(s, c, 500, "out of memory");
    enum MHD_Result rc = send_text(s, c, 200, "text/plain; version=0.0.4", txt, strlen(txt), NULL);
    free(txt);
    return rc;
}

// ---- the handler ----------------------------------------------------------------------------------------

// Constant-time comparison of the Authorization header with "Bearer KEY".
static int key_ok(const tf_server *s, struct MHD_Connection *c) {
    if (!s->o.api_key) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7)) return 0;
    h += 7;
    size_t a = strlen(h), b = strlen(s->o.api_key);
    unsigned diff = (unsigned)(a != b);
    for (size_t i = 0; i < a; i++) diff |= (unsigned char)h[i] ^ (unsigned char)s->o.api_key[i % (b ? b : 1)];
    return diff == 0;
}

enum MHD_Result serve_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    tf_server *s = cls;
    conn *cn = *con_cls;
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    if (!cn) {
        if (!(cn = calloc(1, sizeof *cn))) return MHD_NO;
        *con_cls = cn;
        // the playground page holds no data: it loads without the key (its requests carry it)
        if (!(get && (!strcmp(url, "/") || !strcmp(url, "/favicon.ico"))) && !key_ok(s, c)) return send_error(s, c, 401, "a valid API key is required (Authorization: Bearer KEY)");
        if (!strcmp(url, "/v1/completions")) {
            if (!post) return send_error(s, c, 405, "use POST for /v1/completions");
            cn->route = ROUTE_COMPLETIONS;
            const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
            if (cl && strtoull(cl, NULL, 10) > s->o.max_body) {
                char msg[128];
                snprintf(msg, sizeof msg, "the body is over the limit of %zu bytes", s->o.max_body);
                return send_error(s, c, 413, msg);
            }
            return MHD_YES;  // the body follows
        }
        if (!get) return send_error(s, c, strcmp(url, "/") && strcmp(url, "/health") && strcmp(url, "/metrics") &&
                                                  strcmp(url, "/v1/models") ? 404 : 405, "no such route for this method");
        if (!strcmp(url, "/")) return send_text(s, c, 200, "text/html; charset=utf-8", serve_page_html, strlen(serve_page_html), NULL);
        if (!strcmp(url, "/favicon.ico")) return send_text(s, c, 204, "image/x-icon", "", 0, NULL);  // none: no 404 in the console
        if (!strcmp(url, "/health")) return health(s, c);
        if (!strcmp(url, "/metrics")) return metrics_page(s, c);
        if (!strcmp(url, "/v1/models")) return models(s, c);
        char msg[160];
        snprintf(msg, sizeof msg, "no route %.100s", url);
        return send_error(s, c, 404, msg);
    }
    if (*upload_size) {
        // a body without a Content-Length (chunked) is counted as it comes; over the limit it is dropped
        if (!cn->too_big && cn->body.n + *upload_size > s->o.max_body) {
            cn->too_big = 1;
            sbuf_free(&cn->body);
        }
        if (!cn->too_big && sbuf_put(&cn->body, upload, *upload_size)) return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (cn->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the body is over the limit of %zu bytes", s->o.max_body);
        return send_error(s, c, 413, msg);
    }
    return completions(s, c, cn);
}

void serve_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)c, (void)toe;
    tf_server *s = cls;
    conn *cn = *con_cls;
    if (!cn) return;
    *con_cls = NULL;
    sbuf_free(&cn->body);
    if (cn->j) {
        pthread_mutex_lock(&s->mu);
        if (cn->j->state != JOB_DONE) {
            cn->j->cancelled = 1;
            pthread_cond_signal(&s->engine_cv);
        }
        job_unref(s, cn->j);
        s->in_flight--;
        pthread_cond_broadcast(&s->idle_cv);
        pthread_mutex_unlock(&s->mu);
    }
    free(cn);
}
