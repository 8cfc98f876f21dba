// external.c — user tools as subprocesses: `--tool NAME=COMMAND ARG...` starts COMMAND once
// (spawn.c: posix_spawnp, PATH search, no shell) and speaks one JSON object per line over pipes:
//     request  {"tool": "NAME", "input": "TEXT"}\n      (to the program's stdin)
//     reply    {"result": "TEXT"}\n  or  {"error": "WHY"}\n   (from its stdout)
// Every call has a time limit (poll); a reply longer than the cap, a timeout or a protocol error
// kills the program (its whole process group) and it is started again on the next call; a program
// that dies is reaped and restarted the same way. Writes never raise SIGPIPE; nothing is left as a
// zombie; no call blocks past its deadline.
#include "spawn.h"
#include "tools_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_ARGS = 64, MIN_REPLY_CAP = 65536 };

typedef struct {
    char name[64];
    char *prompt;
    char *spec_copy;        // argv points into it
    char *argv[MAX_ARGS + 1];
    spawn_child child;      // the running program (child.pid 0 when none)
    char *buf;              // bytes of the reply being read
    size_t len, cap;        // cap = the reply cap + 1
    int starts;             // how many times the program was started
    pthread_mutex_t lock;
} ext_state;

// ---- process control (spawn.c) -------------------------------------------------------------------

// Starts the program (spawn.c: posix_spawnp, its own process group, our stderr).
static int start_child(ext_state *st, tf_error *err) {
    char who[80];
    snprintf(who, sizeof who, "tool '%s'", st->name);
    int rc = spawn_start(&st->child, st->argv, 0, who, err);
    if (rc == TF_OK) st->starts++;
    return rc;
}

// Writes all of data before the deadline. 0, or -1 with why set (the program is then stopped).
static int send_all(ext_state *st, const char *data, size_t n, double deadline, char *why, size_t wn) {
    size_t done = 0;
    while (done < n) {
        struct pollfd p = {.fd = st->child.to_child, .events = POLLOUT};
        int pr = poll(&p, 1, spawn_ms_left(deadline));
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) {
            spawn_stop(&st->child, 0, NULL, 0);
            snprintf(why, wn, "did not read its input in time (killed; restarted on the next call)");
            return -1;
        }
        ssize_t w = spawn_write(st->child.to_child, data + done, n - done);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (w < 0) {
            char how[96];
            spawn_stop(&st->child, 100, how, sizeof how);
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
            spawn_stop(&st->child, 0, NULL, 0);
            snprintf(why, wn, "replied with a line longer than %zu bytes (killed; restarted on the next call)",
                     max_reply);
            return -1;
        }
        struct pollfd p = {.fd = st->child.from_child, .events = POLLIN};
        int pr = poll(&p, 1, spawn_ms_left(deadline));
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) {
            spawn_stop(&st->child, 0, NULL, 0);
            snprintf(why, wn, "gave no reply in time (killed; restarted on the next call)");
            return -1;
        }
        size_t room = st->cap - st->len;
        ssize_t r = read(st->child.from_child, st->buf + st->len, room);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r <= 0) {
            char how[96];
            spawn_stop(&st->child, 200, how, sizeof how);
            snprintf(why, wn, "%s without replying (restarted on the next call)", how);
            return -1;
        }
        st->len += (size_t)r;
    }
}

// Drops bytes left from an earlier call and reaps a program that died between calls.
static void discard_stale(ext_state *st) {
    if (st->child.pid <= 0) return;
    int status;
    if (waitpid(st->child.pid, &status, WNOHANG) == st->child.pid) {
        st->child.pid = 0;  // reaped already: spawn_stop only closes the pipes
        spawn_stop(&st->child, 0, NULL, 0);
        return;
    }
    char junk[4096];
    size_t total = 0;
    for (;;) {
        ssize_t r = read(st->child.from_child, junk, sizeof junk);
        if (r > 0) {
            total += (size_t)r;
            if (total > st->cap) {  // it writes without being asked: stop it rather than read forever
                spawn_stop(&st->child, 0, NULL, 0);
                break;
            }
            continue;
        }
        if (r == 0) spawn_stop(&st->child, 100, NULL, 0);  // stdout closed: it is ending
        break;
    }
}

// A result is one line of text in which control characters become spaces (tf_tool_execute), but a
// NUL decoded from "\u0000" (or sent as a raw byte) would end the C string and cut the result
// short (issue 21 #13). Each becomes the space it would have become anyway: "\u0000" is rewritten
// in place to "\u0020" (the same length), a raw NUL to ' ', before the line is parsed.
static void nul_to_space(char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0') {
            s[i] = ' ';
        } else if (s[i] == '\\' && i + 1 < n) {
            if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4)) s[i + 4] = '2';
            i++;  // the escaped character is not an escape itself
        }
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
    if (st->child.pid <= 0 && start_child(st, err)) goto done;

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
    nul_to_space(st->buf, st->len);
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
    spawn_stop(&st->child, 200, NULL, 0);
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
    st->child = SPAWN_CHILD_NONE;
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
