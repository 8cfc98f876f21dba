// tf_common.h — errors, aligned memory, files, random numbers and progress bars shared by every layer.
#ifndef TF_COMMON_H
#define TF_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// ---- errors ------------------------------------------------------------------------------------
// One error type is carried up through the library; the command line prints `toolformer: <msg>`.
// Every function that takes a `tf_error *err` needs it non-NULL (the public entry points assert it):
// on failure it holds the code and one message naming the file and place.
enum {
    TF_OK = 0,
    TF_EIO = 1,       // a file could not be opened, read or written
    TF_EBADFILE = 2,  // a file's contents are malformed (names the file and place)
    TF_EBADARG = 3,   // a caller passed an invalid argument (bad usage)
    TF_ENOMEM = 4,    // an allocation failed
    TF_ETOOL = 5,     // a tool failed, timed out or gave no result
    TF_EINTERNAL = 6, // a library (oneDNN, SQLite) reported a failure
    TF_ETOOLONG = 7,  // an input is longer than a limit allows (a prompt longer than the model's context)
};

typedef struct {
    int code;       // TF_OK when nothing went wrong
    char msg[512];  // one line, no trailing newline
} tf_error;

// Sets err (non-NULL) to code and a printf-formatted message; returns code.
int tf_errorf(tf_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
// Resets err to TF_OK with an empty message.
void tf_error_clear(tf_error *err);

// ---- memory ------------------------------------------------------------------------------------
// 64-byte aligned allocation (zeroed when zero != 0); NULL on failure. Free with tf_free.
void *tf_alloc(size_t bytes, int zero);
void tf_free(void *p);
// The memory the kernel could give now without swapping: MemAvailable of /proc/meminfo, in bytes;
// -1 when it cannot be read (not Linux).
double tf_mem_available(void);
// The number after "key:" in a /proc file of "key: N kB" lines (/proc/meminfo, /proc/self/status,
// /proc/self/smaps_rollup): N, in kB; -1 when the file cannot be read or holds no such line.
double tf_proc_kb(const char *path, const char *key);

// ---- environment -------------------------------------------------------------------------------
// Whether the switch `name` is on: set, not empty and not "0" (TF_NO_AMX=1, TF_GEMM_ONEDNN=1, ...).
int tf_env_flag(const char *name);

// ---- files -------------------------------------------------------------------------------------
// Reads a whole file into a NUL-terminated malloc'd buffer; *len gets its size (excluding the NUL).
// Bounded: at most max bytes (0: TF_READ_MAX_DEFAULT), else one line naming the file (TF_EBADFILE).
// A directory, and unless flags has TF_READ_STREAM anything but a regular file (a FIFO, /dev/zero),
// is refused (TF_EBADARG) before any read can block; with TF_READ_STREAM a pipe or FIFO is read to
// its end (still at most max bytes).
#define TF_READ_MAX_DEFAULT ((size_t)1 << 30)
enum { TF_READ_STREAM = 1 };
char *tf_read_file_ex(const char *path, size_t max, int flags, size_t *len, tf_error *err);
// tf_read_file_ex(path, 0, 0, len, err): a regular file of at most 1 GiB.
char *tf_read_file(const char *path, size_t *len, tf_error *err);
// Writes data to path atomically: a temporary file beside it (path.tmp.PID), fsync, rename, fsync of
// the directory. The old file stays intact on any failure (full disk, size limit, SIGKILL).
int tf_write_file_atomic(const char *path, const void *data, size_t len, tf_error *err);
// Removes path.tmp.PID files beside path whose process PID no longer exists (left by a writer that was
// killed before its rename); called before each atomic write of path.
void tf_remove_stale_temps(const char *path);
// The directory part of path into dir[n] ("." when it has none, "/" for a file in the root); returns
// the base name, a pointer into path.
const char *tf_path_split(const char *path, char *dir, size_t n);
// fsyncs the directory that holds path, so that a rename into it survives a power loss.
void tf_fsync_parent(const char *path);
// Reads one line of f (up to and including its '\n') into *buf (grown as needed, NUL-terminated,
// *len bytes without the NUL) but keeps at most max bytes of it: a longer line is consumed to its end
// without being held (bounded memory whatever the input), *too_long is set and *buf holds its first
// max bytes. Returns the bytes consumed from f, or -1 at the end of the file (or on a read error:
// check ferror(f)).
long tf_read_line(FILE *f, char **buf, size_t *cap, size_t max, size_t *len, int *too_long);
// fsyncs and closes f, reporting the first write error as TF_EIO naming path.
int tf_fclose_checked(FILE *f, const char *path, tf_error *err);
// Creates a directory (and its parents); succeeds if it exists.
int tf_mkdir_p(const char *path, tf_error *err);
// A cheap fingerprint of a regular file (FNV-1a of its size, its first and its last MiB), for
// telling whether a run's input changed (0 when path is not a readable regular file).
uint64_t tf_file_fingerprint(const char *path);
// Joins dir and name into out (size n); returns out.
char *tf_path_join(char *out, size_t n, const char *dir, const char *name);

// ---- text (UTF-8) -------------------------------------------------------------------------------
// Length of the valid UTF-8 sequence at s[0..n) (n >= 1), or 0 when the bytes there are not one.
size_t tf_utf8_seq(const char *s, size_t n);
// Nonzero when s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
int tf_utf8_valid(const char *s, size_t n);
// Length of the longest prefix of s[0..n) that does not end inside a UTF-8 sequence (bytes before
// it are not checked). Used to cut text at a character boundary.
size_t tf_utf8_cut(const char *s, size_t n);
// A malloc'd copy of s[n] that is valid UTF-8 (each invalid byte becomes U+FFFD), for JSON output:
// decoded tokens can end inside a character. NULL when memory runs out.
char *tf_utf8_sanitize(const char *s, size_t n);

// ---- random numbers ----------------------------------------------------------------------------
// A small seeded generator (xoshiro256**), reproducible across platforms.
typedef struct { uint64_t s[4]; } tf_rng;
void tf_rng_seed(tf_rng *r, uint64_t seed);
uint64_t tf_rng_u64(tf_rng *r);
float tf_rng_uniform(tf_rng *r);            // [0, 1)
float tf_rng_normal(tf_rng *r);             // N(0, 1), Box-Muller

// ---- time and progress: tf_progress.h -----------------------------------------------------------
#include "tf_progress.h"

// ---- threads -----------------------------------------------------------------------------------
// Physical cores (hyperthreads are not counted); the default thread count everywhere.
int tf_physical_cores(void);
// Sets OpenMP's thread count: n > 0 as given, else OMP_NUM_THREADS when set, else physical cores.
void tf_set_threads(int n);

#endif
