// outguard.c — the output rule (tf_outguard.h): outputs checked against the inputs, against each
// other, for existence and for creatability before anything is opened for writing; a lock file
// that makes a second writer fail at once.
#include "tf_outguard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void tf_guard_init(tf_outguard *g, const char *cmd, tf_out_mode mode, const char *remedy) {
    memset(g, 0, sizeof *g);
    g->cmd = cmd;
    g->mode = mode;
    g->remedy = remedy ? remedy : "remove it first or choose another path";
    g->lock_fd = -1;
}

// The absolute path that writing path would create or open: realpath when it exists; otherwise a
// dangling symlink is followed to its target, and the target's directory resolved. NULL when its
// directory does not exist either.
static char *resolve(const char *path) {
    char *r = realpath(path, NULL);
    if (r) return r;
    char cur[PATH_MAX], link[PATH_MAX], dir[PATH_MAX];
    snprintf(cur, sizeof cur, "%s", path);
    struct stat st;
    for (int hop = 0; hop < 16 && lstat(cur, &st) == 0 && S_ISLNK(st.st_mode); hop++) {
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0) break;
        link[n] = '\0';
        if (link[0] == '/') {
            snprintf(cur, sizeof cur, "%s", link);
        } else {
            tf_path_split(cur, dir, sizeof dir);
            if (snprintf(cur, sizeof cur, "%s/%s", dir, link) >= (int)sizeof cur) return NULL;
        }
    }
    const char *base = tf_path_split(cur, dir, sizeof dir);
    char *rd = realpath(dir, NULL);
    if (!rd) return NULL;
    size_t len = strlen(rd) + strlen(base) + 2;
    char *out = malloc(len);
    if (out) snprintf(out, len, "%s%s%s", rd, strcmp(rd, "/") ? "/" : "", base);
    free(rd);
    return out;
}

static int add(tf_guard_file **list, int *n, int *cap, const char *opt, const char *path, int flags, tf_error *err) {
    if (*n == *cap) {
        int nc = *cap ? 2 * *cap : 8;
        tf_guard_file *nl = realloc(*list, (size_t)nc * sizeof *nl);
        if (!nl) return tf_errorf(err, TF_ENOMEM, "out of memory");
        *list = nl;
        *cap = nc;
    }
    tf_guard_file *f = &(*list)[*n];
    memset(f, 0, sizeof *f);
    f->opt = opt;
    f->flags = flags;
    if (!(f->path = strdup(path))) return tf_errorf(err, TF_ENOMEM, "out of memory");
    f->real = resolve(path);
    struct stat st;
    if (stat(path, &st) == 0) {
        f->exists = 1;
        f->dev = (uint64_t)st.st_dev;
        f->ino = (uint64_t)st.st_ino;
    }
    (*n)++;
    return TF_OK;
}

// The files of a model (or tokenizer) directory: what a directory input protects.
static int model_file(const char *name) {
    static const char *NAMES[] = {"config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json",
                                  "merges.txt", "encoder.json", "vocab.bpe", "special_tokens_map.json",
                                  "generation_config.json", "adapter_config.json", NULL};
    for (int i = 0; NAMES[i]; i++)
        if (!strcmp(name, NAMES[i])) return 1;
    size_t n = strlen(name);
    return n > 12 && !strcmp(name + n - 12, ".safetensors");
}

int tf_guard_input(tf_outguard *g, const char *opt, const char *path, tf_error *err) {
    struct stat st;
    if (!path || !strcmp(path, "-") || stat(path, &st) != 0) return TF_OK;
    if (!S_ISDIR(st.st_mode)) return add(&g->in, &g->n_in, &g->cap_in, opt, path, 0, err);
    DIR *d = opendir(path);
    if (!d) return TF_OK;
    struct dirent *e;
    char p[PATH_MAX];
    int rc = TF_OK;
    while (!rc && (e = readdir(d))) {
        if (!model_file(e->d_name) || snprintf(p, sizeof p, "%s/%s", path, e->d_name) >= (int)sizeof p) continue;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) rc = add(&g->in, &g->n_in, &g->cap_in, opt, p, 0, err);
    }
    closedir(d);
    return rc;
}

int tf_guard_output(tf_outguard *g, const char *opt, const char *path, int flags, tf_error *err) {
    if (!path) return TF_OK;
    return add(&g->out, &g->n_out, &g->cap_out, opt, path, flags, err);
}

static int same(const tf_guard_file *a, const tf_guard_file *b) {
    if (a->exists && b->exists) return a->dev == b->dev && a->ino == b->ino;
    return a->real && b->real && !strcmp(a->real, b->real);
}

// Rule 3 for one output that does not exist: its directory (or, with TF_OUT_MKDIR, the nearest
// existing ancestor) must be a writable directory.
static int check_creatable(const tf_outguard *g, const tf_guard_file *o, tf_error *err) {
    char dir[PATH_MAX], up[PATH_MAX];
    tf_path_split(o->path, dir, sizeof dir);
    struct stat st;
    while (stat(dir, &st) != 0) {
        if (!(o->flags & TF_OUT_MKDIR) || errno != ENOENT || !strcmp(dir, ".") || !strcmp(dir, "/"))
            return tf_errorf(err, TF_EIO, "%s %s: cannot create it: directory %s %s; create it first or choose "
                             "another path", o->opt, o->path, dir, errno == ENOENT ? "does not exist" : strerror(errno));
        snprintf(up, sizeof up, "%s", dir);
        tf_path_split(up, dir, sizeof dir);
    }
    if (!S_ISDIR(st.st_mode))
        return tf_errorf(err, TF_EIO, "%s %s: cannot create it: %s is not a directory", o->opt, o->path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return tf_errorf(err, TF_EIO, "%s %s: cannot create it: directory %s is not writable (%s)", o->opt, o->path,
                         dir, strerror(errno));
    (void)g;
    return TF_OK;
}

// Whether path.lock exists and another process holds its lock.
static int lock_busy(const char *path) {
    char lp[PATH_MAX];
    if (snprintf(lp, sizeof lp, "%s.lock", path) >= (int)sizeof lp) return 0;
    int fd = open(lp, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return 0;
    int busy = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return busy;
}

int tf_guard_check(tf_outguard *g, tf_error *err) {
    // rule 1: the same file as an input, or as another output
    for (int i = 0; i < g->n_out; i++) {
        const tf_guard_file *o = &g->out[i];
        for (int k = 0; k < g->n_in; k++)
            if (same(o, &g->in[k]))
                return tf_errorf(err, TF_EBADARG, "%s %s is the same file as the input %s %s: writing it would destroy "
                                 "the input; choose another %s path", o->opt, o->path, g->in[k].opt, g->in[k].path, o->opt);
        for (int k = 0; k < i; k++)
            if (same(o, &g->out[k]))
                return tf_errorf(err, TF_EBADARG, "%s %s and %s %s are the same file; give them different paths",
                                 g->out[k].opt, g->out[k].path, o->opt, o->path);
    }
    for (int i = 0; i < g->n_out; i++) {
        const tf_guard_file *o = &g->out[i];
        struct stat st;
        if (stat(o->path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                return tf_errorf(err, TF_EBADARG, "%s %s is a directory; give a file path", o->opt, o->path);
            if (!S_ISREG(st.st_mode)) {  // rule 4
                if (o->flags & TF_OUT_REGULAR)
                    return tf_errorf(err, TF_EBADARG, "%s %s is not a regular file (a device, FIFO or socket): %s "
                                     "must be able to resume, cut back or replace it; write to a regular file and copy "
                                     "it from there", o->opt, o->path, g->cmd);
                continue;
            }
            // rule 2 (a writer at work on it is named as such: rule 5)
            if (lock_busy(o->path))
                return tf_errorf(err, TF_EIO, "%s is being written by another toolformer process (%s.lock is locked); "
                                 "wait for it to finish or choose another path", o->path, o->path);
            if (g->mode == TF_OUT_NEW && !(o->flags & TF_OUT_SIDE) && st.st_size > 0)
                return tf_errorf(err, TF_EBADARG, "%s %s exists (%lld bytes) and would be overwritten; %s", o->opt,
                                 o->path, (long long)st.st_size, g->remedy);
            if (access(o->path, W_OK) != 0)  // rule 3
                return tf_errorf(err, TF_EIO, "%s %s: cannot write it: %s", o->opt, o->path, strerror(errno));
        } else if (errno == ENOENT) {
            if (check_creatable(g, o, err)) return err->code;
        } else {
            return tf_errorf(err, TF_EIO, "%s %s: %s", o->opt, o->path, strerror(errno));
        }
    }
    return TF_OK;
}

int tf_guard_lock(tf_outguard *g, const char *path, tf_error *err) {
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) return TF_OK;  // a stream: nothing to lock
    size_t len = strlen(path) + 6;
    char *lp = malloc(len);
    if (!lp) return tf_errorf(err, TF_ENOMEM, "out of memory");
    snprintf(lp, len, "%s.lock", path);
    // lock, then make sure the file locked is still the one at lp (a finishing writer removes it)
    for (int tries = 0; tries < 100; tries++) {
        int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            tf_errorf(err, TF_EIO, "%s: cannot create the lock file: %s", lp, strerror(errno));
            free(lp);
            return err->code;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                tf_errorf(err, TF_EIO, "%s is being written by another toolformer process (%s is locked); wait for "
                          "it to finish or choose another path", path, lp);
            else
                tf_errorf(err, TF_EIO, "%s: cannot lock: %s", lp, strerror(e));
            free(lp);
            return err->code;
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(lp, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            g->lock_fd = fd;
            g->lock_path = lp;
            return TF_OK;
        }
        close(fd);
    }
    tf_errorf(err, TF_EIO, "%s: cannot lock: the lock file keeps being replaced", lp);
    free(lp);
    return err->code;
}

void tf_guard_release(tf_outguard *g) {
    if (g->lock_fd >= 0) {
        unlink(g->lock_path);  // while still holding the lock: a waiting writer sees it gone and retries
        close(g->lock_fd);
    }
    free(g->lock_path);
    g->lock_path = NULL;
    g->lock_fd = -1;
    for (int i = 0; i < g->n_in; i++) { free(g->in[i].path); free(g->in[i].real); }
    for (int i = 0; i < g->n_out; i++) { free(g->out[i].path); free(g->out[i].real); }
    free(g->in);
    free(g->out);
    g->in = g->out = NULL;
    g->n_in = g->n_out = g->cap_in = g->cap_out = 0;
}

int tf_path_is_regular_or_absent(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return errno == ENOENT;
    return S_ISREG(st.st_mode);
}
