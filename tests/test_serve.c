// test_serve.c — `toolformer serve` (docs/serve.md) on loopback, ephemeral ports: the request parser,
// greedy completions equal to `toolformer generate` (curl, plain and streamed), tool calls in the
// response, and the error statuses.
#include <cjson/cJSON.h>

#include "serve_util.h"
#include "tf_serve.h"

#define MODEL "models/default"

// ---- the request parser -------------------------------------------------------------------------

static int parse(const char *body, tf_serve_request *r, tf_error *err) {
    return tf_serve_request_parse(body, strlen(body), r, err);
}

Test(serve_request, reads_openai_parameters) {
    tf_serve_request r;
    tf_error err = {0};
    cr_assert_eq(parse("{\"prompt\": [\"Hi\"], \"max_tokens\": 5, \"temperature\": 0.5, \"top_p\": 0.9, \"top_k\": 7,"
                       " \"seed\": 42, \"stop\": [\"\\n\", \".\"], \"stream\": true, \"tools\": [\"calculator\"],"
                       " \"disable_tools\": true, \"model\": \"x\", \"stream_options\": {\"include_usage\": true}} ",
                       &r, &err),
                 TF_OK, "%s", err.msg);
    cr_assert_str_eq(r.prompt, "Hi");
    cr_assert_eq(r.max_tokens, 5);
    cr_assert_float_eq(r.temperature, 0.5, 1e-12);
    cr_assert_float_eq(r.top_p, 0.9, 1e-12);
    cr_assert_eq(r.top_k, 7);
    cr_assert_eq(r.seed, 42);
    cr_assert_eq(r.n_stop, 2);
    cr_assert_str_eq(r.stop[0], "\n");
    cr_assert(r.stream && r.disable_tools && r.include_usage && r.tools_given);
    cr_assert_eq(r.n_tools, 1);
    cr_assert_str_eq(r.tools[0], "calculator");
    tf_serve_request_free(&r);
    // defaults: greedy, 16 tokens, the server's tools
    cr_assert_eq(parse("{\"prompt\": \"x\", \"stop\": \"END\"}", &r, &err), TF_OK);
    cr_assert_eq(r.max_tokens, 16);
    cr_assert_eq(r.temperature, 0.0);
    cr_assert(!r.tools_given && !r.stream);
    cr_assert_eq(r.n_stop, 1);
    tf_serve_request_free(&r);
}

Test(serve_request, names_the_bad_parameter) {
    static const struct { const char *body, *want; } cases[] = {
        {"", "not valid JSON"},
        {"{\"prompt\": \"x\"", "not valid JSON"},
        {"{\"prompt\": \"x\"} {}", "text after the value"},
        {"[1]", "must be a JSON object"},
        {"{}", "prompt is required"},
        {"{\"prompt\": 3}", "prompt must be a string"},
        {"{\"prompt\": [\"a\", \"b\"]}", "array of one string"},
        {"{\"prompt\": \"x\", \"max_tokens\": -1}", "max_tokens must be an integer"},
        {"{\"prompt\": \"x\", \"max_tokens\": 1.5}", "max_tokens must be an integer"},
        {"{\"prompt\": \"x\", \"temperature\": \"hot\"}", "temperature must be a number"},
        {"{\"prompt\": \"x\", \"top_p\": 0}", "top_p must be"},
        {"{\"prompt\": \"x\", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", "at most 4 strings"},
        {"{\"prompt\": \"x\", \"stop\": \"\"}", "must not be empty"},
        {"{\"prompt\": \"x\", \"stream\": 1}", "stream must be true or false"},
        {"{\"prompt\": \"x\", \"tools\": \"calculator\"}", "tools must be an array"},
        {"{\"prompt\": \"x\", \"n\": 2}", "n must be an integer in 1..1"},
        {"{\"prompt\": \"x\", \"echo\": true}", "echo is not supported"},
        {"{\"prompt\": \"x\", \"date\": \"tomorrow\"}", "date must be YYYY-MM-DD"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tf_serve_request r;
        tf_error err = {0};
        cr_assert_eq(parse(cases[i].body, &r, &err), TF_EBADARG, "accepted: %s", cases[i].body);
        cr_assert_not_null(strstr(err.msg, cases[i].want), "%s: message '%s' lacks '%s'", cases[i].body, err.msg,
                           cases[i].want);
        tf_serve_request_free(&r);
    }
}

// ---- helpers ----------------------------------------------------------------------------------------

// `toolformer generate ... --json` for the same prompt and options: the "text" and the calls' JSON.
static cJSON *cli_generate(const char *model, const char *prompt, int max_new, const char *extra) {
    static char out[1 << 16];
    char args[2048];
    snprintf(args, sizeof args, "generate --model %s --prompt '%s' --tools calculator --max-new %d --stop-at-eos --json %s",
             model, prompt, max_new, extra);
    cr_assert_eq(cli_run(out, sizeof out, "%s", args), 0, "generate failed: %s", cli_run_stderr);
    cJSON *j = cJSON_Parse(out);
    cr_assert_not_null(j, "generate printed no JSON: %s", out);
    return j;
}

static const char *str_at(const cJSON *o, const char *path0, const char *path1) {
    const cJSON *v = cJSON_GetObjectItem(o, path0);
    if (path1) v = cJSON_GetObjectItem(v, path1);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

// POST /v1/completions through curl; stream: reassembles the events' text (and checks [DONE]).
static char *curl_completion(int port, const char *body, int stream, cJSON **response) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "curl -sS -N --max-time 60 -H 'Content-Type: application/json' -d '%s' http://127.0.0.1:%d/v1/completions",
             body, port);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char *out = recv_all(fileno(p));
    cr_assert_eq(pclose(p), 0, "curl failed: %s", cmd);
    if (!stream) {
        cJSON *j = cJSON_Parse(out);
        cr_assert_not_null(j, "not JSON: %s", out);
        const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
        char *text = strdup(str_at(choice, "text", NULL));
        free(out);
        if (response) *response = j;
        else cJSON_Delete(j);
        return text;
    }
    size_t cap = strlen(out) + 1;
    char *text = calloc(1, cap);
    int done = 0, finished = 0;
    for (char *ev = strstr(out, "data: "); ev; ev = strstr(ev + 1, "\n\ndata: ")) {
        if (ev != out) ev += 2;
        char *end = strstr(ev, "\n\n");
        cr_assert_not_null(end, "an event without its blank line: %s", ev);
        *end = '\0';
        if (!strcmp(ev + 6, "[DONE]")) {
            done = 1;
            *end = '\n';
            break;
        }
        cr_assert_not(done, "an event after [DONE]");
        cJSON *j = cJSON_Parse(ev + 6);
        cr_assert_not_null(j, "event is not JSON: %s", ev);
        const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
        strcat(text, str_at(choice, "text", NULL));
        finished |= str_at(choice, "finish_reason", NULL) != NULL;
        cJSON_Delete(j);
        *end = '\n';
    }
    cr_assert(done && finished, "the stream lacks its finish_reason or data: [DONE]: %s", out);
    free(out);
    return text;
}

static const char *PROMPTS[] = {
    "The farm had 12 cows and bought 30 more, for a total of",
    "In the beginning",
    "The capital of France is",
    "Anna paid 45 dollars for 3 books, so each book cost",
};

// ---- the server -------------------------------------------------------------------------------------

Test(serve, greedy_completions_equal_the_cli_plain_and_streamed, .timeout = 240) {
    test_server s;
    server_start(&s, "--model " MODEL " --tools calculator --max-batch 4");
    for (size_t i = 0; i < sizeof PROMPTS / sizeof PROMPTS[0]; i++) {
        cJSON *want = cli_generate(MODEL, PROMPTS[i], 24, "");
        char body[1024];
        snprintf(body, sizeof body, "{\"prompt\": \"%s\", \"max_tokens\": 24}", PROMPTS[i]);
        cJSON *resp;
        char *text = curl_completion(s.port, body, 0, &resp);
        cr_assert_str_eq(text, str_at(want, "text", NULL), "prompt '%s'", PROMPTS[i]);
        const cJSON *usage = cJSON_GetObjectItem(resp, "usage");
        // the generated ids (where no call closed by "]" is kept as text: those count their own tokens)
        if (!strchr(str_at(want, "text", NULL), '['))
            cr_assert_eq(cJSON_GetObjectItem(usage, "completion_tokens")->valueint,
                         cJSON_GetArraySize(cJSON_GetObjectItem(want, "ids")), "usage counts the generated ids");
        cr_assert_gt(cJSON_GetObjectItem(usage, "completion_tokens")->valueint, 0);
        cr_assert_gt(cJSON_GetObjectItem(usage, "prompt_tokens")->valueint, 0);
        free(text);
        snprintf(body, sizeof body, "{\"prompt\": \"%s\", \"max_tokens\": 24, \"stream\": true}", PROMPTS[i]);
        text = curl_completion(s.port, body, 1, NULL);
        cr_assert_str_eq(text, str_at(want, "text", NULL), "streamed, prompt '%s'", PROMPTS[i]);
        free(text);
        cJSON_Delete(resp);
        cJSON_Delete(want);
    }
    cr_assert_eq(server_stop(&s), 0);
}

Test(serve, a_call_runs_its_tool_and_is_reported, .timeout = 240) {
    const char *dir = call_model();
    test_server s;
    char args[256];
    snprintf(args, sizeof args, "--model %s --tools calculator --api-top-k 1", dir);
    server_start(&s, args);
    cJSON *want = cli_generate(dir, CALC_PROMPT, 30, "--api-top-k 1");
    cJSON *resp;
    char *text = curl_completion(s.port, "{\"prompt\": \"" CALC_PROMPT "\", \"max_tokens\": 30}", 0, &resp);
    cr_assert_str_eq(text, str_at(want, "text", NULL));
    cr_assert(strncmp(text, " [Calculator(12 + 30) -> 42]", 28) == 0, "generated: %s", text);
    const cJSON *calls = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "choices"), 0), "tool_calls");
    cr_assert_eq(cJSON_GetArraySize(calls), 1);
    const cJSON *c = cJSON_GetArrayItem(calls, 0);
    cr_assert_str_eq(str_at(c, "tool", NULL), "Calculator");
    cr_assert_str_eq(str_at(c, "input", NULL), "12 + 30");
    cr_assert_str_eq(str_at(c, "result", NULL), "42");
    cr_assert_eq(cJSON_GetObjectItem(c, "start")->valueint, 0);
    cr_assert_eq(cJSON_GetObjectItem(c, "end")->valueint, 28);
    cr_assert_geq(cJSON_GetObjectItem(c, "ms")->valuedouble, 0);
    free(text);
    cJSON_Delete(resp);
    // the stream carries the call in a chunk of its own, with its tool_calls entry
    char *raw;
    const char *sb = "{\"prompt\": \"" CALC_PROMPT "\", \"max_tokens\": 30, \"stream\": true}";
    cr_assert_eq(http_request(s.port, "POST", "/v1/completions", "", sb, strlen(sb), &raw), 200);
    cr_assert_not_null(strstr(raw, "\"text\":\" [Calculator(12 + 30) -> 42]\""), "%s", raw);
    cr_assert_not_null(strstr(raw, "\"tool_calls\":[{\"tool\":\"Calculator\",\"input\":\"12 + 30\",\"result\":\"42\""), "%s", raw);
    free(raw);
    // disabled: no call
    text = curl_completion(s.port, "{\"prompt\": \"" CALC_PROMPT "\", \"max_tokens\": 30, \"disable_tools\": true}", 0, NULL);
    cr_assert_null(strstr(text, "[Calculator"), "%s", text);
    free(text);
    // /metrics counts the calls by tool and outcome
    cr_assert_eq(http_request(s.port, "GET", "/metrics", "", NULL, 0, &raw), 200);
    cr_assert_not_null(strstr(raw, "toolformer_tool_calls_total{tool=\"Calculator\",outcome=\"ok\"} 2"), "%s", raw);
    cr_assert_not_null(strstr(raw, "toolformer_requests_total{status=\"200\"}"), "%s", raw);
    cr_assert_not_null(strstr(raw, "toolformer_time_to_first_token_seconds_bucket{le=\"+Inf\"} 3"), "%s", raw);
    free(raw);
    cJSON_Delete(want);
    // a max_tokens that runs out inside the call: the server, as the CLI, keeps what was written of it
    for (int n = 2; n <= 6; n += 2) {
        cJSON *w = cli_generate(dir, CALC_PROMPT, n, "--api-top-k 1");
        char body[512];
        snprintf(body, sizeof body, "{\"prompt\": \"" CALC_PROMPT "\", \"max_tokens\": %d}", n);
        cJSON *r;
        char *t = curl_completion(s.port, body, 0, &r);
        cr_assert_str_eq(t, str_at(w, "text", NULL), "max_tokens %d", n);
        cr_assert(strncmp(t, " [Calculator(", strlen(t) < 13 ? strlen(t) : 13) == 0 && strlen(t) >= 2 && !strchr(t, ']'),
                  "max_tokens %d: '%s'", n, t);
        const cJSON *usage = cJSON_GetObjectItem(r, "usage");
        cr_assert_eq(cJSON_GetObjectItem(usage, "completion_tokens")->valueint, n, "max_tokens %d", n);
        free(t);
        cJSON_Delete(r);
        cJSON_Delete(w);
    }
    cr_assert_eq(server_stop(&s), 0);
}

Test(serve, answers_errors_in_openai_shape, .timeout = 120) {
    test_server s;
    server_start(&s, "--model " MODEL " --tools calculator --max-body 4096");
    char *r;
    cr_assert_eq(http_request(s.port, "POST", "/v1/completions", "", "{\"prompt\": ", 11, &r), 400);
    cr_assert_not_null(strstr(body_of(r), "{\"error\":{\"message\":\"the body is not valid JSON"), "%s", r);
    cr_assert_not_null(strstr(r, "\"type\":\"invalid_request_error\""), "%s", r);
    free(r);
    cr_assert_eq(http_request(s.port, "POST", "/v1/completions", "", "{\"prompt\": \"x\", \"tools\": [\"Oracle\"]}", 36, &r), 400);
    cr_assert_not_null(strstr(r, "'Oracle' is not a tool of this server"), "%s", r);
    free(r);
    cr_assert_eq(http_request(s.port, "GET", "/v2/nothing", "", NULL, 0, &r), 404);
    cr_assert_not_null(strstr(r, "\"code\":\"not_found\""), "%s", r);
    free(r);
    cr_assert_eq(http_request(s.port, "GET", "/v1/completions", "", NULL, 0, &r), 405);
    free(r);
    // a body over the limit: 413, whether its length is announced or not
    size_t big = 10 << 20;
    char *body = malloc(big);
    memset(body, ' ', big);
    body[0] = '{';
    cr_assert_eq(http_request(s.port, "POST", "/v1/completions", "", body, big, &r), 413);
    cr_assert_not_null(strstr(r, "over the limit of 4096 bytes"), "%s", r);
    free(r);
    free(body);
    cr_assert_eq(http_request(s.port, "GET", "/v1/models", "", NULL, 0, &r), 200);
    cr_assert_not_null(strstr(r, "\"id\":\"default\""), "%s", r);
    free(r);
    cr_assert_eq(server_stop(&s), 0);
}

Test(serve, the_api_key_guards_every_route_but_the_page, .timeout = 120) {
    char out[4096];
    // any address but loopback needs a key
    cr_assert_eq(cli_run(out, sizeof out, "serve --model " MODEL " --host 0.0.0.0 --port 0"), 2);
    cr_assert_not_null(strstr(cli_run_stderr, "needs --api-key"), "%s", cli_run_stderr);
    test_server s;
    server_start(&s, "--model " MODEL " --api-key s3cret");
    char *r;
    cr_assert_eq(http_request(s.port, "GET", "/health", "", NULL, 0, &r), 401);
    cr_assert_not_null(strstr(r, "\"code\":\"invalid_api_key\""), "%s", r);
    free(r);
    cr_assert_eq(http_request(s.port, "POST", "/v1/completions", "Authorization: Bearer s3cre\r\n", "{\"prompt\": \"x\"}", 15, &r), 401);
    free(r);
    cr_assert_eq(http_request(s.port, "POST", "/v1/completions", "Authorization: Bearer s3cret\r\n",
                              "{\"prompt\": \"x\", \"max_tokens\": 2}", 32, &r), 200);
    free(r);
    cr_assert_eq(http_request(s.port, "GET", "/", "", NULL, 0, &r), 200);
    cr_assert_not_null(strstr(r, "<title>toolformer serve</title>"));
    cr_assert_null(strstr(r, "http://"), "the page fetches nothing from elsewhere");
    cr_assert_null(strstr(r, "https://"), "the page fetches nothing from elsewhere");
    free(r);
    cr_assert_eq(server_stop(&s), 0);
}

// A full queue answers 429 with Retry-After; draining answers 503.
Test(serve, a_full_queue_answers_429, .timeout = 120) {
    test_server s;
    server_start(&s, "--model " MODEL " --max-batch 1 --queue 0");
    // the one slot is busy with a long streamed request, read slowly
    int fd = connect_to(s.port);
    const char *b = "{\"prompt\": \"x\", \"max_tokens\": 200, \"stream\": true}";
    char req[512];
    snprintf(req, sizeof req, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s", strlen(b), b);
    send_all(fd, req, strlen(req));
    char buf[256];
    cr_assert_gt(recv(fd, buf, sizeof buf, 0), 0);
    char *r;
    int st = http_request(s.port, "POST", "/v1/completions", "", "{\"prompt\": \"x\"}", 15, &r);
    cr_assert_eq(st, 429, "%s", r);
    cr_assert_not_null(strstr(r, "Retry-After: 1"), "%s", r);
    cr_assert_not_null(strstr(r, "\"type\":\"rate_limit_error\""), "%s", r);
    free(r);
    close(fd);
    cr_assert_eq(server_stop(&s), 0);
}

// "stop": the completion is generate's text cut before the first stop string (which may span
// tokens), plain and streamed, with finish_reason "stop".
Test(serve, stop_strings_cut_the_completion_before_them, .timeout = 120) {
    test_server s;
    server_start(&s, "--model " MODEL " --tools calculator");
    cJSON *want = cli_generate(MODEL, "In the beginning", 24, "");
    const char *full = str_at(want, "text", NULL);
    const char *stops[] = {"Larry Wall", "zzz"};
    const char *hit = strstr(full, stops[0]);
    cr_assert_not_null(hit, "generate's text changed: '%s' (pick another stop string)", full);
    char *expect = strndup(full, (size_t)(hit - full));
    const char *body = "{\"prompt\": \"In the beginning\", \"max_tokens\": 24, \"stop\": [\"Larry Wall\", \"zzz\"]}";
    cJSON *resp;
    char *text = curl_completion(s.port, body, 0, &resp);
    cr_assert_str_eq(text, expect);
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "choices"), 0), "finish_reason", NULL), "stop");
    free(text);
    const char *sbody = "{\"prompt\": \"In the beginning\", \"max_tokens\": 24, \"stop\": [\"Larry Wall\", \"zzz\"], \"stream\": true}";
    text = curl_completion(s.port, sbody, 1, NULL);
    cr_assert_str_eq(text, expect, "streamed");
    free(text);
    free(expect);
    cJSON_Delete(resp);
    cJSON_Delete(want);
    cr_assert_eq(server_stop(&s), 0);
}
