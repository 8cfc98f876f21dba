// cmd_serve.c — `toolformer serve`: the model and tools behind an OpenAI-compatible HTTP API
// (src/serve/, docs/serve.md) until SIGTERM or SIGINT, which drain it.
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tf_serve.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: toolformer serve --model DIR --tools LIST [--index DB] [--host 127.0.0.1] [--port 8080]\n"
            "                        [--api-key KEY] [--max-batch N] [--queue N] [--ctx N] [--dtype fp32|bf16] [--mmap|--mmap-copy]\n\n"
            "Serves tool-augmented generation over HTTP (OpenAI's completions API, docs/serve.md):\n"
            "POST /v1/completions (stream: server-sent events), GET /v1/models, /health, /metrics, and a\n"
            "playground page at /. One engine decodes all running requests as one batch; a request whose\n"
            "tool runs waits outside the batch. SIGTERM (or Ctrl-C) stops taking requests, finishes the\n"
            "running ones and exits.\n"
            "  --host ADDR        address to listen on (default 127.0.0.1; any other needs --api-key)\n"
            "  --port N           port (default 8080; 0: a free one, printed at start)\n"
            "  --api-key KEY      every request must carry `Authorization: Bearer KEY` (the page at / loads\n"
            "                     without it; its requests send the key typed into it)\n"
            "  --max-batch N      requests decoded at once: KV cache slots (default 8)\n"
            "  --queue N          requests waiting for a slot before 429 (default 64)\n"
            "  --ctx N            tokens per slot, prompt included (default: the model's context)\n"
            "  --max-body BYTES   request body limit (default 1048576; larger: 413)\n"
            "  --api-top-k K      requests' default: a call starts when \" [\" is among the top K (10)\n"
            "  --max-calls N      requests' default: calls per completion (1)\n"
            "  --threads N        compute threads (default: the physical cores)\n"
            CLI_MODEL_HELP CLI_TOOL_HELP);
}

int cmd_serve(int argc, char **argv) {
    enum { O_HOST = 2001, O_PORT, O_KEY, O_BATCH, O_QUEUE, O_CTX, O_BODY, O_APIK, O_CALLS, O_THREADS };
    static const struct option opts[] = {
        {"model", 1, 0, 'm'},        {"host", 1, 0, O_HOST},         {"port", 1, 0, O_PORT},
        {"api-key", 1, 0, O_KEY},    {"max-batch", 1, 0, O_BATCH},   {"queue", 1, 0, O_QUEUE},
        {"ctx", 1, 0, O_CTX},        {"max-body", 1, 0, O_BODY},     {"api-top-k", 1, 0, O_APIK},
        {"max-calls", 1, 0, O_CALLS}, {"threads", 1, 0, O_THREADS}, {"help", 0, 0, 'h'},
        CLI_MODEL_OPTIONS,           CLI_TOOL_OPTIONS,               {0, 0, 0, 0}};
    const char *model_dir = NULL;
    cli_tools tools = {0};
    cli_model_opts mo = {TF_DTYPE_FP32, 0, NULL};
    tf_serve_options so;
    tf_serve_defaults(&so);
    long v, threads = 0;
    int c, h;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if ((h = cli_tools_option(&tools, c, optarg, "serve")) || (h = cli_model_option(&mo, c, optarg, "serve"))) {
            if (h < 0) return CLI_USAGE;
            continue;
        }
        switch (c) {
        case 'm': model_dir = optarg; break;
        case O_HOST: so.host = optarg; break;
        case O_PORT: if (cli_int(optarg, 0, 65535, &v)) return cli_usage_error("serve", "--port wants 0..65535"); so.port = (int)v; break;
        case O_KEY: if (!*optarg) return cli_usage_error("serve", "--api-key must not be empty"); so.api_key = optarg; break;
        case O_BATCH: if (cli_int(optarg, 1, 256, &v)) return cli_usage_error("serve", "--max-batch wants 1..256"); so.max_batch = (int)v; break;
        case O_QUEUE: if (cli_int(optarg, 0, 1 << 20, &v)) return cli_usage_error("serve", "--queue wants 0..1048576"); so.queue = (int)v; break;
        case O_CTX: if (cli_int(optarg, 1, 1 << 20, &v)) return cli_usage_error("serve", "--ctx wants a positive integer"); so.ctx = (int)v; break;
        case O_BODY: if (cli_int(optarg, 1, 1L << 30, &v)) return cli_usage_error("serve", "--max-body wants 1..1073741824"); so.max_body = (size_t)v; break;
        case O_APIK: if (cli_int(optarg, 0, 1 << 20, &v)) return cli_usage_error("serve", "--api-top-k wants an integer >= 0"); so.api_top_k = (int)v; break;
        case O_CALLS: if (cli_int(optarg, 0, 16, &v)) return cli_usage_error("serve", "--max-calls wants 0..16"); so.max_calls = (int)v; break;
        case O_THREADS: if (cli_int(optarg, 1, 1024, &threads)) return cli_usage_error("serve", "--threads wants 1..1024"); break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("serve", "unknown option (see toolformer serve --help)");
        }
    }
    if (optind < argc) return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    if (!model_dir) return cli_usage_error("serve", "--model is required");
    tf_set_threads((int)threads);
    // SIGTERM and SIGINT are taken by sigwait below: blocked before any thread starts, in all of them
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    tf_error err = {0};
    tf_toolset set = {0};
    tf_model *m = NULL;
    tf_server *srv = NULL;
    int rc = CLI_OK;
    char name[256];
    snprintf(name, sizeof name, "%s", model_dir);
    size_t nl = strlen(name);
    while (nl > 1 && name[nl - 1] == '/') name[--nl] = '\0';
    so.model_name = basename(name);
    const tf_tokenizer *tok = cli_tokenizer(model_dir, &err);
    if (!tok || cli_tools_build(&tools, &set, 0, &err) || !(m = cli_load_model(model_dir, &mo, &err)) ||
        !(srv = tf_server_start(m, tok, &set, &so, &err))) {
        rc = cli_fail(&err);
        goto done;
    }
    fprintf(stderr, "toolformer serve: listening on http://%s%s%s:%d (model %s, %d tool%s, %d slots of %d tokens, %s)\n",
            strchr(so.host, ':') ? "[" : "", so.host, strchr(so.host, ':') ? "]" : "", tf_server_port(srv),
            so.model_name, set.n, set.n == 1 ? "" : "s", so.max_batch,
            so.ctx > 0 && so.ctx < m->cfg.n_positions ? so.ctx : m->cfg.n_positions, tf_dtype_name(m->dtype));
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "toolformer serve: %s: finishing the running requests\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    tf_server_drain(srv);
    fprintf(stderr, "toolformer serve: stopped\n");
done:
    tf_server_free(srv);
    tf_toolset_free(&set);
    tf_model_free(m);
    return rc;
}
