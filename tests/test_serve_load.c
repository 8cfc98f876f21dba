// test_serve_load.c — `toolformer serve` with many clients and under faults: the official `openai`
// npm client (tests/serve/*.mjs, installed by .ci/setup-extra), 32 concurrent streaming clients whose
// every response equals `toolformer generate`'s, a client that disconnects mid-stream, a client that
// sends its headers a byte a second, a hanging external tool, SIGTERM during load.
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "serve_util.h"

#define MODEL "models/default"

static const char *PROMPTS[] = {
    "The farm had 12 cows and bought 30 more, for a total of",
    "In the beginning",
    "The capital of France is",
    "Anna paid 45 dollars for 3 books, so each book cost",
    "Once upon a time there was",
    "The river flows",
    "On Monday, January 30, 2023,",
    "He said that the",
};
#define N_PROMPTS (int)(sizeof PROMPTS / sizeof PROMPTS[0])

// Writes [{prompt, max_tokens, text}] with `generate`'s greedy text for each prompt into path.
static void write_cases(const char *path, int max_tokens, const char *gen_flags) {
    cJSON *arr = cJSON_CreateArray();
    static char out[1 << 16];
    for (int i = 0; i < N_PROMPTS; i++) {
        cr_assert_eq(cli_run(out, sizeof out,
                             "generate --model " MODEL " --prompt '%s' --tools calculator --max-new %d --stop-at-eos --json %s",
                             PROMPTS[i], max_tokens, gen_flags),
                     0, "%s", cli_run_stderr);
        cJSON *g = cJSON_Parse(out), *c = cJSON_CreateObject();
        cr_assert_not_null(g, "%s", out);
        cJSON_AddStringToObject(c, "prompt", PROMPTS[i]);
        cJSON_AddNumberToObject(c, "max_tokens", max_tokens);
        cJSON_AddStringToObject(c, "text", cJSON_GetObjectItem(g, "text")->valuestring);
        cJSON_AddItemToArray(arr, c);
        cJSON_Delete(g);
    }
    char *txt = cJSON_Print(arr);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(txt, f);
    fclose(f);
    free(txt);
    cJSON_Delete(arr);
}

static int have_openai(void) {
    return system("node -e \"require.resolve('openai')\" >/dev/null 2>&1") == 0;
}

Test(serve_load, the_openai_client_gets_the_cli_text_plain_and_streamed, .timeout = 240) {
    cr_assert(have_openai(), "the npm package openai is missing (run .ci/setup-extra)");
    char cases[64];
    snprintf(cases, sizeof cases, "/tmp/tf_serve_cases_%d.json", (int)getpid());
    write_cases(cases, 20, "");
    test_server s;
    server_start(&s, "--model " MODEL " --tools calculator");
    char cmd[256], out[4096];
    snprintf(cmd, sizeof cmd, "node tests/serve/openai_check.mjs %d %s 2>&1", s.port, cases);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    cr_assert_eq(st, 0, "%s", out);
    cr_assert_not_null(strstr(out, "ok 8"), "%s", out);
    cr_assert_eq(server_stop(&s), 0);
    unlink(cases);
}

// 32 streaming clients x 8 requests against 16 slots, in bf16 (row-invariant batched products): every
// response complete and equal to the one-client result, which equals `generate --dtype bf16`'s.
Test(serve_load, thirty_two_streaming_clients_get_the_one_client_results, .timeout = 300) {
    cr_assert(have_openai(), "the npm package openai is missing (run .ci/setup-extra)");
    char cases[64];
    snprintf(cases, sizeof cases, "/tmp/tf_serve_cases_%d.json", (int)getpid());
    write_cases(cases, 16, "--dtype bf16");
    test_server s;
    server_start(&s, "--model " MODEL " --tools calculator --dtype bf16 --max-batch 16 --queue 64");
    char cmd[256], out[8192];
    snprintf(cmd, sizeof cmd, "node tests/serve/load.mjs %d 32 8 16 %s 2>&1", s.port, cases);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    cr_assert_eq(st, 0, "%s", out);
    cr_assert_not_null(strstr(out, "\"complete\":256,"), "%s", out);
    cr_assert_not_null(strstr(out, "\"mismatch\":0,"), "%s", out);
    // the batch really held several requests at once
    char *r;
    cr_assert_eq(http_request(s.port, "GET", "/metrics", "", NULL, 0, &r), 200);
    const char *b = strstr(r, "toolformer_batch_size_bucket{le=\"8\"} ");
    const char *all = strstr(r, "toolformer_batch_size_count ");
    cr_assert(b && all, "%s", r);
    cr_assert_lt(atol(b + strlen("toolformer_batch_size_bucket{le=\"8\"} ")), atol(all + strlen("toolformer_batch_size_count ")),
                 "no decode step had more than 8 rows: %s", r);
    free(r);
    cr_assert_eq(server_stop(&s), 0);
    unlink(cases);
}

// The response of a POST whose body is sent now, read from fd later.
static int post_nowait(int port, const char *body) {
    int fd = connect_to(port);
    char req[1024];
    snprintf(req, sizeof req, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    send_all(fd, req, strlen(req));
    return fd;
}

// The value of a /metrics line beginning with name, or -1 when there is none.
static long metric(int port, const char *name) {
    char *r;
    cr_assert_eq(http_request(port, "GET", "/metrics", "", NULL, 0, &r), 200);
    char line[256];
    snprintf(line, sizeof line, "\n%s", name);  // at a line's start (not in its # HELP)
    const char *p = strstr(r, line);
    long v = p ? atol(p + strlen(line)) : -1;  // -1: not counted yet
    free(r);
    return v;
}

Test(serve_load, a_client_that_leaves_mid_stream_frees_its_slot, .timeout = 120) {
    test_server s;
    server_start(&s, "--model " MODEL " --max-batch 1 --queue 4");
    int fd = post_nowait(s.port, "{\"prompt\": \"x\", \"max_tokens\": 250, \"stream\": true}");
    char buf[512];
    cr_assert_gt(recv(fd, buf, sizeof buf, 0), 0, "no first bytes");
    close(fd);  // mid-stream
    // the only slot comes free: the next request is served
    char *r;
    cr_assert_eq(http_request(s.port, "POST", "/v1/completions", "", "{\"prompt\": \"y\", \"max_tokens\": 3}", 32, &r), 200);
    free(r);
    // the engine releases a finished request's slot at its next round, just after the response
    long active = -1;
    for (int i = 0; i < 50 && (active = metric(s.port, "toolformer_active_requests ")) != 0; i++) usleep(100000);
    cr_assert_eq(active, 0);
    cr_assert_eq(server_stop(&s), 0);
}

// A client sending its request a byte a second holds only its own connection.
typedef struct {
    int port, stop;
    long sent;
} slow_args;

static void *slow_client(void *arg) {
    slow_args *a = arg;
    int fd = connect_to(a->port);
    const char *req = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    for (size_t i = 0; req[i] && !__atomic_load_n(&a->stop, __ATOMIC_SEQ_CST); i++) {
        send_all(fd, req + i, 1);
        __atomic_add_fetch(&a->sent, 1, __ATOMIC_SEQ_CST);
        sleep(1);
    }
    close(fd);
    return NULL;
}

Test(serve_load, a_slow_header_client_delays_no_one, .timeout = 120) {
    test_server s;
    server_start(&s, "--model " MODEL " --max-batch 2");
    slow_args a = {s.port, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, slow_client, &a);
    usleep(1500000);
    // while it dribbles, several complete requests are answered
    for (int i = 0; i < 5; i++) {
        char *r;
        cr_assert_eq(http_request(s.port, "POST", "/v1/completions", "", "{\"prompt\": \"y\", \"max_tokens\": 8}", 32, &r), 200);
        free(r);
    }
    long sent = __atomic_load_n(&a.sent, __ATOMIC_SEQ_CST);
    cr_assert_lt(sent, 20, "the slow client had sent %ld bytes: it was not still in its headers", sent);
    __atomic_store_n(&a.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    cr_assert_eq(server_stop(&s), 0);
}

// An external tool named Calculator that never answers "12 + 30" (and answers others): the request
// that calls it waits for the tool's time limit, the others finish meanwhile.
Test(serve_load, a_hanging_tool_delays_only_its_own_request, .timeout = 180) {
    const char *dir = call_model();
    char tool[64];
    snprintf(tool, sizeof tool, "/tmp/tf_serve_hang_%d.sh", (int)getpid());
    FILE *f = fopen(tool, "w");
    cr_assert_not_null(f);
    fprintf(f, "#!/bin/sh\nwhile read -r line; do case \"$line\" in *'12 + 30'*) sleep 1000;; *) echo '{\"result\": \"1\"}';; esac; done\n");
    fclose(f);
    chmod(tool, 0755);
    test_server s;
    char args[512];
    snprintf(args, sizeof args, "--model %s --tool Calculator=%s --tool-timeout 4000 --api-top-k 1 --max-batch 4", dir, tool);
    server_start(&s, args);
    double t0 = tf_time_s();
    int fd = post_nowait(s.port, "{\"prompt\": \"" CALC_PROMPT "\", \"max_tokens\": 30}");
    usleep(300000);
    // others, meanwhile: a plain completion with tools disabled, several times
    for (int i = 0; i < 4; i++) {
        char *r;
        const char *b = "{\"prompt\": \"The shop\", \"max_tokens\": 12, \"disable_tools\": true}";
        cr_assert_eq(http_request(s.port, "POST", "/v1/completions", "", b, strlen(b), &r), 200);
        free(r);
    }
    double others = tf_time_s() - t0;
    char *r = recv_all(fd);
    double hung = tf_time_s() - t0;
    close(fd);
    cr_assert_not_null(strstr(r, "200 OK"), "%s", r);
    cr_assert_not_null(strstr(r, "\"tool\":\"Calculator\",\"input\":\"12 + 30\",\"result\":null"), "%s", r);
    cr_assert_lt(others, 3.5, "the other requests took %.2f s: they waited for the hanging tool", others);
    cr_assert_geq(hung, 3.9, "the hanging call returned after %.2f s, before its 4 s limit", hung);
    free(r);
    cr_assert_eq(metric(s.port, "toolformer_tool_calls_total{tool=\"Calculator\",outcome=\"no_result\"} "), 1);
    cr_assert_eq(server_stop(&s), 0);
    unlink(tool);
}

// SIGTERM while 16 clients stream: every accepted request completes (none is cut), later ones are
// refused, and the server exits 0.
Test(serve_load, sigterm_during_load_loses_no_accepted_response, .timeout = 240) {
    cr_assert(have_openai(), "the npm package openai is missing (run .ci/setup-extra)");
    char cases[64], outp[64];
    snprintf(cases, sizeof cases, "/tmp/tf_serve_cases_%d.json", (int)getpid());
    snprintf(outp, sizeof outp, "/tmp/tf_serve_load_%d.out", (int)getpid());
    write_cases(cases, 16, "--dtype bf16");
    test_server s;
    server_start(&s, "--model " MODEL " --tools calculator --dtype bf16 --max-batch 8");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node tests/serve/load.mjs %d 16 40 16 %s tolerant >%s 2>&1", s.port, cases, outp);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    // let some requests complete, then stop the server under load
    for (int i = 0; i < 600 && metric(s.port, "toolformer_completion_tokens_total ") < 100; i++) usleep(100000);
    cr_assert_eq(server_stop(&s), 0, "the server did not exit cleanly after SIGTERM");
    int st;
    waitpid(pid, &st, 0);
    tf_error err;
    char *out = tf_read_file(outp, NULL, &err);
    cr_assert_not_null(out);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "load: %s", out);
    cr_assert_not_null(strstr(out, "\"incomplete\":0,"), "%s", out);
    cr_assert_not_null(strstr(out, "\"mismatch\":0,"), "%s", out);
    cJSON *j = cJSON_Parse(out);
    cr_assert_not_null(j, "%s", out);
    cr_assert_gt(cJSON_GetObjectItem(j, "complete")->valueint, 0, "%s", out);
    cr_assert_gt(cJSON_GetObjectItem(j, "refused")->valueint, 0, "%s", out);
    cJSON_Delete(j);
    free(out);
    unlink(outp);
    unlink(cases);
}

// The playground in headless Chromium (tests/browser/check_playground.js): the prompt in the page makes
// the memorised model call the Calculator; the chip shows it; screenshot build/serve-playground.png.
Test(serve_load, the_playground_shows_the_call_as_a_chip, .timeout = 180) {
    cr_assert(system("command -v chromium >/dev/null && test -d node_modules/puppeteer-core") == 0,
              "chromium or the npm package puppeteer-core is missing (scripts/setup.sh installs them)");
    const char *dir = call_model();
    test_server s;
    char args[256], cmd[512], out[8192];
    snprintf(args, sizeof args, "--model %s --tools calculator", dir);
    server_start(&s, args);
    snprintf(cmd, sizeof cmd, "node tests/browser/check_playground.js http://127.0.0.1:%d/ build/serve-playground.png 2>&1",
             s.port);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    cr_assert_eq(pclose(p), 0, "%s", out);
    cr_assert_not_null(strstr(out, "ok"), "%s", out);
    cr_assert_eq(server_stop(&s), 0);
}
