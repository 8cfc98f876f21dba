// fuzz_st_index.c — the sharded checkpoint reader: model.safetensors.index.json (its weight_map
// naming shard files) read by tf_model_load and tf_model_load_mapped over a directory that holds
// a tiny GPT-2's config.json and its tensors split into two real shards. The input is the index.
// Property: loading succeeds or fails with one clear error; an accepted model has every tensor.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tf_model.h"
#include "tf_safetensors.h"

static const char *SHARD[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};

// config.json and two shards of a freshly initialised 1-layer GPT-2 (C 8, V 16, T 8).
static void make_model_dir(void) {
    tf_error err = {0};
    tf_config cfg;
    tf_config_gpt2(&cfg, 1, 8, 2, 16, 8);
    tf_model *m = tf_model_new(&cfg, 1, &err);
    FUZZ_CHECK(m && tf_model_save(m, fuzz_dir(), &err) == TF_OK, "%s", err.msg);
    tf_model_free(m);
    char single[512], shard[512];
    fuzz_path(single, sizeof single, "model.safetensors");
    tf_st_file *f = tf_st_open(single, &err);
    FUZZ_CHECK(f, "%s", err.msg);
    int n = tf_st_count(f);
    tf_st_entry *e = calloc((size_t)n, sizeof *e);
    for (int i = 0; i < n; i++) {
        const tf_st_tensor *t = tf_st_at(f, i);
        e[i] = (tf_st_entry){.name = t->name, .dtype = t->dtype, .ndim = t->ndim, .data = t->data};
        memcpy(e[i].shape, t->shape, sizeof t->shape);
    }
    for (int s = 0; s < 2; s++) {
        int lo = s ? n / 2 : 0, hi = s ? n : n / 2;
        FUZZ_CHECK(tf_st_write(fuzz_path(shard, sizeof shard, SHARD[s]), e + lo, hi - lo, &err) == TF_OK, "%s",
                   err.msg);
    }
    free(e);
    tf_st_close(f);
    unlink(single);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) {
        make_model_dir();
        ready = 1;
    }
    char path[512];
    fuzz_write(path, sizeof path, "model.safetensors.index.json", data, size);
    for (int mapped = 0; mapped < 2; mapped++) {
        tf_error err = {0};
        tf_model *m = mapped ? tf_model_load_mapped(fuzz_dir(), &err) : tf_model_load(fuzz_dir(), &err);
        if (m) {
            FUZZ_CHECK(m->cfg.n_layer == 1 && m->cfg.vocab_size == 16, "wrong config");
            tf_model_free(m);
        } else {
            FUZZ_CHECK(err.code == TF_EBADFILE || err.code == TF_EIO, "code %d: %s", err.code, err.msg);
            FUZZ_CHECK(err.msg[0] != '\0', "an error without a message");
        }
    }
    return 0;
}
