// serve_http.h — what http.c shares with stream.c and server.c (libmicrohttpd types). Not public.
#ifndef TF_SERVE_HTTP_H
#define TF_SERVE_HTTP_H

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "serve_internal.h"

// The MHD access handler and request-completed callback (cls: the tf_server).
enum MHD_Result serve_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls);
void serve_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe);

// Queues the server-sent events response of j (stream.c).
enum MHD_Result serve_stream(tf_server *s, struct MHD_Connection *c, job *j);

// JSON pieces (http.c; s->mu held where they read a job)
cJSON *serve_error_json(const char *message, const char *type, const char *code);
cJSON *serve_frame(const tf_server *s, const job *j, cJSON **choice);
cJSON *serve_call_json(const job *j, int i);
cJSON *serve_usage_json(const job *j);
// The socket of c (-1 if unknown), and whether its client closed it (a peek reads end-of-file).
int serve_conn_fd(struct MHD_Connection *c);
int serve_client_gone(int fd);
// Waits on j->cv (s->mu held) for at most ms milliseconds.
void serve_wait(tf_server *s, job *j, int ms);

#endif
