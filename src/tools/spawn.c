// spawn.c — child processes for the tools: start (posix_spawnp, pipes, own process group), write
// without SIGPIPE, stop (grace, group kill, reap), and run-to-completion with a deadline and an
// output cap. See spawn.h.
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

// Moves fd above the standard descriptors (a pipe end must not land on 0/1/2 if they are closed,
// or the child's dup2 onto 0/1/2 would clobber another of its pipes).
static int raise_fd(int fd) {
    if (fd < 0 || fd > 2) return fd;
    int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return nfd;
}

static void nonblocking(int fd) {
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int spawn_start(spawn_child *c, char *const argv[], int capture_stderr, const char *who, tf_error *err) {
    int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};  // stdin, stdout, stderr
    int npipes = capture_stderr ? 3 : 2, e = 0;
    for (int i = 0; i < npipes && !e; i++) {
        if (pipe2(p[i], O_CLOEXEC)) e = errno;
        for (int j = 0; j < 2 && !e; j++)
            if ((p[i][j] = raise_fd(p[i][j])) < 0) e = errno;
    }
    if (e) {
        for (int i = 0; i < 3; i++) close_fd(&p[i][0]), close_fd(&p[i][1]);
        return tf_errorf(err, TF_ETOOL, "%s%scannot create pipes: %s", who ? who : "", who ? ": " : "",
                         strerror(e));
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0][0], 0);
    posix_spawn_file_actions_adddup2(&fa, p[1][1], 1);
    if (capture_stderr) posix_spawn_file_actions_adddup2(&fa, p[2][1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // descriptors opened without O_CLOEXEC too
#endif
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close_fd(&p[0][0]), close_fd(&p[1][1]), close_fd(&p[2][1]);
    if (rc) {
        close_fd(&p[0][1]), close_fd(&p[1][0]), close_fd(&p[2][0]);
        return tf_errorf(err, TF_ETOOL, "%s%scannot run '%s': %s", who ? who : "", who ? ": " : "", argv[0],
                         strerror(rc));
    }
    *c = (spawn_child){pid, p[0][1], p[1][0], p[2][0]};
    nonblocking(c->to_child);
    nonblocking(c->from_child);
    nonblocking(c->err_child);
    return TF_OK;
}

// SIGPIPE is blocked in this thread around the write, and a SIGPIPE the write raised is consumed
// before unblocking (one that was pending before stays pending).
ssize_t spawn_write(int fd, const void *data, size_t n) {
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
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

int spawn_ms_left(double deadline) {
    double left = (deadline - tf_time_s()) * 1000.0;
    return left <= 0 ? 0 : left > 1e9 ? 1000000000 : (int)left + 1;
}

static void describe_status(int status, char *why, size_t n) {
    if (WIFEXITED(status)) snprintf(why, n, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(why, n, "was killed by signal %d", WTERMSIG(status));
    else snprintf(why, n, "stopped");
}

// Waits up to grace_ms for the child to exit (reaping it), then kills its group and reaps it.
// The wait status goes to *status. 0: it exited by itself; 1: it had to be killed; -1: it was gone
// already (reaped elsewhere).
static int reap(pid_t pid, int grace_ms, int *status) {
    pid_t r = 0;
    double end = tf_time_s() + grace_ms / 1000.0;
    for (;;) {
        r = waitpid(pid, status, WNOHANG);
        if (r != 0 || tf_time_s() >= end) break;
        struct timespec ts = {0, 2000000};  // 2 ms
        nanosleep(&ts, NULL);
    }
    if (r > 0) return 0;
    if (r < 0 && errno == ECHILD) return -1;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
    }
    return 1;
}

void spawn_stop(spawn_child *c, int grace_ms, char *why, size_t why_len) {
    close_fd(&c->to_child);
    close_fd(&c->from_child);
    close_fd(&c->err_child);
    if (c->pid <= 0) return;
    int status = 0;
    int how = reap(c->pid, grace_ms, &status);
    if (why && how == 1) snprintf(why, why_len, "was killed");
    else if (why && how == 0) describe_status(status, why, why_len);
    else if (why) snprintf(why, why_len, "ended");
    c->pid = 0;
}

int spawn_run(char *const argv[], const char *input, size_t in_len, int timeout_ms, size_t out_cap,
              spawn_result *r, tf_error *err) {
    memset(r, 0, sizeof *r);
    r->out = malloc(out_cap + 1);
    if (!r->out) return tf_errorf(err, TF_ENOMEM, "out of memory");
    spawn_child c = SPAWN_CHILD_NONE;
    int rc = spawn_start(&c, argv, 1, NULL, err);
    if (rc) {
        free(r->out);
        r->out = NULL;
        return rc;
    }
    double deadline = tf_time_s() + timeout_ms / 1000.0;
    size_t sent = 0, err_len = 0;
    if (in_len == 0) close_fd(&c.to_child);
    // Feed its input and drain both outputs together, so neither side can block the other.
    while (c.from_child >= 0 || c.err_child >= 0) {
        int ms = spawn_ms_left(deadline);
        if (ms == 0) {
            rc = tf_errorf(err, TF_ETOOL, "%s: no answer within %d ms (killed)", argv[0], timeout_ms);
            goto stop;
        }
        struct pollfd pf[3];
        int np = 0, iw = -1, io = -1, ie = -1;
        if (c.to_child >= 0) pf[iw = np++] = (struct pollfd){.fd = c.to_child, .events = POLLOUT};
        if (c.from_child >= 0) pf[io = np++] = (struct pollfd){.fd = c.from_child, .events = POLLIN};
        if (c.err_child >= 0) pf[ie = np++] = (struct pollfd){.fd = c.err_child, .events = POLLIN};
        int pr = poll(pf, (nfds_t)np, ms);
        if (pr < 0 && errno != EINTR) {
            rc = tf_errorf(err, TF_ETOOL, "%s: poll failed: %s", argv[0], strerror(errno));
            goto stop;
        }
        if (pr <= 0) continue;
        if (iw >= 0 && pf[iw].revents) {
            ssize_t w = spawn_write(c.to_child, input + sent, in_len - sent);
            if (w > 0) sent += (size_t)w;
            // Done, or the child stopped reading: end of its input.
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == in_len) close_fd(&c.to_child);
        }
        if (io >= 0 && pf[io].revents) {
            char buf[4096];
            ssize_t n = read(c.from_child, buf, sizeof buf);
            if (n > 0) {
                if (r->out_len + (size_t)n > out_cap) {
                    rc = tf_errorf(err, TF_ETOOL, "%s: output longer than %zu bytes (killed)", argv[0], out_cap);
                    goto stop;
                }
                memcpy(r->out + r->out_len, buf, (size_t)n);
                r->out_len += (size_t)n;
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                close_fd(&c.from_child);
            }
        }
        if (ie >= 0 && pf[ie].revents) {
            char buf[1024];
            ssize_t n = read(c.err_child, buf, sizeof buf);
            if (n > 0) {
                size_t room = sizeof r->errtxt - 1 - err_len, k = (size_t)n < room ? (size_t)n : room;
                memcpy(r->errtxt + err_len, buf, k);
                err_len += k;
                r->errtxt[err_len] = '\0';
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                close_fd(&c.err_child);
            }
        }
    }
    // Both outputs closed: wait for the exit, still within the time limit.
    close_fd(&c.to_child);
    for (;;) {
        pid_t w = waitpid(c.pid, &r->status, WNOHANG);
        if (w == c.pid || (w < 0 && errno != EINTR)) {
            c.pid = 0;
            break;
        }
        if (tf_time_s() > deadline) {
            rc = tf_errorf(err, TF_ETOOL, "%s: did not exit within %d ms (killed)", argv[0], timeout_ms);
            break;
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
stop:
    spawn_stop(&c, 0, NULL, 0);  // still running only after a failure: killed with its group, reaped
    r->out[r->out_len] = '\0';
    if (rc) {
        free(r->out);
        r->out = NULL;
        r->out_len = 0;
    }
    return rc;
}
