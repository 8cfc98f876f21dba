// serve_util.h — `toolformer serve` under test: start it on an ephemeral loopback port, talk HTTP to
// it over raw sockets, stop it; and a tiny model that has memorised texts with tool calls.
#ifndef TF_TEST_SERVE_UTIL_H
#define TF_TEST_SERVE_UTIL_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_run.h"
#include "pipeline_util.h"

typedef struct {
    pid_t pid;
    int port;
    char err_path[64];
} test_server;

// Starts `TF_BIN serve --port 0 ARGS` (args split on spaces) and waits (at most 60 s) for it to listen.
static void server_start(test_server *s, const char *args) {
    snprintf(s->err_path, sizeof s->err_path, "/tmp/tf_serve_%d_%ld.err", (int)getpid(), (long)time(NULL));
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s serve --port 0 %s >/dev/null 2>%s", cli_bin(), args, s->err_path);
    s->pid = fork();
    cr_assert_geq(s->pid, 0);
    if (s->pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    s->port = 0;
    for (int i = 0; i < 600 && !s->port; i++) {
        usleep(100000);
        FILE *f = fopen(s->err_path, "r");
        char line[1024];
        while (f && fgets(line, sizeof line, f)) {
            const char *p = strstr(line, "listening on http://127.0.0.1:");
            if (p) s->port = atoi(p + strlen("listening on http://127.0.0.1:"));
        }
        if (f) fclose(f);
        int st;
        if (!s->port && waitpid(s->pid, &st, WNOHANG) == s->pid) cr_assert_fail("the server exited at start: %s", cmd);
    }
    cr_assert_gt(s->port, 0, "the server did not start listening in 60 s: %s", cmd);
}

// SIGTERM, then waits for the exit (at most 60 s); returns the exit status.
static int server_stop(test_server *s) {
    kill(s->pid, SIGTERM);
    int st = -1;
    for (int i = 0; i < 600; i++) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            unlink(s->err_path);
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        usleep(100000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    cr_assert_fail("the server did not stop within 60 s of SIGTERM");
    return -1;
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "cannot connect to port %d", port);
    struct timeval tv = {60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) return;  // the server may close early (413): the response is read anyway
        p += k;
        n -= (size_t)k;
    }
}

// Reads until the server closes (Connection: close) into a malloc'd string.
static char *recv_all(int fd) {
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (n + 4096 > cap) b = realloc(b, cap *= 2);
        ssize_t k = read(fd, b + n, cap - n - 1);
        if (k <= 0) break;
        n += (size_t)k;
    }
    b[n] = '\0';
    return b;
}

// One request (extra_headers: "Name: value\r\n" lines or ""); returns the status, *resp the whole
// response (headers and body; free it).
static int http_request(int port, const char *method, const char *path, const char *extra_headers, const char *body,
                        size_t body_len, char **resp) {
    int fd = connect_to(port);
    char head[1024];
    int hn = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%sContent-Length: %zu\r\n"
                      "Content-Type: application/json\r\n\r\n",
                      method, path, extra_headers, body ? body_len : 0);
    send_all(fd, head, (size_t)hn);
    if (body) send_all(fd, body, body_len);
    char *r = recv_all(fd);
    close(fd);
    int status = 0;
    sscanf(r, "HTTP/1.%*d %d", &status);
    if (resp) *resp = r;
    else free(r);
    return status;
}

static inline const char *body_of(const char *resp) {
    const char *p = strstr(resp, "\r\n\r\n");
    return p ? p + 4 : resp;
}

// A model directory (created once per test process) that has memorised CALC_DOC (pipeline_util.h), so
// greedy decoding makes the call: CALC_PROMPT -> " [Calculator(12 + 30) -> 99] 42 fruits." (the tool
// then inserts its own result 42).
static const char *call_model(void) {
    static char dir[64];
    if (dir[0]) return dir;
    snprintf(dir, sizeof dir, "/tmp/tf_serve_model_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    tf_tokenizer *tok;
    tf_model *m = memorised_lm(dir, CALC_DOC, &tok);
    tf_error err;
    cr_assert_eq(tf_model_save(m, dir, &err), TF_OK, "%s", err.msg);
    tf_tokenizer_free(tok);
    tf_model_free(m);
    return dir;
}

#endif
