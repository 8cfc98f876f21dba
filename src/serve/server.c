// server.c — starting, draining and stopping `toolformer serve`: options, the listening address
// (loopback unless an API key is set), the libmicrohttpd daemon and the engine thread.
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "serve_http.h"

void tf_serve_defaults(tf_serve_options *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->max_batch = 8;
    o->queue = 64;
    o->max_body = 1 << 20;
    o->model_name = "toolformer";
    o->api_top_k = 10;
    o->max_calls = 1;
}

static int is_loopback(const struct sockaddr *a) {
    if (a->sa_family == AF_INET) return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->sa_family == AF_INET6) {
        const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(x)) return 1;
        return IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127;
    }
    return 0;
}

tf_server *tf_server_start(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, const tf_serve_options *o,
                           tf_error *err) {
    if (o->max_batch < 1 || o->max_batch > 256) {
        tf_errorf(err, TF_EBADARG, "--max-batch must be in 1..256 (got %d)", o->max_batch);
        return NULL;
    }
    if (o->queue < 0) {
        tf_errorf(err, TF_EBADARG, "--queue must be >= 0");
        return NULL;
    }
    if (o->port < 0 || o->port > 65535) {
        tf_errorf(err, TF_EBADARG, "--port must be in 0..65535 (got %d)", o->port);
        return NULL;
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    int gai = getaddrinfo(o->host, port, &hints, &ai);
    if (gai || !ai) {
        tf_errorf(err, TF_EBADARG, "--host %s: %s", o->host, gai ? gai_strerror(gai) : "no address");
        return NULL;
    }
    if (!is_loopback(ai->ai_addr) && !(o->api_key && *o->api_key)) {
        freeaddrinfo(ai);
        tf_errorf(err, TF_EBADARG, "--host %s is not a loopback address: serving it needs --api-key KEY", o->host);
        return NULL;
    }
    tf_server *s = calloc(1, sizeof *s);
    if (!s || !(s->met = metrics_new()) || !(s->tool_locks = calloc(tools->n ? tools->n : 1, sizeof(pthread_mutex_t)))) {
        freeaddrinfo(ai);
        if (s) metrics_free(s->met), free(s);
        tf_errorf(err, TF_ENOMEM, "out of memory");
        return NULL;
    }
    s->m = m;
    s->tok = tok;
    s->tools = tools;
    s->o = *o;
    if (s->o.ctx <= 0 || s->o.ctx > m->cfg.n_positions) s->o.ctx = m->cfg.n_positions;
    if (s->o.api_key && !*s->o.api_key) s->o.api_key = NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->engine_cv, NULL);
    pthread_cond_init(&s->idle_cv, NULL);
    for (int i = 0; i < tools->n; i++) pthread_mutex_init(&s->tool_locks[i], NULL);
    if (pthread_create(&s->engine, NULL, serve_engine_main, s)) {
        freeaddrinfo(ai);
        tf_errorf(err, TF_EINTERNAL, "cannot start the engine thread");
        tf_server_free(s);
        return NULL;
    }
    s->engine_started = 1;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    // idle or slow connections (a client sending its headers a byte a second) are closed after 30 s;
    // each has its own thread, so they delay no one else meanwhile
    s->daemon = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, serve_handler, s,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, serve_completed, s,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                                 MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        tf_errorf(err, TF_EIO, "cannot listen on %s port %d (in use, or not an address of this machine)", o->host, o->port);
        tf_server_free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    return s;
}

int tf_server_port(const tf_server *s) { return s->port; }

void tf_server_drain(tf_server *s) {
    if (!s || s->drained) return;
    pthread_mutex_lock(&s->mu);
    s->draining = 1;
    while (s->in_flight > 0) pthread_cond_wait(&s->idle_cv, &s->mu);
    s->stopping = 1;
    pthread_cond_signal(&s->engine_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->engine_started) pthread_join(s->engine, NULL);
    s->engine_started = 0;
    if (s->daemon) MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    s->drained = 1;
}

void tf_server_free(tf_server *s) {
    if (!s) return;
    if (!s->drained) {
        // also the path of a failed start: the engine may run, the daemon may not
        pthread_mutex_lock(&s->mu);
        s->draining = s->stopping = 1;
        pthread_cond_signal(&s->engine_cv);
        pthread_mutex_unlock(&s->mu);
        tf_server_drain(s);
    }
    for (int i = 0; i < s->tools->n; i++) pthread_mutex_destroy(&s->tool_locks[i]);
    free(s->tool_locks);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->engine_cv);
    pthread_cond_destroy(&s->idle_cv);
    metrics_free(s->met);
    free(s);
}
