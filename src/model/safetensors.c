// safetensors.c — mmapped, strictly validated safetensors reader; atomic writer; tensors to fp32
// (the element conversions are kernels/convert.c).
#include "tf_safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// The reference implementation refuses headers above 100 MB; so do we.
#define MAX_HEADER_BYTES (100u * 1024 * 1024)

struct tf_st_file {
    char *path;
    int fd;
    unsigned char *map;           // the file mapping (NULL when opened from memory or copied)
    unsigned char *copy;          // the file read into memory (TF_ST_COPY), else NULL
    const unsigned char *bytes;   // the whole file: map, copy, or the caller's buffer
    size_t size;
    const unsigned char *buf;     // data buffer (after the header)
    size_t buf_size;
    cJSON *header;
    int n;
    tf_st_tensor *t;              // sorted by data offset
    int *by_name;                 // indices into t, sorted by name
};

static const struct { const char *name; size_t size; } DTYPES[TF_ST_NUM_DTYPES] = {
    [TF_ST_F32] = {"F32", 4},   [TF_ST_F16] = {"F16", 2},   [TF_ST_BF16] = {"BF16", 2},
    [TF_ST_F64] = {"F64", 8},   [TF_ST_I64] = {"I64", 8},   [TF_ST_I32] = {"I32", 4},
    [TF_ST_I16] = {"I16", 2},   [TF_ST_I8] = {"I8", 1},     [TF_ST_U64] = {"U64", 8},
    [TF_ST_U32] = {"U32", 4},   [TF_ST_U16] = {"U16", 2},   [TF_ST_U8] = {"U8", 1},
    [TF_ST_BOOL] = {"BOOL", 1}, [TF_ST_F8_E4M3] = {"F8_E4M3", 1}, [TF_ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *tf_st_dtype_name(tf_st_dtype d) {
    return (unsigned)d < TF_ST_NUM_DTYPES ? DTYPES[d].name : NULL;
}

size_t tf_st_dtype_size(tf_st_dtype d) { return (unsigned)d < TF_ST_NUM_DTYPES ? DTYPES[d].size : 0; }

static int dtype_from_name(const char *s) {
    for (int i = 0; i < TF_ST_NUM_DTYPES; i++)
        if (strcmp(s, DTYPES[i].name) == 0) return i;
    return -1;
}

// ---- reader ------------------------------------------------------------------------------------
void tf_st_close(tf_st_file *f) {
    if (!f) return;
    if (f->map && f->map != MAP_FAILED) munmap(f->map, f->size);
    tf_free(f->copy);
    if (f->fd >= 0) close(f->fd);
    cJSON_Delete(f->header);
    free(f->t);
    free(f->by_name);
    free(f->path);
    free(f);
}

const char *tf_st_path(const tf_st_file *f) { return f->path; }
int tf_st_count(const tf_st_file *f) { return f->n; }
const tf_st_tensor *tf_st_at(const tf_st_file *f, int i) {
    return i >= 0 && i < f->n ? &f->t[i] : NULL;
}

static int cmp_offset(const void *a, const void *b) {
    const tf_st_tensor *x = a, *y = b;
    uintptr_t px = (uintptr_t)x->data, py = (uintptr_t)y->data;
    if (px != py) return px < py ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}
static int cmp_name(const void *a, const void *b, void *ctx) {
    const tf_st_tensor *t = ctx;
    return strcmp(t[*(const int *)a].name, t[*(const int *)b].name);
}

const tf_st_tensor *tf_st_find(const tf_st_file *f, const char *name) {
    int lo = 0, hi = f->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, f->t[f->by_name[mid]].name);
        if (c == 0) return &f->t[f->by_name[mid]];
        if (c < 0) hi = mid - 1; else lo = mid + 1;
    }
    return NULL;
}

const char *tf_st_metadata(const tf_st_file *f, const char *key) {
    cJSON *md = cJSON_GetObjectItemCaseSensitive(f->header, "__metadata__");
    cJSON *v = cJSON_IsObject(md) ? cJSON_GetObjectItemCaseSensitive(md, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

// A JSON number that is a non-negative integer representable exactly (below 2^53).
static int json_u64(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return 0;
    *out = (uint64_t)d;
    return 1;
}

static int parse_tensor(tf_st_file *f, const cJSON *item, tf_st_tensor *t, tf_error *err) {
    const char *p = f->path, *name = item->string;
    if (!name[0]) return tf_errorf(err, TF_EBADFILE, "%s: a tensor has an empty name", p);
    if (!cJSON_IsObject(item))
        return tf_errorf(err, TF_EBADFILE, "%s: tensor '%s': header entry is not an object", p, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dt))
        return tf_errorf(err, TF_EBADFILE, "%s: tensor '%s': missing or non-string \"dtype\"", p, name);
    int d = dtype_from_name(dt->valuestring);
    if (d < 0)
        return tf_errorf(err, TF_EBADFILE, "%s: tensor '%s': unknown dtype \"%.32s\"", p, name,
                         dt->valuestring);
    if (!cJSON_IsArray(sh))
        return tf_errorf(err, TF_EBADFILE, "%s: tensor '%s': missing or non-array \"shape\"", p, name);
    int nd = cJSON_GetArraySize(sh);
    if (nd > TF_ST_MAX_DIMS)
        return tf_errorf(err, TF_EBADFILE, "%s: tensor '%s': %d dimensions (at most %d supported)", p,
                         name, nd, TF_ST_MAX_DIMS);
    t->name = name;
    t->dtype = (tf_st_dtype)d;
    t->ndim = nd;
    uint64_t numel = 1;
    int overflow = 0;
    for (int i = 0; i < nd; i++) {
        uint64_t v;
        if (!json_u64(cJSON_GetArrayItem(sh, i), &v) || v > INT64_MAX)
            return tf_errorf(err, TF_EBADFILE,
                             "%s: tensor '%s': shape entry %d is not a non-negative integer", p, name, i);
        t->shape[i] = (int64_t)v;
        if (v && numel > UINT64_MAX / v) overflow = 1;
        numel *= v;
    }
    uint64_t esize = DTYPES[d].size;
    if (overflow || numel > SIZE_MAX / esize)
        return tf_errorf(err, TF_EBADFILE, "%s: tensor '%s': shape is too large", p, name);
    uint64_t b, e;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_u64(cJSON_GetArrayItem(off, 0), &b) ||
        !json_u64(cJSON_GetArrayItem(off, 1), &e))
        return tf_errorf(err, TF_EBADFILE,
                         "%s: tensor '%s': \"data_offsets\" must be two non-negative integers", p, name);
    if (e < b)
        return tf_errorf(err, TF_EBADFILE, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin",
                         p, name, (unsigned long long)b, (unsigned long long)e);
    if (e > f->buf_size)
        return tf_errorf(err, TF_EBADFILE,
                         "%s: tensor '%s' ends at byte %llu of the data, past its end (%zu bytes; the "
                         "file is truncated or the header is wrong)",
                         p, name, (unsigned long long)e, f->buf_size);
    if (e - b != numel * esize)
        return tf_errorf(err, TF_EBADFILE,
                         "%s: tensor '%s': %llu bytes in data_offsets, but %s x %llu elements needs %llu",
                         p, name, (unsigned long long)(e - b), DTYPES[d].name,
                         (unsigned long long)numel, (unsigned long long)(numel * esize));
    t->numel = (size_t)numel;
    t->nbytes = (size_t)(e - b);
    t->data = f->buf + b;
    return TF_OK;
}

// Parses and validates the header of f->bytes[f->size] (at least 8 bytes). 0, or -1 with err set.
static int st_parse(tf_st_file *f, tf_error *err) {
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | f->bytes[i];
    if (hlen > f->size - 8) {
        tf_errorf(err, TF_EBADFILE,
                  "%s: header length %llu runs past the end of the file (%zu bytes; truncated?)", f->path,
                  (unsigned long long)hlen, f->size);
        return -1;
    }
    if (hlen < 2 || hlen > MAX_HEADER_BYTES) {
        tf_errorf(err, TF_EBADFILE, "%s: implausible header length %llu", f->path, (unsigned long long)hlen);
        return -1;
    }
    f->header = cJSON_ParseWithLength((const char *)f->bytes + 8, (size_t)hlen);
    if (!cJSON_IsObject(f->header)) {
        tf_errorf(err, TF_EBADFILE, "%s: header is not a JSON object", f->path);
        return -1;
    }
    f->buf = f->bytes + 8 + hlen;
    f->buf_size = f->size - 8 - (size_t)hlen;
    int count = 0;
    for (cJSON *it = f->header->child; it; it = it->next)
        if (strcmp(it->string, "__metadata__") != 0) count++;
    f->t = calloc(count ? count : 1, sizeof *f->t);
    f->by_name = calloc(count ? count : 1, sizeof *f->by_name);
    if (!f->t || !f->by_name) {
        tf_errorf(err, TF_ENOMEM, "%s: out of memory", f->path);
        return -1;
    }
    for (cJSON *it = f->header->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(it)) {
                tf_errorf(err, TF_EBADFILE, "%s: __metadata__ is not an object", f->path);
                return -1;
            }
            continue;
        }
        if (parse_tensor(f, it, &f->t[f->n], err)) return -1;
        f->n++;
    }
    // No two tensors may share bytes: sort by offset, each must begin at or after the previous end.
    qsort(f->t, f->n, sizeof *f->t, cmp_offset);
    const tf_st_tensor *prev = NULL;
    for (int i = 0; i < f->n; i++) {
        const tf_st_tensor *t = &f->t[i];
        if (t->nbytes == 0) continue;
        if (prev && (const unsigned char *)t->data < (const unsigned char *)prev->data + prev->nbytes) {
            tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' overlaps tensor '%s' (bytes %zu and %zu of the data)",
                      f->path, t->name, prev->name,
                      (size_t)((const unsigned char *)t->data - f->buf),
                      (size_t)((const unsigned char *)prev->data - f->buf));
            return -1;
        }
        prev = t;
    }
    for (int i = 0; i < f->n; i++) f->by_name[i] = i;
    qsort_r(f->by_name, f->n, sizeof *f->by_name, cmp_name, f->t);
    for (int i = 1; i < f->n; i++)
        if (strcmp(f->t[f->by_name[i]].name, f->t[f->by_name[i - 1]].name) == 0) {
            tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' appears twice in the header", f->path,
                      f->t[f->by_name[i]].name);
            return -1;
        }
    return 0;
}

static tf_st_residency residency = TF_ST_MAP;

void tf_st_set_residency(tf_st_residency r) { __atomic_store_n(&residency, r, __ATOMIC_RELAXED); }

// The file's size bytes read into memory of the process's own, 64 MB at a time on every thread.
// NULL with err set (one line naming the file and, for a failed read, the byte it failed at).
static unsigned char *read_whole(int fd, size_t size, const char *path, tf_error *err) {
    double avail = tf_mem_available();
    if (avail >= 0 && (double)size > avail) {
        tf_errorf(err, TF_ENOMEM, "%s: %.1f GB cannot be read into memory (%.1f GB available); map it instead",
                  path, size / 1e9, avail / 1e9);
        return NULL;
    }
    unsigned char *buf = tf_alloc(size, 0);
    if (!buf) {
        tf_errorf(err, TF_ENOMEM, "%s: out of memory reading its %zu bytes into memory", path, size);
        return NULL;
    }
    const size_t chunk = (size_t)64 << 20;
    long nchunk = (long)((size + chunk - 1) / chunk);
    size_t bad_at = SIZE_MAX;  // the first byte not read, over all chunks
    int bad_errno = 0;
#pragma omp parallel for schedule(dynamic, 1) if (nchunk > 1)
    for (long c = 0; c < nchunk; c++) {
        size_t off = (size_t)c * chunk, end = off + chunk < size ? off + chunk : size;
        while (off < end) {
            ssize_t got = pread(fd, buf + off, end - off, (off_t)off);
            if (got <= 0) {
                if (got < 0 && errno == EINTR) continue;
#pragma omp critical(st_read_whole)
                if (off < bad_at) {
                    bad_at = off;
                    bad_errno = got < 0 ? errno : 0;
                }
                break;
            }
            off += (size_t)got;
        }
    }
    if (bad_at != SIZE_MAX) {
        tf_errorf(err, TF_EIO, "%s: cannot read at byte %zu: %s", path, bad_at,
                  bad_errno ? strerror(bad_errno) : "the file is shorter than it was");
        tf_free(buf);
        return NULL;
    }
    return buf;
}

tf_st_file *tf_st_open(const char *path, tf_error *err) {
    tf_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        tf_errorf(err, TF_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO is refused below, not waited on
    if (f->fd < 0) {
        tf_errorf(err, TF_EIO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        tf_errorf(err, TF_EIO, "%s: not a regular file", path);
        goto fail;
    }
    f->size = (size_t)st.st_size;
    if (f->size < 8) {
        tf_errorf(err, TF_EBADFILE, "%s: truncated: %zu bytes, shorter than the 8-byte header length",
                  path, f->size);
        goto fail;
    }
    if (__atomic_load_n(&residency, __ATOMIC_RELAXED) == TF_ST_COPY) {
        if (!(f->copy = read_whole(f->fd, f->size, path, err))) goto fail;
        f->bytes = f->copy;
    } else {
        f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
        if (f->map == MAP_FAILED) {
            f->map = NULL;
            tf_errorf(err, TF_EIO, "%s: cannot map: %s", path, strerror(errno));
            goto fail;
        }
        f->bytes = f->map;
    }
    if (st_parse(f, err)) goto fail;
    return f;
fail:
    tf_st_close(f);
    return NULL;
}

tf_st_file *tf_st_open_memory(const void *data, size_t size, const char *name, tf_error *err) {
    if (!name) name = "<memory>";
    tf_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(name))) {
        free(f);
        tf_errorf(err, TF_ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    f->fd = -1;
    f->size = size;
    f->bytes = data;
    if (!data || size < 8) {
        tf_errorf(err, TF_EBADFILE, "%s: truncated: %zu bytes, shorter than the 8-byte header length", name, size);
        tf_st_close(f);
        return NULL;
    }
    if (st_parse(f, err)) {
        tf_st_close(f);
        return NULL;
    }
    return f;
}

int tf_st_to_f32(const tf_st_file *f, const tf_st_tensor *t, float *out, tf_error *err) {
    const unsigned char *src = t->data;
    long n = (long)t->numel;
    switch (t->dtype) {
    case TF_ST_F32:
        memcpy(out, src, t->nbytes);
        return TF_OK;
    case TF_ST_F16:
#pragma omp parallel for if (n > (1L << 16)) schedule(static)
        for (long i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            out[i] = tf_f16_to_f32(h);
        }
        return TF_OK;
    case TF_ST_BF16:
#pragma omp parallel for if (n > (1L << 16)) schedule(static)
        for (long i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            out[i] = tf_bf16_to_f32(h);
        }
        return TF_OK;
    case TF_ST_F64:
#pragma omp parallel for if (n > (1L << 16)) schedule(static)
        for (long i = 0; i < n; i++) {
            double d;
            memcpy(&d, src + 8 * i, 8);
            out[i] = (float)d;
        }
        return TF_OK;
    default:
        return tf_errorf(err, TF_EBADFILE,
                         "%s: tensor '%s' has dtype %s; only F32, F16, BF16 and F64 convert to fp32",
                         f->path, t->name, DTYPES[t->dtype].name);
    }
}

// ---- writer ------------------------------------------------------------------------------------
static char *build_header(const tf_st_entry *e, int n, size_t *hlen, tf_error *err, const char *path) {
    cJSON *h = cJSON_CreateObject();
    cJSON *md = h ? cJSON_AddObjectToObject(h, "__metadata__") : NULL;
    if (!md || !cJSON_AddStringToObject(md, "format", "pt")) goto oom;
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *t = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *offs = cJSON_CreateArray();
        if (!t || !shape || !offs) { cJSON_Delete(t); cJSON_Delete(shape); cJSON_Delete(offs); goto oom; }
        cJSON_AddItemToObject(h, e[i].name, t);
        cJSON_AddStringToObject(t, "dtype", DTYPES[e[i].dtype].name);
        uint64_t numel = 1;
        for (int d = 0; d < e[i].ndim; d++) {
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e[i].shape[d]));
            numel *= (uint64_t)e[i].shape[d];
        }
        cJSON_AddItemToObject(t, "shape", shape);
        uint64_t end = off + numel * DTYPES[e[i].dtype].size;
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)end));
        cJSON_AddItemToObject(t, "data_offsets", offs);
        off = end;
    }
    char *s = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    if (!s) goto oom_nodel;
    size_t len = strlen(s), padded = (len + 7) & ~(size_t)7;
    char *out = realloc(s, padded + 1);
    if (!out) { free(s); goto oom_nodel; }
    memset(out + len, ' ', padded - len);
    out[padded] = '\0';
    *hlen = padded;
    return out;
oom:
    cJSON_Delete(h);
oom_nodel:
    tf_errorf(err, TF_ENOMEM, "%s: out of memory building the header", path);
    return NULL;
}

static int check_entries(const tf_st_entry *e, int n, const char *path, tf_error *err) {
    for (int i = 0; i < n; i++) {
        if (!e[i].name || !e[i].name[0] || strcmp(e[i].name, "__metadata__") == 0)
            return tf_errorf(err, TF_EBADARG, "%s: tensor %d has an invalid name", path, i);
        if ((unsigned)e[i].dtype >= TF_ST_NUM_DTYPES || e[i].ndim < 0 || e[i].ndim > TF_ST_MAX_DIMS ||
            (!e[i].data && !e[i].fill))
            return tf_errorf(err, TF_EBADARG, "%s: tensor '%s': invalid dtype, rank or data", path,
                             e[i].name);
        for (int d = 0; d < e[i].ndim; d++)
            if (e[i].shape[d] < 0 || e[i].shape[d] > (1LL << 40))
                return tf_errorf(err, TF_EBADARG, "%s: tensor '%s': invalid shape", path, e[i].name);
        for (int j = 0; j < i; j++)
            if (strcmp(e[i].name, e[j].name) == 0)
                return tf_errorf(err, TF_EBADARG, "%s: tensor '%s' given twice", path, e[i].name);
    }
    return TF_OK;
}

int tf_st_write(const char *path, const tf_st_entry *e, int n, tf_error *err) {
    if (check_entries(e, n, path, err)) return err ? err->code : TF_EBADARG;
    size_t hlen = 0;
    char *header = build_header(e, n, &hlen, err, path);
    if (!header) return err ? err->code : TF_ENOMEM;
    tf_remove_stale_temps(path);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        free(header);
        return tf_errorf(err, TF_EBADARG, "%s: path too long", path);
    }
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        free(header);
        return tf_errorf(err, TF_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    int ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(header, 1, hlen, fp) == hlen;
    free(header);
    for (int i = 0; ok && i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < e[i].ndim; d++) numel *= (size_t)e[i].shape[d];
        size_t nbytes = numel * DTYPES[e[i].dtype].size;
        if (!nbytes) continue;
        if (e[i].data) {
            ok = fwrite(e[i].data, 1, nbytes, fp) == nbytes;
        } else {
            void *buf = tf_alloc(nbytes, 0);
            if (!buf) {
                fclose(fp);
                unlink(tmp);
                return tf_errorf(err, TF_ENOMEM, "%s: out of memory writing tensor '%s'", path, e[i].name);
            }
            e[i].fill(e[i].ctx, buf);
            ok = fwrite(buf, 1, nbytes, fp) == nbytes;
            tf_free(buf);
        }
    }
    if (!ok) {
        int en = errno;
        fclose(fp);
        unlink(tmp);
        return tf_errorf(err, TF_EIO, "%s: write failed: %s", path, strerror(en));
    }
    if (tf_fclose_checked(fp, tmp, err)) {
        unlink(tmp);
        return err ? err->code : TF_EIO;
    }
    if (rename(tmp, path) != 0) {
        int en = errno;
        unlink(tmp);
        return tf_errorf(err, TF_EIO, "%s: cannot rename into place: %s", path, strerror(en));
    }
    tf_fsync_parent(path);
    return TF_OK;
}
