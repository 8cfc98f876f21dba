// external.c — user tools as subprocesses: `--tool NAME=COMMAND ARG...` starts COMMAND once
// (posix_spawnp: PATH search like execvp, no shell) and speaks one JSON object per line over pipes:
//     request  {"tool": "NAME", "input": "TEXT"}\n      (to the program's stdin)
//     reply    {"result": "TEXT"}\n  or  {"error": "WHY"}\n   (from its stdout)
// Every call has a time limit (poll); a reply longer than the cap, a timeout or a protocol error
// kills the program (its whole process group) and it is started again on the next call; a program
// that dies is reaped and restarted the same way. Writes never raise SIGPIPE; nothing is left as a
// zombie; no call blocks past its deadline.
#include "tools_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { MAX_ARGS = 64, MIN_REPLY_CAP = 65536 };

typedef struct {
    char name[64];
    char *prompt;
    char *spec_copy;        // argv points into it
    char *argv[MAX_ARGS + 1];
    pid_t pid;              // 0 when not running
    int to_child, from_child;
    char *buf;              // bytes of the reply being read
    size_t len, cap;        // cap = the reply cap + 1
    int starts;             // how many times the program was started
    pthread_mutex_t lock;
} ext_state;

// ---- process control ---------------------------------------------------------------------------

// Moves fd above the standard descriptors (a pipe end must not land on 0/1/2 if they are closed).
static int raise_fd(int fd) {
    if (fd > 2) return fd;
    int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return nfd;
}

static void close_fds(ext_state *st) {
    if (st->to_child >= 0) close(st->to_child);
    if (st->from_child >= 0) close(st->from_child);
    st->to_child = st->from_child = -1;
}

// Describes how the program ended (after reaping it) into why[n].
static void describe_status(int status, char *why, size_t n) {
    if (WIFEXITED(status)) snprintf(why, n, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(why, n, "was killed by signal %d", WTERMSIG(status));
    else snprintf(why, n, "stopped");
}

// Ends the program: waits up to grace_ms for it to exit by itself (it has EOF on stdin when
// to_child is closed first), then kills its process group with SIGKILL and reaps it. why (may be
// NULL) gets how it ended.
static void stop_child(ext_state *st, int grace_ms, char *why, size_t n) {
    if (st->pid <= 0) return;
    close_fds(st);
    int status = 0;
    pid_t r = 0;
    double end = tf_time_s() + grace_ms / 1000.0;
    for (;;) {
        r = waitpid(st->pid, &status, WNOHANG);
        if (r != 0 || tf_time_s() >= end) break;
        struct timespec ts = {0, 2000000};  // 2 ms
        nanosleep(&ts, NULL);
    }
    if (r == 0) {
        kill(-st->pid, SIGKILL);
        kill(st->pid, SIGKILL);
        while ((r = waitpid(st->pid, &status, 0)) < 0 && errno == EINTR) {
        }
        if (why) snprintf(why, n, "was killed");
    } else if (why) {
        if (r > 0) describe_status(status, why, n);
        else snprintf(why, n, "ended");
    }
    st->pid = 0;
}

// Starts the program with pipes on its stdin and stdout, in its own process group (so a timeout
// kills whatever it started too), with default signal handling and an empty signal mask.
// posix_spawnp rather than fork: it does not copy the page tables of a process that may hold a
// model of several GB, and it reports a program that cannot be executed as an error here.
static int start_child(ext_state *st, tf_error *err) {
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0) close(in[i]);
            if (out[i] >= 0) close(out[i]);
        }
        return tf_errorf(err, TF_ETOOL, "tool '%s': cannot create pipes: %s", st->name, strerror(e));
    }
    for (int i = 0; i < 2; i++) in[i] = raise_fd(in[i]), out[i] = raise_fd(out[i]);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = in[0] < 0 || in[1] < 0 || out[0] < 0 || out[1] < 0
                 ? EMFILE
                 : posix_spawnp(&pid, st->argv[0], &fa, &attr, st->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(in[0]), close(out[1]);
    if (rc) {
        close(in[1]), close(out[0]);
        return tf_errorf(err, TF_ETOOL, "tool '%s': cannot run '%s': %s", st->name, st->argv[0], strerror(rc));
    }
    st->pid = pid;
    st->to_child = in[1];
    st->from_child = out[0];
    fcntl(st->to_child, F_SETFL, fcntl(st->to_child, F_GETFL) | O_NONBLOCK);
    fcntl(st->from_child, F_SETFL, fcntl(st->from_child, F_GETFL) | O_NONBLOCK);
    st->starts++;
    return TF_OK;
}

// write() that cannot raise SIGPIPE: the signal is blocked in this thread around the call and a
// SIGPIPE it caused is consumed before unblocking.
static ssize_t write_nosigpipe(int fd, const void *data, size_t n) {
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t w = write(fd, data, n);
    int e = errno;
    if (w < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return w;
}

static int ms_left(double deadline) {
    double left = (deadline - tf_time_s()) * 1000.0;
    return left <= 0 ? 0 : left > 1e9 ? 1000000000 : (int)left + 1;
}

// Writes all of data before the deadline. 0, or -1 with why set (the program is then stopped).
static int send_all(ext_state *st, const char *data, size_t n, double deadline, char *why, size_t wn) {
    size_t done = 0;
    while (done < n) {
        struct pollfd p = {.fd = st->to_child, .events = POLLOUT};
        int pr = poll(&p, 1, ms_left(deadline));
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) {
            stop_child(st, 0, NULL, 0);
            snprintf(why, wn, "did not read its input in time (killed; restarted on the next call)");
            return -1;
        }
        ssize_t w = write_nosigpipe(st->to_child, data + done, n - done);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (w < 0) {
            char how[96];
            stop_child(st, 100, how, sizeof how);
            snprintf(why, wn, "%s before reading its input (restarted on the next call)", how);
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

// Reads one line (without the newline) into st->buf before the deadline. 0, or -1 with why set
// (the program is then stopped, except on a clean line).
static int read_line(ext_state *st, double deadline, size_t max_reply, char *why, size_t wn) {
    st->len = 0;
    for (;;) {
        char *nl = st->len ? memchr(st->buf, '\n', st->len) : NULL;
        if (nl) {
            *nl = '\0';
            st->len = (size_t)(nl - st->buf);
            return 0;
        }
        if (st->len > max_reply) {
            stop_child(st, 0, NULL, 0);
            snprintf(why, wn, "replied with a line longer than %zu bytes (killed; restarted on the next call)",
                     max_reply);
            return -1;
        }
        struct pollfd p = {.fd = st->from_child, .events = POLLIN};
        int pr = poll(&p, 1, ms_left(deadline));
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) {
            stop_child(st, 0, NULL, 0);
            snprintf(why, wn, "gave no reply in time (killed; restarted on the next call)");
            return -1;
        }
        size_t room = st->cap - st->len;
        ssize_t r = read(st->from_child, st->buf + st->len, room);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r <= 0) {
            char how[96];
            stop_child(st, 200, how, sizeof how);
            snprintf(why, wn, "%s without replying (restarted on the next call)", how);
            return -1;
        }
        st->len += (size_t)r;
    }
}

// Drops bytes left from an earlier call and reaps a program that died between calls.
static void discard_stale(ext_state *st) {
    if (st->pid <= 0) return;
    int status;
    if (waitpid(st->pid, &status, WNOHANG) == st->pid) {
        st->pid = 0;  // reaped already; stop_child must not wait again
        close_fds(st);
        return;
    }
    char junk[4096];
    size_t total = 0;
    for (;;) {
        ssize_t r = read(st->from_child, junk, sizeof junk);
        if (r > 0) {
            total += (size_t)r;
            if (total > st->cap) {  // it writes without being asked: stop it rather than read forever
                stop_child(st, 0, NULL, 0);
                break;
            }
            continue;
        }
        if (r == 0) stop_child(st, 100, NULL, 0);  // stdout closed: it is ending
        break;
    }
}

static int external_execute(tf_tool *t, const char *input, const tf_tool_context *ctx, char *out,
                            size_t cap, tf_error *err) {
    (void)ctx;
    ext_state *st = t->state;
    pthread_mutex_lock(&st->lock);
    double deadline = tf_time_s() + t->timeout_ms / 1000.0;
    char why[256];
    int rc = TF_ETOOL;
    char *req = NULL;
    discard_stale(st);
    if (st->pid <= 0 && start_child(st, err)) goto done;

    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "tool", st->name) || !cJSON_AddStringToObject(o, "input", input) ||
        !(req = cJSON_PrintUnformatted(o))) {
        cJSON_Delete(o);
        rc = tf_errorf(err, TF_ENOMEM, "tool '%s': out of memory", st->name);
        goto done;
    }
    cJSON_Delete(o);
    size_t n = strlen(req);
    req[n] = '\n';  // replaces the NUL; cJSON's buffer holds n + 1 bytes
    size_t max_reply = st->cap - 1;
    if (send_all(st, req, n + 1, deadline, why, sizeof why) ||
        read_line(st, deadline, max_reply, why, sizeof why)) {
        tf_errorf(err, TF_ETOOL, "tool '%s': the program %s", st->name, why);
        goto done;
    }
    cJSON *reply = cJSON_ParseWithLength(st->buf, st->len);
    const cJSON *res = reply ? cJSON_GetObjectItemCaseSensitive(reply, "result") : NULL;
    const cJSON *er = reply ? cJSON_GetObjectItemCaseSensitive(reply, "error") : NULL;
    if (cJSON_IsString(res)) {
        size_t len = strlen(res->valuestring);
        if (len >= cap) len = tf_utf8_cut(res->valuestring, cap - 1);
        memcpy(out, res->valuestring, len);
        out[len] = '\0';
        rc = TF_OK;
    } else if (cJSON_IsString(er)) {
        tf_errorf(err, TF_ETOOL, "tool '%s': %.300s", st->name, er->valuestring);
    } else {
        tf_errorf(err, TF_ETOOL, "tool '%s': the reply is not {\"result\": TEXT} or {\"error\": TEXT}: '%.60s'",
                  st->name, st->buf);
    }
    cJSON_Delete(reply);
done:
    free(req);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

// ---- creation ----------------------------------------------------------------------------------

static void external_destroy(tf_tool *t) {
    ext_state *st = t->state;
    if (!st) return;
    stop_child(st, 200, NULL, 0);
    pthread_mutex_destroy(&st->lock);
    free(st->prompt);
    free(st->spec_copy);
    free(st->buf);
    free(st);
    t->state = NULL;
}

// Splits s in place into words at spaces and tabs; '...' and "..." group words (quotes removed).
static int split_args(char *s, char **argv, int max, const char **why) {
    int n = 0;
    char *r = s, *w = s;
    for (;;) {
        while (*r == ' ' || *r == '\t') r++;
        if (!*r) break;
        if (n == max) return *why = "too many arguments", -1;
        argv[n++] = w;
        while (*r && *r != ' ' && *r != '\t') {
            if (*r == '\'' || *r == '"') {
                char q = *r++;
                while (*r && *r != q) *w++ = *r++;
                if (*r != q) return *why = "a quote is not closed", -1;
                r++;
            } else {
                *w++ = *r++;
            }
        }
        char *next = *r ? r + 1 : r;  // the write cursor never passes the read cursor
        *w++ = '\0';
        r = next;
    }
    argv[n] = NULL;
    return n;
}

static int valid_name(const char *s, size_t n) {
    if (n == 0 || n >= 64) return 0;
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return 0;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

tf_tool *tf_tool_create_external(const char *spec, const tf_tool_options *opt, tf_error *err) {
    const char *eq = spec ? strchr(spec, '=') : NULL;
    if (!eq || !valid_name(spec, (size_t)(eq - spec))) {
        tf_errorf(err, TF_EBADARG, "--tool: expected NAME=COMMAND [ARG...] with NAME made of letters, digits, "
                  "'_', '.', '-', got '%.80s'", spec ? spec : "");
        return NULL;
    }
    if (opt && (opt->timeout_ms < 0 || opt->max_result_bytes < 0)) {
        tf_errorf(err, TF_EBADARG, "tool options: timeout and result cap must not be negative");
        return NULL;
    }
    ext_state *st = calloc(1, sizeof *st);
    if (!st) {
        tf_errorf(err, TF_ENOMEM, "out of memory");
        return NULL;
    }
    st->to_child = st->from_child = -1;
    pthread_mutex_init(&st->lock, NULL);
    memcpy(st->name, spec, (size_t)(eq - spec));
    tf_tool *t = NULL;
    const char *why = NULL;
    st->spec_copy = strdup(eq + 1);
    if (!st->spec_copy) goto oom;
    if (split_args(st->spec_copy, st->argv, MAX_ARGS, &why) <= 0) {
        tf_errorf(err, TF_EBADARG, "--tool %s: %s", st->name, why ? why : "no command after '='");
        goto fail;
    }
    // A generic zero-shot prompt in the paper's wording (external tools bring no demonstrations).
    static const char FMT[] =
        "Your task is to add calls to a %s API to a piece of text. The calls should help you get "
        "information required to complete the text. You can call the API by writing \"[%s(input)]\" "
        "where \"input\" is the input to the API.\nInput: <INPUT>\nOutput:";
    size_t plen = sizeof FMT + 2 * strlen(st->name);
    st->prompt = malloc(plen);
    if (!st->prompt) goto oom;
    snprintf(st->prompt, plen, FMT, st->name, st->name);
    t = tool_alloc(st->name, st->prompt, opt, TF_TOOL_DEFAULT_TIMEOUT_MS, TF_TOOL_DEFAULT_MAX_RESULT, err);
    if (!t) goto fail;
    size_t max_reply = (size_t)t->max_result_bytes * 8;
    if (max_reply < MIN_REPLY_CAP) max_reply = MIN_REPLY_CAP;
    st->cap = max_reply + 1;
    st->buf = malloc(st->cap);
    if (!st->buf) goto oom;
    t->state = st;
    t->execute = external_execute;
    t->destroy = external_destroy;
    if (start_child(st, err)) {
        tf_tool_free(t);
        return NULL;
    }
    return t;
oom:
    tf_errorf(err, TF_ENOMEM, "out of memory creating tool '%s'", st->name);
fail:
    free(t);
    pthread_mutex_destroy(&st->lock);
    free(st->prompt);
    free(st->spec_copy);
    free(st->buf);
    free(st);
    return NULL;
}
