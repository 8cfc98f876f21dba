// stream.c — a completion as server-sent events (OpenAI's streaming shape): one `data: {chunk}` per
// piece of final text, each call in a chunk of its own carrying its `tool_calls` entry, a last chunk
// with the finish reason, then `data: [DONE]`. Text is sent only up to the request's stable point (a
// possible start of a stop string is held back) and never inside a UTF-8 character.
#include <stdlib.h>
#include <string.h>

#include "serve_http.h"

typedef struct {
    tf_server *s;
    job *j;
    int fd;
    sbuf out;      // events not yet handed to MHD
    size_t off;
    size_t sent;   // text bytes sent
    int calls_sent, ended;
} stream;

static void event(stream *st, cJSON *root) {
    char *t = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!t) return;
    sbuf_put(&st->out, "data: ", 6);
    sbuf_put(&st->out, t, strlen(t));
    sbuf_put(&st->out, "\n\n", 2);
    free(t);
}

static void chunk(stream *st, size_t from, size_t to, int call, const char *finish) {
    const job *j = st->j;
    cJSON *choice, *root = serve_frame(st->s, j, &choice);
    char *t = tf_utf8_sanitize(j->text.s ? j->text.s + from : "", to - from);
    cJSON_AddStringToObject(choice, "text", t ? t : "");
    free(t);
    if (finish) cJSON_AddStringToObject(choice, "finish_reason", finish);
    else cJSON_AddNullToObject(choice, "finish_reason");
    if (call >= 0) {
        cJSON *calls = cJSON_AddArrayToObject(choice, "tool_calls");
        cJSON_AddItemToArray(calls, serve_call_json(j, call));
    }
    event(st, root);
    st->sent = to;
}

// Turns what the request has decided since the last call into events (s->mu held).
static void collect(stream *st) {
    job *j = st->j;
    int done = j->state == JOB_DONE;
    size_t stable = done ? j->text.n : (j->text.s ? tf_utf8_cut(j->text.s, j->stable) : 0);
    for (;;) {
        const job_call *c = st->calls_sent < j->n_calls ? &j->calls[st->calls_sent] : NULL;
        if (c && c->end <= stable) {
            if (st->sent < c->start) chunk(st, st->sent, c->start, -1, NULL);
            chunk(st, c->start, c->end, st->calls_sent++, NULL);
            continue;
        }
        size_t lim = c && c->start < stable ? c->start : stable;
        if (st->sent < lim) chunk(st, st->sent, lim, -1, NULL);
        break;
    }
    if (!done || st->ended) return;
    if (j->error[0]) {
        event(st, serve_error_json(j->error, "server_error", NULL));
    } else {
        chunk(st, st->sent, st->sent, -1, j->finish ? j->finish : "stop");
        if (j->req.include_usage) {
            cJSON *choice, *root = serve_frame(st->s, j, &choice);
            cJSON_DeleteItemFromArray(cJSON_GetObjectItem(root, "choices"), 0);
            cJSON_AddItemToObject(root, "usage", serve_usage_json(j));
            event(st, root);
        }
    }
    sbuf_put(&st->out, "data: [DONE]\n\n", 14);
    metrics_tokens(st->s->met, j->n_prompt, j->n_gen);
    st->ended = 1;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    stream *st = cls;
    tf_server *s = st->s;
    for (;;) {
        if (st->off < st->out.n) {
            size_t n = st->out.n - st->off < max ? st->out.n - st->off : max;
            memcpy(buf, st->out.s + st->off, n);
            st->off += n;
            return (ssize_t)n;
        }
        st->out.n = st->off = 0;
        if (st->ended) return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&s->mu);
        for (;;) {
            collect(st);
            if (st->out.n || st->ended) break;
            serve_wait(s, st->j, 100);
            if (st->j->state != JOB_DONE && serve_client_gone(st->fd)) {
                st->j->cancelled = 1;
                pthread_cond_signal(&s->engine_cv);
                pthread_mutex_unlock(&s->mu);
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
}

static void stream_free(void *cls) {
    stream *st = cls;
    pthread_mutex_lock(&st->s->mu);
    if (st->j->state != JOB_DONE) {
        st->j->cancelled = 1;
        pthread_cond_signal(&st->s->engine_cv);
    }
    job_unref(st->s, st->j);
    pthread_mutex_unlock(&st->s->mu);
    sbuf_free(&st->out);
    free(st);
}

enum MHD_Result serve_stream(tf_server *s, struct MHD_Connection *c, job *j) {
    stream *st = calloc(1, sizeof *st);
    if (!st) return MHD_NO;
    st->s = s;
    st->j = j;
    st->fd = serve_conn_fd(c);
    pthread_mutex_lock(&s->mu);
    j->refs++;
    pthread_mutex_unlock(&s->mu);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, st, stream_free);
    if (!r) {
        stream_free(st);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    enum MHD_Result rc = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    metrics_request(s->met, 200);
    return rc;
}
