// convert.c — rewriting a Hugging Face model directory tensor by tensor (tf_convert.h): dtype
// conversion, a LoRA adapter merged in, resharding.
//
// The plan (every output tensor's shard, dtype and size, and which adapter site it takes) is made
// from the input headers before anything is written, so shard names (model-0000K-of-0000N) are known
// and a bad adapter is refused before the first byte. Each tensor is then produced on demand by
// tf_st_write's fill callback from the read-only mapping, and its input pages are dropped from the
// process once used (MADV_DONTNEED), so neither the heap nor the resident set grows with the model.
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_internal.h"
#include "tf_convert.h"

typedef struct {
    const tf_st_file *f;
    const tf_st_tensor *t;
    tf_st_dtype out;
    uint64_t nbytes;             // of the output tensor
    const tf_lora_site *site;    // merged into it, or NULL
    const tf_adapter *adapter;
    int shard;
    float *scratch;              // fp32 of the largest converted tensor (shared)
    tf_progress *bar;
    long *done;
} item;

static int is_float(tf_st_dtype d) { return d == TF_ST_F32 || d == TF_ST_F16 || d == TF_ST_BF16 || d == TF_ST_F64; }

static const char *torch_dtype(tf_st_dtype d) {
    return d == TF_ST_BF16 ? "bfloat16" : d == TF_ST_F16 ? "float16" : "float32";
}

int tf_parse_size(const char *s, uint64_t *bytes) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !(v >= 0)) return -1;
    while (*end == ' ') end++;
    static const struct { const char *unit; double mult; } U[] = {
        {"", 1}, {"b", 1}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
        {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0}, {"tib", 1099511627776.0}};
    for (size_t i = 0; i < sizeof U / sizeof *U; i++)
        if (!strcasecmp(end, U[i].unit)) {
            double b = v * U[i].mult;
            if (b >= 1.8e19) return -1;
            *bytes = (uint64_t)b;
            return 0;
        }
    return -1;
}

// Drops the whole pages of t's bytes from the process (they are file-backed and read-only: reading
// them again rereads the file), so a pass over a 12 GB model does not keep 12 GB resident.
static void release_pages(const tf_st_tensor *t) {
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t b = ((uintptr_t)t->data + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    uintptr_t e = ((uintptr_t)t->data + t->nbytes) & ~((uintptr_t)pg - 1);
    if (e > b) madvise((void *)b, e - b, MADV_DONTNEED);
}

// w += scaling * B @ A for a site: w [out, in], or [in, out] for a Conv1D (fan_in_fan_out).
static void add_delta(float *w, const tf_adapter *a, const tf_lora_site *s) {
    int r = a->r, in = s->in, out = s->out;
    float sc = a->scaling;
    if (!s->mod->conv1d) {
#pragma omp parallel for schedule(static) if ((long)out * in > 65536)
        for (int o = 0; o < out; o++) {
            float *row = w + (size_t)o * in;
            for (int k = 0; k < r; k++) {
                float b = sc * s->B[(size_t)o * r + k];
                const float *ak = s->A + (size_t)k * in;
                for (int i = 0; i < in; i++) row[i] += b * ak[i];
            }
        }
    } else {
#pragma omp parallel for schedule(static) if ((long)out * in > 65536)
        for (int i = 0; i < in; i++) {
            float *row = w + (size_t)i * out;
            for (int k = 0; k < r; k++) {
                float av = sc * s->A[(size_t)k * in + i];
                for (int o = 0; o < out; o++) row[o] += av * s->B[(size_t)o * r + k];
            }
        }
    }
}

// out[n] in dtype d from x[n] fp32 (round to nearest even when narrowing).
static void narrow(const float *x, void *out, size_t n, tf_st_dtype d) {
    if (d == TF_ST_F32) { memcpy(out, x, n * sizeof(float)); return; }
    if (d == TF_ST_F64) {
        double *o = out;
        for (size_t i = 0; i < n; i++) o[i] = x[i];
        return;
    }
    uint16_t *o = out;
    long ln = (long)n;
    if (d == TF_ST_BF16) {
#pragma omp parallel for schedule(static) if (ln > 65536)
        for (long i = 0; i < ln; i++) o[i] = tf_f32_to_bf16(x[i]);
    } else {
#pragma omp parallel for schedule(static) if (ln > 65536)
        for (long i = 0; i < ln; i++) o[i] = tf_f32_to_f16(x[i]);
    }
}

static void fill(const void *ctx, void *out) {
    const item *it = ctx;
    if (!it->site && it->out == it->t->dtype) {
        memcpy(out, it->t->data, it->t->nbytes);
    } else {
        tf_error ignored;  // err must be non-NULL (tf_common.h)
        tf_st_to_f32(it->f, it->t, it->scratch, &ignored);  // a floating-point tensor: cannot fail
        if (it->site) add_delta(it->scratch, it->adapter, it->site);
        narrow(it->scratch, out, it->t->numel, it->out);
    }
    release_pages(it->t);
    if (it->bar) tf_progress_update(it->bar, ++*it->done, it->t->name);
}

// The site whose base weight is called name (with or without the model prefix), or NULL.
static const tf_lora_site *site_for(const tf_adapter *a, const char *name) {
    for (int i = 0; a && i < a->n_sites; i++) {
        char base[320];
        tf_lora_site_base_name(&a->sites[i], base, sizeof base);
        const char *dot = strchr(base, '.');  // "transformer." / "gpt_neox."
        if (!strcmp(name, base) || (dot && !strcmp(name, dot + 1))) return &a->sites[i];
    }
    return NULL;
}

static void shard_name(char *out, size_t n, int k, int nshards) {
    if (nshards == 1) snprintf(out, n, "model.safetensors");
    else snprintf(out, n, "model-%05d-of-%05d.safetensors", k + 1, nshards);
}

// Removes what this run wrote into its temporary directory, then the directory.
static void remove_tmp_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4400];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(tf_path_join(p, sizeof p, dir, e->d_name));
    closedir(d);
    rmdir(dir);
}

static int copy_file(const char *src, const char *dst, tf_error *err) {
    size_t len;
    char *data = tf_read_file(src, &len, err);
    if (!data) return err ? err->code : TF_EIO;
    int rc = tf_write_file_atomic(dst, data, len, err);
    free(data);
    return rc;
}

// config.json with torch_dtype set (d == TF_ST_NUM_DTYPES: copied unchanged).
static int write_config(const char *in_dir, const char *tmp, tf_st_dtype d, tf_error *err) {
    char src[4096], dst[4400];
    tf_path_join(src, sizeof src, in_dir, "config.json");
    tf_path_join(dst, sizeof dst, tmp, "config.json");
    if (d == TF_ST_NUM_DTYPES) return copy_file(src, dst, err);
    char *text = tf_read_file(src, NULL, err);
    if (!text) return err ? err->code : TF_EIO;
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return tf_errorf(err, TF_EBADFILE, "%s: not a JSON object", src);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(j, "torch_dtype");
    cJSON_AddStringToObject(j, "torch_dtype", torch_dtype(d));
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    if (!s) return tf_errorf(err, TF_ENOMEM, "out of memory writing %s", dst);
    int rc = tf_write_file_atomic(dst, s, strlen(s), err);
    free(s);
    return rc;
}

static int write_index(const char *tmp, const item *items, int n, int nshards, uint64_t total, tf_error *err) {
    cJSON *j = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(j, "metadata"),
          *map = cJSON_AddObjectToObject(j, "weight_map");
    if (!meta || !map) {
        cJSON_Delete(j);
        return tf_errorf(err, TF_ENOMEM, "out of memory writing the shard index");
    }
    cJSON_AddNumberToObject(meta, "total_size", (double)total);
    for (int i = 0; i < n; i++) {
        char name[64];
        shard_name(name, sizeof name, items[i].shard, nshards);
        cJSON_AddStringToObject(map, items[i].t->name, name);
    }
    char *s = cJSON_Print(j), path[4400];
    cJSON_Delete(j);
    if (!s) return tf_errorf(err, TF_ENOMEM, "out of memory writing the shard index");
    int rc = tf_write_file_atomic(tf_path_join(path, sizeof path, tmp, "model.safetensors.index.json"), s,
                                  strlen(s), err);
    free(s);
    return rc;
}

static const char *const TOKENIZER_FILES[] = {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                                              "special_tokens_map.json", "added_tokens.json",
                                              "generation_config.json", NULL};

// Plans every output tensor: dtype, size, shard, adapter site; checks the adapter covers its sites.
static int make_plan(model_weight_set *w, const tf_convert_opts *o, item **out_items, int *out_n, int *nshards,
                     size_t *max_convert, tf_error *err) {
    int n = 0;
    for (int fi = 0; fi < w->nfiles; fi++) n += tf_st_count(w->files[fi]);
    item *items = calloc((size_t)n + 1, sizeof *items);
    const tf_adapter *a = o->adapter;
    int *site_seen = a ? calloc((size_t)a->n_sites + 1, sizeof *site_seen) : NULL;
    if (!items || (a && !site_seen)) {
        free(items);
        free(site_seen);
        return tf_errorf(err, TF_ENOMEM, "out of memory planning %d tensors", n);
    }
    int k = 0, rc = TF_OK, shard = 0;
    uint64_t in_shard = 0;
    *max_convert = 0;
    for (int fi = 0; fi < w->nfiles && !rc; fi++) {
        const tf_st_file *f = w->files[fi];
        for (int ti = 0; ti < tf_st_count(f) && !rc; ti++) {
            const tf_st_tensor *t = tf_st_at(f, ti);
            for (int j = 0; j < k; j++)
                if (!strcmp(items[j].t->name, t->name)) {
                    rc = tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' is also in %s", tf_st_path(f), t->name,
                                   tf_st_path(items[j].f));
                    break;
                }
            if (rc) break;
            item *it = &items[k];
            it->f = f;
            it->t = t;
            it->adapter = a;
            it->site = site_for(a, t->name);
            it->out = is_float(t->dtype) && o->dtype != TF_ST_NUM_DTYPES ? o->dtype : t->dtype;
            if (it->site) {
                const tf_lora_site *s = it->site;
                int64_t r0 = s->mod->conv1d ? s->in : s->out, r1 = s->mod->conv1d ? s->out : s->in;
                if (!is_float(t->dtype) || t->ndim != 2 || t->shape[0] != r0 || t->shape[1] != r1) {
                    rc = tf_errorf(err, TF_EBADFILE, "%s: tensor '%s' is %s with %d dimensions, but the adapter "
                                   "expects a floating-point [%lld, %lld] weight (an adapter for another base?)",
                                   tf_st_path(f), t->name, tf_st_dtype_name(t->dtype), t->ndim, (long long)r0,
                                   (long long)r1);
                    break;
                }
                site_seen[s - a->sites]++;
            }
            it->nbytes = (uint64_t)t->numel * tf_st_dtype_size(it->out);
            if (it->site || it->out != t->dtype)
                if (t->numel > *max_convert) *max_convert = t->numel;
            if (o->shard_bytes && in_shard > 0 && in_shard + it->nbytes > o->shard_bytes) {
                shard++;
                in_shard = 0;
            }
            it->shard = shard;
            in_shard += it->nbytes;
            k++;
        }
    }
    for (int i = 0; a && i < a->n_sites && !rc; i++)
        if (site_seen[i] != 1) {
            char base[320];
            tf_lora_site_base_name(&a->sites[i], base, sizeof base);
            rc = site_seen[i] ? tf_errorf(err, TF_EBADFILE, "%s: the weight '%s' is given twice", w->where, base)
                              : tf_errorf(err, TF_EBADFILE, "%s: missing tensor '%s', which the adapter adapts",
                                          w->where, base);
        }
    free(site_seen);
    if (rc) {
        free(items);
        return rc;
    }
    *out_items = items;
    *out_n = k;
    *nshards = shard + 1;
    return TF_OK;
}

int tf_model_convert(const char *in_dir, const char *out_dir, const tf_convert_opts *o, tf_convert_stats *stats,
                     tf_error *err) {
    struct stat st;
    if (o->dtype != TF_ST_NUM_DTYPES && o->dtype != TF_ST_F32 && o->dtype != TF_ST_F16 && o->dtype != TF_ST_BF16)
        return tf_errorf(err, TF_EBADARG, "the output dtype must be F32, F16 or BF16");
    if (stat(out_dir, &st) == 0) {
        char a[PATH_MAX], b[PATH_MAX];
        if (realpath(in_dir, a) && realpath(out_dir, b) && !strcmp(a, b))
            return tf_errorf(err, TF_EBADARG, "%s: the output is the input model; give a new directory", out_dir);
        return tf_errorf(err, TF_EBADARG, "%s: the output directory exists; give a new one (nothing is overwritten)",
                         out_dir);
    }
    model_weight_set w = {0};
    item *items = NULL;
    float *scratch = NULL;
    tf_st_entry *e = NULL;
    int n = 0, nshards = 0, rc, made_tmp = 0;
    size_t max_convert = 0;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out_dir, (long)getpid()) >= (int)sizeof tmp)
        return tf_errorf(err, TF_EBADARG, "%s: path too long", out_dir);
    if ((rc = model_weights_open(in_dir, &w, err))) goto done;
    if ((rc = make_plan(&w, o, &items, &n, &nshards, &max_convert, err))) goto done;
    if (max_convert && !(scratch = tf_alloc(max_convert * sizeof(float), 0))) {
        rc = tf_errorf(err, TF_ENOMEM, "out of memory for one tensor of %zu values", max_convert);
        goto done;
    }
    if (!(e = calloc((size_t)n + 1, sizeof *e))) {
        rc = tf_errorf(err, TF_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = tf_mkdir_p(tmp, err))) goto done;
    made_tmp = 1;
    tf_progress bar;
    long done_count = 0;
    if (o->progress) tf_progress_start(&bar, "tensors", n);
    uint64_t total = 0;
    for (int s = 0, i = 0; s < nshards && !rc; s++) {
        int first = i;
        for (; i < n && items[i].shard == s; i++) {
            item *it = &items[i];
            it->scratch = scratch;
            it->bar = o->progress ? &bar : NULL;
            it->done = &done_count;
            tf_st_entry *x = &e[i - first];
            memset(x, 0, sizeof *x);
            x->name = it->t->name;
            x->dtype = it->out;
            x->ndim = it->t->ndim;
            memcpy(x->shape, it->t->shape, sizeof x->shape);
            x->fill = fill;
            x->ctx = it;
            total += it->nbytes;
        }
        char name[64], path[4400];
        shard_name(name, sizeof name, s, nshards);
        rc = tf_st_write(tf_path_join(path, sizeof path, tmp, name), e, i - first, err);
    }
    if (o->progress) tf_progress_finish(&bar, NULL);
    if (!rc && nshards > 1) rc = write_index(tmp, items, n, nshards, total, err);
    for (int i = 0; !rc && TOKENIZER_FILES[i]; i++) {
        char src[4096], dst[4400];
        tf_path_join(src, sizeof src, in_dir, TOKENIZER_FILES[i]);
        if (stat(src, &st) == 0 && S_ISREG(st.st_mode))
            rc = copy_file(src, tf_path_join(dst, sizeof dst, tmp, TOKENIZER_FILES[i]), err);
    }
    if (!rc) rc = write_config(in_dir, tmp, o->dtype, err);  // last: a directory with a config is whole
    if (!rc && rename(tmp, out_dir) != 0)
        rc = tf_errorf(err, TF_EIO, "%s: cannot rename %s into place: %s", out_dir, tmp, strerror(errno));
    if (!rc) {
        tf_fsync_parent(out_dir);
        if (stats) {
            stats->tensors = n;
            stats->shards = nshards;
            stats->bytes = total;
            stats->merged = o->adapter ? o->adapter->n_sites : 0;
        }
    }
done:
    if (rc && made_tmp) remove_tmp_dir(tmp);
    tf_free(scratch);
    free(e);
    free(items);
    model_weights_close(&w);
    return rc;
}
