// tf_serve.h — tool-augmented generation as an HTTP service (`toolformer serve`): OpenAI's
// completions API over libmicrohttpd, with continuous batching.
//
// One engine thread owns the model. It decodes every active request as one batch (each request has
// its own sequence of one shared KV cache; requests join and leave at token boundaries). A request
// whose call reached "->" leaves the batch while its tool runs on a thread of its own, and rejoins
// when the result has been fed, so a slow tool stalls only its own request. The decoding of each
// request is Toolformer's (tf_infer.h): with temperature 0 its text and calls equal
// tf_generate_with_tools' for the same prompt and options, whatever else is in the batch (the
// products are row-invariant in bf16; in fp32 oneDNN's products depend on the row count, so the
// engine decodes fp32 rows one per product).
//
// Typical use (src/cli/cmd_serve.c):
//     tf_serve_options o;
//     tf_serve_defaults(&o);
//     tf_server *s = tf_server_start(model, tok, &tools, &o, &err);
//     ... wait for SIGTERM ...
//     tf_server_drain(s);   // 503 for new requests, finishes what runs, stops listening
//     tf_server_free(s);
#ifndef TF_SERVE_H
#define TF_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "tf_model.h"
#include "tf_tokenizer.h"
#include "tf_tools.h"

typedef struct {
    const char *host;        // address to bind (default "127.0.0.1")
    int port;                // default 8080; 0 picks a free port (tf_server_port tells which)
    const char *api_key;     // NULL: no key; required when host is not a loopback address
    int max_batch;           // requests decoded at once = KV cache slots (default 8)
    int queue;               // requests waiting for a slot before 429 (default 64)
    int ctx;                 // tokens per slot, prompt included (default and most: the model's context)
    size_t max_body;         // request body limit in bytes (default 1 MiB; larger: 413)
    const char *model_name;  // the id /v1/models reports (default "toolformer")
    int api_top_k;           // default for requests: start a call when " [" is in the top k (10)
    int max_calls;           // default for requests: calls per completion (1)
    const char *date;        // the Calendar's date for requests that give none (NULL: the clock)
} tf_serve_options;
void tf_serve_defaults(tf_serve_options *o);

typedef struct tf_server tf_server;
// Starts listening and the engine thread. The model, tokenizer and tools must outlive the server;
// the model is used only by the engine thread from now on. NULL with err set (a bad option, a port in
// use, a non-loopback host without api_key).
tf_server *tf_server_start(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, const tf_serve_options *o,
                           tf_error *err);
int tf_server_port(const tf_server *s);
// Stops taking completions (503 from now on), waits until every accepted request has finished and
// its response has been handed over, then stops listening. Idempotent.
void tf_server_drain(tf_server *s);
void tf_server_free(tf_server *s);  // drains first if needed

// ---- the request body of POST /v1/completions (exposed for the fuzzer and tests) ----------------
#define TF_SERVE_MAX_STOP 4
#define TF_SERVE_MAX_TOOLS 32
typedef struct {
    char *prompt;               // "prompt": a string, or an array of exactly one string
    int max_tokens;             // default 16 (OpenAI's)
    double temperature;         // default 0: greedy, as Toolformer decodes (OpenAI's default is 1)
    double top_p;               // default 1
    int top_k;                  // default 0 (off)
    uint64_t seed;              // default 1
    char *stop[TF_SERVE_MAX_STOP];  // "stop": a string or up to 4 strings; generation ends before one
    int n_stop;
    int stream;                 // server-sent events
    int include_usage;          // "stream_options": {"include_usage": true}
    char *tools[TF_SERVE_MAX_TOOLS];  // "tools": names; tools_given 0 means all of the server's
    int n_tools, tools_given;
    int disable_tools;          // p(" [") = 0 (Toolformer disabled)
    int api_top_k, max_calls;   // -1: the server's default
    char *date;                 // "date": the document's date for the Calendar (YYYY-MM-DD)
} tf_serve_request;
// Parses and checks a request body (len bytes, not NUL-terminated). TF_OK, or TF_EBADARG with msg
// naming the parameter ("max_tokens must be an integer in 0..1048576"). r is always freeable.
int tf_serve_request_parse(const char *body, size_t len, tf_serve_request *r, tf_error *err);
void tf_serve_request_free(tf_serve_request *r);

#endif
