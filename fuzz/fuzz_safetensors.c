// fuzz_safetensors.c — the safetensors reader (tf_st_open_memory: header length, JSON header,
// dtypes, shapes, offsets, overlaps, duplicate names) and the F32/F16/BF16/F64 conversion of every
// tensor it accepts. Property: an accepted file's tensors lie inside it and are findable by name.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tf_safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tf_error err = {0};
    // A private copy of exactly size bytes, so ASan sees any read past the end.
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    tf_st_file *f = tf_st_open_memory(copy, size, "fuzz.safetensors", &err);
    if (!f) {
        FUZZ_CHECK(err.code == TF_EBADFILE && strstr(err.msg, "fuzz.safetensors"), "code %d: %s", err.code,
                   err.msg);
        free(copy);
        return 0;
    }
    tf_st_metadata(f, "format");
    for (int i = 0; i < tf_st_count(f); i++) {
        const tf_st_tensor *t = tf_st_at(f, i);
        FUZZ_CHECK(tf_st_find(f, t->name) == t, "tensor '%s' not found by name", t->name);
        const uint8_t *p = t->data;
        FUZZ_CHECK(p >= copy && p + t->nbytes <= copy + size, "tensor '%s' outside the file", t->name);
        FUZZ_CHECK(t->nbytes == t->numel * tf_st_dtype_size(t->dtype), "tensor '%s' size", t->name);
        if (t->numel > (1u << 20)) continue;
        float *out = malloc((t->numel ? t->numel : 1) * sizeof *out);
        if (!out) continue;
        tf_error e2 = {0};
        int rc = tf_st_to_f32(f, t, out, &e2);
        int is_float = t->dtype == TF_ST_F32 || t->dtype == TF_ST_F16 || t->dtype == TF_ST_BF16 ||
                       t->dtype == TF_ST_F64;
        FUZZ_CHECK(is_float ? rc == TF_OK : rc == TF_EBADFILE, "tf_st_to_f32 of %s gave %d",
                   tf_st_dtype_name(t->dtype), rc);
        free(out);
    }
    tf_st_find(f, "wte.weight");
    tf_st_close(f);
    free(copy);
    return 0;
}
