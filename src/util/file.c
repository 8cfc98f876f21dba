// file.c — whole-file reads and crash-safe (temporary + fsync + rename) writes.
#include "tf_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *tf_read_file(const char *path, size_t *len, tf_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        tf_errorf(err, TF_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (!buf) {
        fclose(f);
        tf_errorf(err, TF_ENOMEM, "%s: out of memory reading the file", path);
        return NULL;
    }
    if (ferror(f)) {
        fclose(f);
        free(buf);
        tf_errorf(err, TF_EIO, "%s: read error", path);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int tf_fclose_checked(FILE *f, const char *path, tf_error *err) {
    int bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    if (!bad && fsync(fileno(f)) != 0 && errno != EINVAL) { bad = 1; e = errno; }
    if (fclose(f) != 0 && !bad) { bad = 1; e = errno; }
    if (bad) return tf_errorf(err, TF_EIO, "%s: write failed: %s", path, strerror(e));
    return TF_OK;
}

int tf_write_file_atomic(const char *path, const void *data, size_t len, tf_error *err) {
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
