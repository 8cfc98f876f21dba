// spawn.h — child processes for the tools (internal to src/tools/): a program started without a
// shell with pipes on its stdin and stdout, in its own process group, bounded by a deadline, killed
// with its whole group and always reaped. Used by MT (apertium, run once per call) and by external
// tools (a program started once and spoken to line by line).
//
// posix_spawnp rather than fork: fork copies the page tables of a process that may hold a model of
// several GB (and a fork from a threaded process may run only async-signal-safe code until exec);
// posix_spawnp does neither and reports a program that cannot be executed as an error of the call.
#ifndef TF_TOOLS_SPAWN_H
#define TF_TOOLS_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "tf_common.h"

typedef struct {
    pid_t pid;        // 0 when not running
    int to_child;     // its stdin, non-blocking (-1 when closed)
    int from_child;   // its stdout, non-blocking (-1 when closed)
    int err_child;    // its stderr, non-blocking, when captured (-1 otherwise: it shares ours)
} spawn_child;

// A child that is not running: every descriptor -1. Initialise with it before spawn_start.
#define SPAWN_CHILD_NONE ((spawn_child){0, -1, -1, -1})

// Starts argv[0] (found on PATH, no shell) with argv, pipes on its stdin and stdout (and stderr when
// capture_stderr), in a process group of its own, with default signal dispositions and an empty
// signal mask; no other descriptor of ours reaches it. TF_ETOOL naming `who` and argv[0] when it
// cannot be started.
int spawn_start(spawn_child *c, char *const argv[], int capture_stderr, const char *who, tf_error *err);

// write() that can never raise SIGPIPE (a reader that is gone gives -1 with errno EPIPE).
ssize_t spawn_write(int fd, const void *data, size_t n);

// Milliseconds from now until deadline (tf_time_s() clock) for poll(): 0 when it has passed.
int spawn_ms_left(double deadline);

// Ends the child: closes our ends of its pipes (it sees end of input), waits up to grace_ms for it
// to exit by itself, then kills its process group with SIGKILL; always reaps it. why (may be NULL)
// gets how it ended ("exited with status 1", "was killed by signal 9", "was killed"). With no
// child running it only closes the descriptors.
void spawn_stop(spawn_child *c, int grace_ms, char *why, size_t why_len);

// Runs a program to its end: input[in_len] on its stdin, its stdout collected (at most out_cap
// bytes), the start of its stderr kept, all before the deadline.
typedef struct {
    char *out;          // stdout, malloc'd and NUL-terminated (NULL on failure)
    size_t out_len;
    char errtxt[256];   // the start of stderr
    int status;         // waitpid status
} spawn_result;

// TF_OK when the program ran to its end (any exit status; see status); TF_ETOOL when it could not
// start, passed timeout_ms or wrote more than out_cap bytes (it is then killed with its group);
// TF_ENOMEM.
int spawn_run(char *const argv[], const char *input, size_t in_len, int timeout_ms, size_t out_cap,
              spawn_result *r, tf_error *err);

#endif
