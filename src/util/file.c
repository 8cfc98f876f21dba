// file.c — whole-file reads and crash-safe (temporary + fsync + rename) writes.
#include "tf_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *tf_read_file_ex(const char *path, size_t max, int flags, size_t *len, tf_error *err) {
    if (max == 0) max = TF_READ_MAX_DEFAULT;
    // O_NONBLOCK: opening a FIFO must not wait for a writer before it can be refused
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        tf_errorf(err, TF_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode) || (!S_ISREG(st.st_mode) && !(flags & TF_READ_STREAM))) {
        int dir = S_ISDIR(st.st_mode);
        close(fd);
        tf_errorf(err, TF_EBADARG, "%s is %s, not a file this command can read; give a regular file", path,
                  dir ? "a directory" : "not a regular file (a FIFO, device or socket)");
        return NULL;
    }
    if (S_ISREG(st.st_mode) && (size_t)st.st_size > max) {
        close(fd);
        tf_errorf(err, TF_EBADFILE, "%s is %lld bytes, more than the %zu this file may hold", path,
                  (long long)st.st_size, max);
        return NULL;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // a stream is read with blocking reads
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 1 << 16, n = 0;
    char *buf = malloc(cap);
    int bad = 0;
    while (buf) {
        if (n + 1 >= cap) {
            if (n >= max) break;  // a stream longer than max
            size_t nc = cap * 2 > max + 2 ? max + 2 : cap * 2;
            char *nb = realloc(buf, nc);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap = nc;
        }
        ssize_t got = read(fd, buf + n, cap - n - 1);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) { bad = errno; break; }
        if (got == 0) break;
        n += (size_t)got;
    }
    close(fd);
    if (!buf) {
        tf_errorf(err, TF_ENOMEM, "%s: out of memory reading the file", path);
        return NULL;
    }
    if (bad) {
        free(buf);
        tf_errorf(err, TF_EIO, "%s: read error: %s", path, strerror(bad));
        return NULL;
    }
    if (n > max) {
        free(buf);
        tf_errorf(err, TF_EBADFILE, "%s: more than the %zu bytes this file may hold", path, max);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

char *tf_read_file(const char *path, size_t *len, tf_error *err) {
    return tf_read_file_ex(path, 0, 0, len, err);
}

long tf_read_line(FILE *f, char **buf, size_t *cap, size_t max, size_t *len, int *too_long) {
    long consumed = 0;
    size_t n = 0, keep = max;  // keep: bytes that may still be stored (less when memory runs out)
    int c;
    *too_long = 0;
    if (!*buf || !*cap) {
        char *nb = realloc(*buf, 256);
        if (!nb) return -1;
        *buf = nb;
        *cap = 256;
    }
    flockfile(f);
    while ((c = getc_unlocked(f)) != EOF) {
        consumed++;
        if (n < keep && n + 2 > *cap) {
            size_t nc = 2 * *cap;
            if (nc > keep + 1) nc = keep + 1 > n + 2 ? keep + 1 : n + 2;
            char *nb = realloc(*buf, nc);
            if (nb) {
                *buf = nb;
                *cap = nc;
            } else {
                keep = n;
            }
        }
        if (n < keep) (*buf)[n++] = (char)c;
        else *too_long = 1;
        if (c == '\n') break;
    }
    funlockfile(f);
    if (consumed == 0) return -1;
    (*buf)[n] = '\0';
    *len = n;
    return consumed;
}

int tf_fclose_checked(FILE *f, const char *path, tf_error *err) {
    int bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    if (!bad && fsync(fileno(f)) != 0 && errno != EINVAL) { bad = 1; e = errno; }
    if (fclose(f) != 0 && !bad) { bad = 1; e = errno; }
    if (bad) return tf_errorf(err, TF_EIO, "%s: write failed: %s", path, strerror(e));
    return TF_OK;
}

const char *tf_path_split(const char *path, char *dir, size_t n) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, n, ".");
        return path;
    }
    snprintf(dir, n, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    return slash + 1;
}

void tf_remove_stale_temps(const char *path) {
    char dir[4096], p[4096 + 260];
    const char *base = tf_path_split(path, dir, sizeof dir);
    size_t bl = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, base, bl) || strncmp(e->d_name + bl, ".tmp.", 5)) continue;
        char *end = NULL;
        long pid = strtol(e->d_name + bl + 5, &end, 10);
        if (!end || *end || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;  // its writer may still be at work
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

void tf_fsync_parent(const char *path) {
    char dir[4096];
    tf_path_split(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int tf_write_file_atomic(const char *path, const void *data, size_t len, tf_error *err) {
    tf_remove_stale_temps(path);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return tf_errorf(err, TF_EBADARG, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return tf_errorf(err, TF_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    size_t put = len ? fwrite(data, 1, len, f) : 0;
    if (put != len) {
        int e = errno;
        fclose(f);
        unlink(tmp);
        return tf_errorf(err, TF_EIO, "%s: write failed after %zu of %zu bytes: %s", path, put, len,
                         strerror(e));
    }
    if (tf_fclose_checked(f, tmp, err)) { unlink(tmp); return err ? err->code : TF_EIO; }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return tf_errorf(err, TF_EIO, "%s: cannot rename into place: %s", path, strerror(e));
    }
    tf_fsync_parent(path);
    return TF_OK;
}

int tf_mkdir_p(const char *path, tf_error *err) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return tf_errorf(err, TF_EBADARG, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return tf_errorf(err, TF_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return tf_errorf(err, TF_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
    return TF_OK;
}

char *tf_path_join(char *out, size_t n, const char *dir, const char *name) {
    size_t dl = strlen(dir);
    snprintf(out, n, "%s%s%s", dir, (dl && dir[dl - 1] == '/') ? "" : "/", name);
    return out;
}

uint64_t tf_file_fingerprint(const char *path) {
    uint64_t h = 0xcbf29ce484222325ULL;
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        return 0;
    }
    unsigned char buf[1 << 16];
    off_t size = st.st_size, starts[2] = {0, size > (1 << 20) ? size - (1 << 20) : 0};
    for (int k = 0; k < 8; k++) h = (h ^ (uint64_t)((size >> (8 * k)) & 0xff)) * 0x100000001b3ULL;
    for (int part = 0; part < 2; part++) {
        off_t pos = starts[part], end = pos + (1 << 20) < size ? pos + (1 << 20) : size;
        while (pos < end) {
            size_t want = (size_t)(end - pos) < sizeof buf ? (size_t)(end - pos) : sizeof buf;
            ssize_t got = pread(fd, buf, want, pos);
            if (got <= 0) break;
            for (ssize_t i = 0; i < got; i++) h = (h ^ buf[i]) * 0x100000001b3ULL;
            pos += got;
        }
    }
    close(fd);
    return h;
}
